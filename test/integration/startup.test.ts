// rignode node refusing to start on a damaged or unusable store, as a real process: one line that names the path
// and what to do, no stack trace, exit 1 (2 only for a malformed value), and nothing created over the damage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, prng, run, waitFor, type RunResult } from "../helpers";

const root = mkdtempSync(join(tmpdir(), "rignode-startup-"));
/** A data dir made by a short real `rignode node` run (genesis, keys, marker), copied for each case. */
const made = join(root, "made");

function node(data: string, extra: string[] = [], env: Record<string, string> = {}): RunResult {
  return run([bin(), "node", "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--data-dir", data, ...extra], { env, timeoutMs: 60_000 });
}

/** The error line: exactly one `rignode:` line, and no stack trace anywhere. */
function errorLine(r: RunResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("rignode: "));
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain("Unhandled");
  return lines[0]!;
}

function copy(name: string): string {
  const d = join(root, name);
  cpSync(made, d, { recursive: true });
  return d;
}

/** Random bytes over three b-tree pages in the middle of the data dir's database; returns the database's path. */
function flipPages(d: string): string {
  const path = join(d, "rignode.sqlite");
  const db = new Database(path);
  const pageSize = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  const roots = (db.query("SELECT rootpage FROM sqlite_master WHERE rootpage > 1 ORDER BY rootpage").all() as { rootpage: number }[]).map((r) => r.rootpage);
  db.close();
  const middle = roots.slice(Math.floor(roots.length / 3), Math.floor(roots.length / 3) + 3);
  expect(middle.length).toBe(3);
  const rand = prng(13);
  const fd = openSync(path, "r+");
  for (const page of middle) writeSync(fd, Buffer.from(Array.from({ length: pageSize }, () => Math.floor(rand() * 256))), 0, pageSize, (page - 1) * pageSize);
  closeSync(fd);
  return path;
}

/** Starts a node on `data`, waits for its API, stops it with SIGTERM; returns its exit code. */
async function startAndStop(data: string): Promise<number> {
  const port = freePort();
  const proc = Bun.spawn([bin(), "node", "--p2p", "off", "--api", `127.0.0.1:${port}`, "--data-dir", data], { stdout: "ignore", stderr: "ignore" });
  try {
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok ? true : undefined), 30_000);
  } finally {
    proc.kill("SIGTERM");
  }
  return proc.exited;
}

beforeAll(async () => {
  expect(await startAndStop(made)).toBe(0);
  expect(existsSync(join(made, "rignode.meta"))).toBe(true);
});

afterAll(() => {
  Bun.spawnSync(["rm", "-rf", root]);
});

describe("rignode node start-up refusals", () => {
  test("the copied data dir itself starts (the cases below fail for their damage alone)", async () => {
    expect(await startAndStop(copy("intact"))).toBe(0);
  });

  test("random bytes over b-tree pages in the middle of rignode.sqlite: refused, exit 1, the lock released", () => {
    const d = copy("flipped");
    const path = flipPages(d);
    const r = node(d);
    expect(errorLine(r)).toStartWith(`rignode: database ${path} is damaged (`);
    expect(r.stderr).toContain(`restore rignode.sqlite from a backup, or move rignode.sqlite and rignode.meta out of ${d} to start a new chain`);
    expect(r.code).toBe(1);
    expect(existsSync(join(d, "LOCK"))).toBe(false);
  });

  test("rignode.sqlite truncated to 0 bytes: refused, exit 1, not replaced by a new chain", () => {
    const d = copy("truncated");
    truncateSync(join(d, "rignode.sqlite"), 0);
    const r = node(d);
    expect(errorLine(r)).toStartWith(`rignode: database ${join(d, "rignode.sqlite")} is empty (0 bytes), but ${join(d, "rignode.meta")} says one was made there (created `);
    expect(r.stderr).toContain("network devnet, genesis ");
    expect(r.code).toBe(1);
    expect(readFileSync(join(d, "rignode.sqlite")).length).toBe(0);
  });

  test("LOCK as a directory: refused with its path, exit 1", () => {
    const d = copy("lockdir");
    mkdirSync(join(d, "LOCK"));
    const r = node(d);
    expect(errorLine(r)).toBe(`rignode: ${join(d, "LOCK")} is a directory, not rignode's lock file; remove it (rm -r ${join(d, "LOCK")}) and start again`);
    expect(r.code).toBe(1);
  });

  test("a data dir under /proc: refused with its path and what to do, exit 1", () => {
    for (const d of [`/proc/rignode-${process.pid}`, "/proc/self"]) {
      const r = node(d);
      expect(errorLine(r)).toStartWith(`rignode: data dir ${d}: `);
      expect(r.stderr).toContain("pass --data-dir DIR");
      expect(r.code).toBe(1);
    }
  });

  test("a data dir that is a file: refused, exit 1", () => {
    const f = join(root, "a-file");
    writeFileSync(f, "x");
    const r = node(f);
    expect(errorLine(r)).toStartWith(`rignode: data dir ${f}: cannot be created or used as a directory: `);
    expect(r.code).toBe(1);
  });

  // chmod 0555 stops writes only for a user without CAP_DAC_OVERRIDE; as root the /proc cases above stand for it.
  const rootCanWrite = (() => {
    const d = mkdtempSync(join(tmpdir(), "rignode-ro-probe-"));
    chmodSync(d, 0o555);
    try {
      accessSync(d, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  test.skipIf(rootCanWrite)("a read-only data dir (chmod 0555): refused with its path, exit 1 (skipped when this user writes there anyway, e.g. root)", () => {
    const d = copy("readonly");
    chmodSync(d, 0o555);
    const r = node(d);
    expect(errorLine(r)).toStartWith(`rignode: data dir ${d}: cannot create ${join(d, "LOCK")}: permission denied (EACCES)`);
    expect(r.code).toBe(1);
  });

  test("RIGNODE_CONFIG=/dev/zero and --config DIR: exit 2 at once, memory untouched", () => {
    const d = copy("config");
    const t0 = Date.now();
    const r = node(d, [], { RIGNODE_CONFIG: "/dev/zero" });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(errorLine(r)).toBe("rignode: config file /dev/zero: a character device, not a regular file; pass a JSON file of at most 1 MiB (--config FILE or RIGNODE_CONFIG)");
    expect(r.code).toBe(2);
    const r2 = node(d, ["--config", root]);
    expect(errorLine(r2)).toContain(`config file ${root}: a directory, not a regular file`);
    expect(r2.code).toBe(2);
  });
});

describe("rignode doctor", () => {
  const doctor = (d: string) => run([bin(), "doctor", "--data-dir", d, "--json"], { timeoutMs: 60_000 });
  const findings = (r: RunResult) => (JSON.parse(r.stdout) as { ok: boolean; findings: { check: string; status: string; detail: string }[] });
  const status = (r: RunResult, check: string) => findings(r).findings.find((f) => f.check === check)?.status;

  test("a data dir made by a real node: every check ok (full integrity_check, chain linked from genesis), exit 0, not a byte changed", () => {
    const d = copy("doctor-intact");
    const before = readFileSync(join(d, "rignode.sqlite"));
    const r = doctor(d);
    expect(r.code).toBe(0);
    const f = findings(r);
    expect(f.ok).toBe(true);
    expect(f.findings.map((x) => x.check)).toEqual(["data dir", "lock", "marker", "integrity", "foreign keys", "schema", "chain", "pool ledger"]);
    expect(f.findings.filter((x) => x.status === "fail")).toEqual([]);
    expect(f.findings.find((x) => x.check === "chain")!.detail).toBe("main chain linked from genesis to height 0");
    expect(readFileSync(join(d, "rignode.sqlite")).equals(before)).toBe(true);
    const text = run([bin(), "doctor", "--data-dir", d]);
    expect(text.stdout).toContain("doctor: no problems that stop rignode");
  });

  test("flipped pages: integrity FAIL naming the file, exit 1", () => {
    const d = copy("doctor-flipped");
    const path = flipPages(d);
    const r = doctor(d);
    expect(r.code).toBe(1);
    expect(status(r, "integrity")).toBe("fail");
    expect(findings(r).findings.find((x) => x.check === "integrity")!.detail).toStartWith(`${path} is damaged`);
  });

  test("truncated to 0 bytes where the marker says a database was made: database FAIL, exit 1", () => {
    const d = copy("doctor-truncated");
    truncateSync(join(d, "rignode.sqlite"), 0);
    const r = doctor(d);
    expect(r.code).toBe(1);
    expect(status(r, "database")).toBe("fail");
    expect(readFileSync(join(d, "rignode.sqlite")).length).toBe(0);
  });

  test("a sound file with a broken chain (genesis no longer on the main chain): chain FAIL, exit 1", () => {
    const d = copy("doctor-chain");
    const db = new Database(join(d, "rignode.sqlite"));
    db.exec("UPDATE blocks SET status = 'side' WHERE height = 0");
    db.close();
    const r = doctor(d);
    expect(r.code).toBe(1);
    expect(status(r, "integrity")).toBe("ok");
    expect(findings(r).findings.find((x) => x.check === "chain")!.detail).toContain("block 0 is marked 'side'");
  });

  test("a lock left by a dead process: warned, not failed; a LOCK directory: FAIL", () => {
    const d = copy("doctor-lock");
    writeFileSync(join(d, "LOCK"), "999999999\n");
    expect(status(doctor(d), "lock")).toBe("warn");
    const d2 = copy("doctor-lockdir");
    mkdirSync(join(d2, "LOCK"));
    const r = doctor(d2);
    expect(status(r, "lock")).toBe("fail");
    expect(r.code).toBe(1);
  });
});

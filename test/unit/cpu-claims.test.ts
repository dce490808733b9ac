// CPU claims between rignode processes on one host: a temp claims directory, real flock(2) locks, real child processes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpuClaims, defaultClaimsDir, placeThreads } from "../../src/miner";
import { ROOT } from "../helpers";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rignode-claims-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A separate process that claims `cpus` in `dir`, prints "held" and waits to be killed. */
async function holder(dir: string, cpus: number[]) {
  const script = join(tempDir(), "hold.ts");
  writeFileSync(
    script,
    `import { CpuClaims } from ${JSON.stringify(join(ROOT, "src/miner"))};
     const c = new CpuClaims(${JSON.stringify(dir)});
     console.log(${JSON.stringify(cpus)}.map((n) => c.tryClaim(n)).every(Boolean) ? "held" : "refused");
     setInterval(() => {}, 1000);`,
  );
  const proc = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value).trim();
  return { proc, first };
}

describe.skipIf(process.platform !== "linux")("CPU claims", () => {
  test("two engines on one host get different CPUs; the third, with every CPU taken, gets none and pins nothing", () => {
    const dir = tempDir();
    const a = new CpuClaims(dir);
    const b = new CpuClaims(dir);
    const c = new CpuClaims(dir);
    expect(placeThreads(1, [0, 1], (n) => a.tryClaim(n))).toEqual([0]);
    expect(placeThreads(1, [0, 1], (n) => b.tryClaim(n))).toEqual([1]);
    expect(placeThreads(2, [0, 1], (n) => c.tryClaim(n))).toEqual([null, null]);
    expect(a.held()).toEqual([0]);
    expect(c.held()).toEqual([]);
    // The file says who holds it (for people reading the directory).
    expect(readFileSync(join(dir, "cpu-0"), "utf8").trim()).toBe(String(process.pid));
    expect(a.holder(1)).toBe(process.pid);
    a.release();
    expect(placeThreads(2, [0, 1], (n) => c.tryClaim(n))).toEqual([0, null]);
    b.releaseCpu(1);
    expect(c.tryClaim(1)).toBe(true);
    expect(c.held()).toEqual([0, 1]);
    c.release();
  });

  test("a process's threads take free CPUs from its allowed mask in order, skipping taken ones", () => {
    const dir = tempDir();
    const other = new CpuClaims(dir);
    expect(other.tryClaim(3)).toBe(true);
    const mine = new CpuClaims(dir);
    expect(placeThreads(3, [2, 3, 5, 7], (n) => mine.tryClaim(n))).toEqual([2, 5, 7]);
    other.release();
    mine.release();
  });

  test("a CPU held by another live process is skipped; when that process is killed (-9) its claim is free at once", async () => {
    const dir = tempDir();
    const h = await holder(dir, [0]);
    try {
      expect(h.first).toBe("held");
      const mine = new CpuClaims(dir);
      expect(mine.tryClaim(0)).toBe(false);
      expect(mine.holder(0)).toBe(h.proc.pid);
      expect(placeThreads(1, [0, 1], (n) => mine.tryClaim(n))).toEqual([1]);
      h.proc.kill("SIGKILL");
      await h.proc.exited;
      // No stale claim to detect: the kernel dropped the lock with the process.
      expect(mine.tryClaim(0)).toBe(true);
      expect(mine.holder(0)).toBe(process.pid);
      mine.release();
    } finally {
      h.proc.kill("SIGKILL");
    }
  });

  test("a claim file left by a dead process (its pid still written) does not block anyone", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "cpu-0"), "999999999\n");
    const mine = new CpuClaims(dir);
    expect(mine.tryClaim(0)).toBe(true);
    expect(mine.holder(0)).toBe(process.pid);
    mine.release();
  });

  test("a symlink planted as a claim file is not followed (its target is never truncated)", () => {
    const dir = tempDir();
    const victim = join(tempDir(), "precious");
    writeFileSync(victim, "keep me");
    symlinkSync(victim, join(dir, "cpu-0"));
    const mine = new CpuClaims(dir);
    expect(mine.tryClaim(0)).toBe(false);
    expect(readFileSync(victim, "utf8")).toBe("keep me");
    mine.release();
  });

  test("the directory is created sticky and world-writable so every user's rignode can claim in it", () => {
    const dir = join(tempDir(), "nested", "rignode-cpus");
    new CpuClaims(dir).release();
    expect(statSync(dir).mode & 0o7777).toBe(0o1777);
  });

  test("RIGNODE_CPU_CLAIMS_DIR names the directory; otherwise /dev/shm when there is one", () => {
    expect(defaultClaimsDir({ RIGNODE_CPU_CLAIMS_DIR: "/x/y" })).toBe("/x/y");
    expect(defaultClaimsDir({})).toBe(existsSync("/dev/shm") ? "/dev/shm/rignode-cpus" : join(tmpdir(), "rignode-cpus"));
  });
});

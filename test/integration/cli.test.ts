// The compiled binary, as an operator runs it: copied alone to an empty directory, no source tree near it.
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, run } from "../helpers";
import { encodeAddress, generateKeyPair, loadNetwork } from "../../src/chain";
import vectors from "../fixtures/pow-vectors.json";

let dir: string;
let exe: string;
let tmp: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rignode-alone-"));
  exe = join(dir, "rignode");
  copyFileSync(bin(), exe);
  tmp = mkdtempSync(join(tmpdir(), "rignode-tmpdir-"));
});

/** Runs the copied binary from its own directory with TMPDIR pointing at an empty directory. */
const rn = (args: string[], env: Record<string, string> = {}) => run([exe, ...args], { cwd: dir, env: { TMPDIR: tmp, ...env } });

describe("compiled binary, alone in an empty directory", () => {
  test("--help lists exactly the commands that exist", () => {
    const r = rn(["--help"]);
    expect(r.code).toBe(0);
    const cmds = [...r.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]);
    expect(cmds).toEqual(["node", "pool", "worker", "wallet", "bench", "tune", "selftest", "doctor", "hash", "telemetry"]);
  });

  test("--version names the version, commit, kernel variants available and chosen", () => {
    const r = rn(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rignode \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)/);
    expect(r.stdout).toContain("variants built baseline, v3, v4");
    expect(r.stdout).toMatch(/chosen (baseline|v3|v4) \(\d+ lanes\)/);
  });

  test("selftest passes every variant the CPU runs, as text and JSON", () => {
    const r = rn(["selftest"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("PASS zig-baseline");
    expect(r.stdout).toContain("selftest passed");
    const j = JSON.parse(rn(["selftest", "--json"]).stdout);
    expect(j.ok).toBe(true);
    expect(j.variants.length).toBeGreaterThanOrEqual(1);
  });

  test("hash reproduces every header of the vectors for both algorithms", () => {
    for (const h of [...vectors.real_headers, ...vectors.random_headers]) {
      for (const algo of ["sha256d", "scrypt"] as const) {
        const r = rn(["hash", "--algo", algo, h.header]);
        expect({ header: h.header, algo, out: r.stdout.trim(), code: r.code }).toEqual({ header: h.header, algo, out: h[algo], code: 0 });
      }
    }
  }, 120_000);

  test("hash with the baseline build forced gives the same answers", () => {
    const h = vectors.real_headers[2]!;
    expect(rn(["hash", "--algo", "scrypt", "--kernel", "baseline", h.header]).stdout.trim()).toBe(h.scrypt);
    expect(rn(["hash", "--algo", "scrypt", h.header], { RIGNODE_KERNEL: "baseline" }).stdout.trim()).toBe(h.scrypt);
  });

  test("bench --json ends stdout with one JSON object measured through the engine", () => {
    for (const algo of ["sha256d", "scrypt"]) {
      const r = rn(["bench", "--algo", algo, "--threads", "2", "--seconds", "1", "--json"]);
      expect(r.code).toBe(0);
      const last = r.stdout.trim().split("\n").pop()!;
      const j = JSON.parse(last);
      expect(j).toMatchObject({ algo, threads: 2 });
      for (const k of ["seconds", "hashes", "hashrate_hs", "kernel_variant"]) expect(j).toHaveProperty(k);
      expect(j.hashes).toBeGreaterThan(0);
      expect(j.per_thread_hs).toHaveLength(2);
      expect(r.stderr).toContain("miner.started");
    }
  }, 60_000);

  test("nothing is written to TMPDIR or the working directory: the kernel loads from memory", () => {
    // Commands that load every kernel variant and hash, run here so the check does not depend on the tests above.
    expect(rn(["selftest"]).code).toBe(0);
    expect(rn(["hash", "--algo", "scrypt", vectors.real_headers[0]!.header]).code).toBe(0);
    expect(rn(["bench", "--algo", "sha256d", "--threads", "1", "--seconds", "1", "--json"]).code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(dir)).toEqual(["rignode"]);
  });
});

describe("bad input: a clear message and exit code 2", () => {
  const header = vectors.real_headers[0]!.header;
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["unknown flag", ["bench", "--thread", "2"], {}, /unknown option --thread for 'bench'; it takes: .*--threads/],
    ["unknown command", ["mine"], {}, /unknown command 'mine'; commands: node, pool, worker, wallet, bench, tune, selftest, doctor, hash/],
    ["worker without a pool", ["worker", "--user", "x"], {}, /worker needs --pool HOST:PORT/],
    ["worker with a bad pool address", ["worker", "--pool", "http://127.0.0.1:1", "--user", "x"], {}, /--pool: \["http:\/\/127.0.0.1:1"\] is not allowed; expected HOST:PORT, stratum\+tcp:\/\/HOST:PORT or stratum\+ssl:\/\/HOST:PORT addresses/],
    ["pool fee above 10%", ["pool", "--pool-fee", "11"], {}, /--pool-fee: 11 is not allowed/],
    ["bad payout scheme", ["pool", "--payout-scheme", "pps"], {}, /--payout-scheme: "pps" is not allowed; expected pplns or prop/],
    ["bad upstream URL", ["pool", "--upstream", "ftp://x"], {}, /--upstream: "ftp:\/\/x" is not allowed; expected http:\/\/USER:PASS@HOST:PORT/],
    ["upstream pool with --mine", ["pool", "--upstream", "http://u:p@127.0.0.1:1", "--mine"], {}, /with --upstream, run `rignode worker/],
    ["bad upstream algorithm", ["pool", "--upstream-algo", "x11"], {}, /--upstream-algo: "x11" is not allowed/],
    ["bad flag value", ["bench", "--threads", "many"], {}, /--threads: "many" is not allowed; expected auto or a whole number 1\.\.1024/],
    ["bad command flag value", ["bench", "--seconds", "-1"], {}, /--seconds: '-1' is not allowed; expected a number from 0\.1 to 86400/],
    ["bad algorithm", ["hash", "--algo", "md5", header], {}, /--algo: "md5" is not allowed; expected sha256d or scrypt/],
    ["bad environment value", ["bench"], { RIGNODE_THREADS: "0" }, /environment RIGNODE_THREADS: 0 is not allowed/],
    ["bad hex", ["hash", "--algo", "sha256d", "zz" + header.slice(2)], {}, /HEADER_HEX: .* has a character that is not a hex digit/],
    ["short header", ["hash", "--algo", "sha256d", header.slice(0, 158)], {}, /HEADER_HEX: expected 80 bytes \(160 hex digits\), got 79 bytes/],
    ["missing argument", ["hash", "--algo", "sha256d"], {}, /'hash' takes 1 argument\(s\) \(HEADER_HEX\), got 0/],
    ["flag without its value", ["bench", "--threads"], {}, /--threads needs a value/],
    ["mistyped address", ["wallet", "balance", "32W63SQaqt6eMsBnrCaREzn5D3d7CsJA8Pr6Sdz66EWuEA1jrh7"], {}, /bad checksum \(a typo\?\)/],
    // A valid address (devnet's version byte), so that only the amount can be what is refused.
    ["bad amount", ["wallet", "send", "--to", encodeAddress(generateKeyPair().publicKey, loadNetwork("devnet").addressVersion), "--amount", "1.2.3"], {}, /^rignode: amount '1\.2\.3' is not a number like 12 or 0\.5$/m],
    ["unknown network", ["node", "--network", "mainnet"], {}, /unknown network 'mainnet'; built in: devnet, devnet-sync, devnet-scrypt, or a FILE\.json/],
    ["unknown wallet action", ["wallet", "steal"], {}, /unknown wallet action 'steal'/],
    ["unsupported forced kernel", ["hash", "--algo", "sha256d", "--kernel", "v5", header], {}, /--kernel: "v5" is not allowed; expected auto, baseline, v3 or v4/],
  ];
  for (const [name, args, env, re] of cases) {
    test(name, () => {
      const r = rn(args, env);
      expect(r.stderr).toMatch(re);
      expect(r.code).toBe(2);
    });
  }

  test("malformed config file", () => {
    const f = join(dir, "..", `bad-${process.pid}.json`);
    writeFileSync(f, '{"miner": {"threads": 2,}}');
    const r = rn(["bench", "--config", f]);
    expect(r.stderr).toMatch(/config file .*: not valid JSON/);
    expect(r.code).toBe(2);
    writeFileSync(f, '{"miner": {"thread": 2}}');
    const r2 = rn(["bench", "--config", f]);
    expect(r2.stderr).toMatch(/unknown key 'miner\.thread'; allowed in 'miner': algo, threads, batch, pin, mine, address/);
    expect(r2.code).toBe(2);
  });
});

const qemu = ["/usr/bin/qemu-x86_64", "/usr/bin/qemu-x86_64-static"].find(existsSync);

describe("kernel dispatch on an older CPU (qemu-user -cpu Haswell: AVX2, no AVX-512)", () => {
  test.skipIf(!qemu)("auto picks v3, and hashes correctly", () => {
    const r = run([qemu!, "-cpu", "Haswell", exe, "--version"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("CPU supports baseline, v3;");
    expect(r.stdout).toContain("chosen v3");
    const h = vectors.real_headers[0]!;
    expect(run([qemu!, "-cpu", "Haswell", exe, "hash", "--algo", "sha256d", h.header], { cwd: dir }).stdout.trim()).toBe(h.sha256d);
  }, 60_000);

  test.skipIf(!qemu)("forcing v4 fails with a clear message and exit 2, never SIGILL", () => {
    const r = run([qemu!, "-cpu", "Haswell", exe, "hash", "--algo", "sha256d", vectors.real_headers[0]!.header], { cwd: dir, env: { RIGNODE_KERNEL: "v4" } });
    expect(r.stderr).toContain("kernel variant 'v4' needs x86-64-v4 (AVX-512 F/BW/CD/DQ/VL, enabled by the OS), which this CPU does not have; it supports: baseline, v3");
    expect(r.code).toBe(2);
  }, 60_000);
});

describe("noexec TMPDIR", () => {
  // Bun's own loader would extract the .so into TMPDIR and fail to map it there; ours never touches TMPDIR.
  const mnt = mkdtempSync(join(tmpdir(), "rignode-noexec-"));
  const mounted = process.getuid?.() === 0 && run(["mount", "-t", "tmpfs", "-o", "noexec,size=8m", "tmpfs", mnt]).code === 0;
  test.skipIf(!mounted)("selftest and bench work with TMPDIR on a noexec mount", () => {
    try {
      expect(rn(["selftest"], { TMPDIR: mnt }).code).toBe(0);
      expect(rn(["bench", "--seconds", "0.5", "--threads", "1", "--json"], { TMPDIR: mnt }).code).toBe(0);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      run(["umount", mnt]);
    }
  }, 60_000);
});

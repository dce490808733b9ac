// The README's "Quick start on one host", as a new user runs it (ports made free for the test): two wallets, a pool
// that also mines, two workers with one thread each (native protocol, and Stratum V1 JSON with cpuminer's short
// flags), 60 s on a fresh devnet. Nobody is banned or rate-limited, the blocks found before any share was in the
// payout window pay the worker that found them, both workers are paid, and the two never mine on the same CPU.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, run, waitFor, getJson } from "../helpers";

const claims = mkdtempSync(join(tmpdir(), "rignode-claims-"));
const env = { ...process.env, RIGNODE_LOG_JSON: "true", RIGNODE_CPU_CLAIMS_DIR: claims };

const json = getJson;

/** A process whose stderr (JSON log lines) is collected as it comes. */
function spawn(args: string[]) {
  const proc = Bun.spawn([bin(), ...args], { stdout: "pipe", stderr: "pipe", env });
  const lines: any[] = [];
  void (async () => {
    let rest = "";
    for await (const chunk of proc.stderr) {
      rest += new TextDecoder().decode(chunk);
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const l of parts) if (l.trim()) lines.push(JSON.parse(l));
    }
  })();
  return { proc, lines };
}

describe("quick start on one host", () => {
  test("a pool that mines and two one-thread workers run 60 s on a fresh devnet: no ban, no rate limit, the first blocks pay their finders, both workers paid, different CPUs", async () => {
    // rignode wallet new (one wallet per rig, to tell their pay apart)
    const wallet = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), `rignode-${name}-`));
      const r = run([bin(), "wallet", "new", "--data-dir", dir]);
      expect(r.code).toBe(0);
      return r.stdout.trim();
    };
    const a = wallet("rig1");
    const b = wallet("rig2");
    const [api, native, jsonPort] = [freePort(), freePort(), freePort()];
    // rignode pool --mine --threads 1
    const pool = spawn([
      "pool", "--mine", "--threads", "1", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-qs-pool-")), "--p2p", "off",
      "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`,
    ]);
    const procs = [pool.proc];
    const poolApi = `http://127.0.0.1:${api}`;
    try {
      await waitFor(() => json(`${poolApi}/health`));
      // rignode worker --pool HOST:3334 --user A.rig1 --threads 1, and the cpuminer-style flags for the JSON port
      const [api1, api2] = [freePort(), freePort()];
      const w1 = spawn(["worker", "--pool", `127.0.0.1:${native}`, "--user", `${a}.rig1`, "--threads", "1", "--api", `127.0.0.1:${api1}`]);
      const w2 = spawn(["worker", "-o", `stratum+tcp://127.0.0.1:${jsonPort}`, "-u", `${b}.rig2`, "-p", "x", "-t", "1", "--api", `127.0.0.1:${api2}`]);
      procs.push(w1.proc, w2.proc);
      await waitFor(async () => ((await json(`http://127.0.0.1:${api1}/api/worker`))?.connected && (await json(`http://127.0.0.1:${api2}/api/worker`))?.connected ? true : undefined));
      await Bun.sleep(60_000);

      const stats = await json(`${poolApi}/pool/stats`);
      const bans = await json(`${poolApi}/pool/bans`);
      const s1 = await json(`http://127.0.0.1:${api1}/api/worker`);
      const s2 = await json(`http://127.0.0.1:${api2}/api/worker`);
      const m1 = await json(`http://127.0.0.1:${api1}/api/miner`);
      const m2 = await json(`http://127.0.0.1:${api2}/api/miner`);
      const blocks = (await json(`${poolApi}/pool/blocks?limit=1000`)).blocks.filter((x: any) => x.status === "main");

      // No ban, no rate limiting, no invalid share; both workers stayed connected and had shares accepted.
      expect(bans).toEqual({ bans: [] });
      expect(pool.lines.filter((l) => l.event === "pool.ban")).toEqual([]);
      expect(stats.shares.rejected.rate_limited ?? 0).toBe(0);
      for (const r of ["low_difficulty", "invalid", "job_not_found", "unauthorized", "storage"]) expect(stats.shares.rejected[r] ?? 0).toBe(0);
      for (const s of [s1, s2]) {
        expect(s.connected).toBe(true);
        expect(s.connects).toBe(1);
        expect(s.shares.accepted).toBeGreaterThan(0);
        expect(s.shares.rejected).toBe(0);
      }
      // The first blocks, before any share was in the window, pay the workers connected then, the finder among them;
      // after that PPLNS pays the window. Every block pays some worker (never only the fees).
      const found = pool.lines.filter((l) => l.event === "pool.block_found");
      expect(found.length).toBeGreaterThanOrEqual(3);
      const fresh = blocks.filter((x: any) => x.basis === "connected");
      expect(fresh.length).toBeGreaterThanOrEqual(1);
      for (const f of found) {
        const blk = fresh.find((x: any) => x.height === f.height);
        if (blk) expect(blk.outputs.map((o: any) => o.address)).toContain(String(f.worker).split(".")[0]);
      }
      for (const blk of blocks) expect(Object.keys(blk.weights).length).toBeGreaterThanOrEqual(1);
      const paid = new Set(blocks.flatMap((x: any) => x.outputs.map((o: any) => o.address)));
      expect(paid.has(a)).toBe(true);
      expect(paid.has(b)).toBe(true);
      // The two workers' threads are not on one CPU (each claims its own; none left means unpinned).
      const cpu = (m: any) => m.per_thread[0].cpu ?? null;
      expect(cpu(m1) !== null || cpu(m2) !== null).toBe(true);
      expect(cpu(m1)).not.toBe(cpu(m2));
    } finally {
      for (const p of procs) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
    }
  }, 150_000);
});

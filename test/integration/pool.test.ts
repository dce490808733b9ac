// rignode pool and rignode worker as real processes on loopback: payouts in proportion to accepted difficulty,
// and kill -9 of the pool while shares are flowing loses no acknowledged share.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, run, waitFor } from "../helpers";
import { decodeBlock, encodeAddress, NETWORKS } from "../../src/chain";

const env = { ...process.env, RIGNODE_LOG_JSON: "true" };

function spawn(args: string[]) {
  return Bun.spawn([bin(), ...args], { stdout: "ignore", stderr: "pipe", env });
}

async function json(url: string, init?: RequestInit): Promise<any> {
  try {
    const r = await fetch(url, init);
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

function newAddress(): { dir: string; address: string } {
  const dir = mkdtempSync(join(tmpdir(), "rignode-wallet-"));
  expect(run([bin(), "wallet", "new", "--data-dir", dir]).code).toBe(0);
  return { dir, address: run([bin(), "wallet", "address", "--data-dir", dir]).stdout.trim() };
}

function startPool(data: string, extra: string[] = []) {
  const api = freePort();
  const native = freePort();
  const jsonPort = freePort();
  const proc = spawn([
    "pool", "--data-dir", data, "--p2p", "off", "--api", `127.0.0.1:${api}`,
    // One thread: this file keeps the single-thread pool covered (the default, auto, runs shards on a multi-core
    // machine; pool-shards.test.ts, pool-cluster.test.ts and the panel test cover those).
    "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`, "--stratum-threads", "1", ...extra,
  ]);
  return { proc, api: `http://127.0.0.1:${api}`, native, jsonPort };
}

function startWorker(pool: string, user: string, extra: string[] = []) {
  const api = freePort();
  const proc = spawn(["worker", "--pool", pool, "--user", user, "--threads", "1", "--api", `127.0.0.1:${api}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-w-")), ...extra]);
  return { proc, api: `http://127.0.0.1:${api}` };
}

describe("rignode pool with rignode workers", () => {
  test("two workers (native and JSON) mine devnet blocks; every coinbase pays both in proportion to accepted difficulty, fees exact", async () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-pool-"));
    const a = newAddress();
    const b = newAddress();
    const pool = startPool(data, ["--payout-scheme", "prop", "--pool-fee", "2.5", "--start-difficulty", "0.0005", "--share-interval", "0.5"]);
    const procs = [pool.proc];
    try {
      await waitFor(() => json(`${pool.api}/health`));
      const w1 = startWorker(`127.0.0.1:${pool.native}`, `${a.address}.rig1`);
      const w2 = startWorker(`stratum+tcp://127.0.0.1:${pool.jsonPort}`, `${b.address}.rig2`);
      procs.push(w1.proc, w2.proc);
      // Blocks whose plan pays both workers by their shares (the first ones, before any share, split by connection).
      const blocks = await waitFor(async () => {
        const r = await json(`${pool.api}/pool/blocks?limit=1000`);
        const both = (r?.blocks ?? []).filter((x: any) => x.basis !== "connected" && x.weights[a.address] && x.weights[b.address]);
        return both.length >= 3 ? r.blocks : undefined;
      }, 90_000);
      const s1 = await json(`${w1.api}/api/worker`);
      const s2 = await json(`${w2.api}/api/worker`);
      expect(s1).toMatchObject({ connected: true, protocol: "native" });
      expect(s2).toMatchObject({ connected: true, protocol: "json" });
      expect(s1.shares.accepted).toBeGreaterThan(0);
      expect(s2.shares.accepted).toBeGreaterThan(0);
      const stats = await json(`${pool.api}/pool/stats`);
      expect(stats.workers.map((w: any) => w.user).sort()).toEqual([`${a.address}.rig1`, `${b.address}.rig2`].sort());
      for (const p of [...procs].reverse()) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));

      // Each block's coinbase on the chain equals its stored plan, and the plan follows the ledger exactly.
      const db = new Database(join(data, "rignode.sqlite"), { readonly: true });
      const shares = db.query<{ id: number; address: Uint8Array; weight: string }, []>("SELECT id, address, weight FROM shares ORDER BY id").all();
      // Rounds follow the chain: by height (two blocks can close rounds at the same share count).
      const byRound = [...blocks].sort((x: any, y: any) => x.height - y.height);
      let prev = 0;
      let checked = 0;
      for (const blk of byRound) {
        const chainBlock = db.query<{ body: Uint8Array }, [Uint8Array]>("SELECT body FROM blocks WHERE hash = ?").get(Buffer.from(blk.hash, "hex").reverse());
        expect(chainBlock).not.toBeNull();
        const cb = decodeBlock(chainBlock!.body).txs[0]!;
        if (cb.type !== "coinbase") throw new Error("no coinbase");
        const onChain = cb.outputs.map((o) => ({ address: encodeAddress(o.to, NETWORKS.devnet!.addressVersion), amount: o.amount.toString() }));
        expect(onChain).toEqual(blk.outputs);
        // PROP: the weights are exactly the shares since the previous block's last share, per address.
        const want = new Map<string, bigint>();
        for (const s of shares) if (s.id > prev && s.id <= blk.last_share) {
          const k = Buffer.from(s.address).toString("hex");
          want.set(k, (want.get(k) ?? 0n) + BigInt(s.weight));
        }
        prev = blk.last_share;
        const total = BigInt(blk.total);
        const foundation = (total + 99n) / 100n;
        const poolFee = (total * 250n) / 10_000n;
        expect(BigInt(blk.pool_fee)).toBe(poolFee);
        const sum = blk.outputs.reduce((t: bigint, o: any) => t + BigInt(o.amount), 0n);
        expect(sum).toBe(total);
        if (blk.basis === "connected") {
          // The first blocks, before any share: the connected workers' addresses, equally.
          expect(want.size).toBe(0);
          expect(Object.values(blk.weights).every((w) => w === "1")).toBe(true);
          continue;
        }
        expect(Object.keys(blk.weights).length).toBe(want.size);
        if (!blk.weights[a.address] || !blk.weights[b.address] || Object.keys(blk.carried).length) continue;
        const wa = BigInt(blk.weights[a.address]);
        const wb = BigInt(blk.weights[b.address]);
        expect([...want.values()].sort()).toEqual([wa, wb].sort());
        const part = total - foundation - poolFee;
        const amt = (addr: string) => BigInt(blk.outputs.find((o: any) => o.address === addr).amount);
        expect(amt(a.address)).toBe((part * wa) / (wa + wb));
        expect(amt(b.address)).toBe((part * wb) / (wa + wb));
        expect(BigInt(blk.foundation)).toBe(foundation + part - (part * wa) / (wa + wb) - (part * wb) / (wa + wb));
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(3);
      db.close();
    } finally {
      for (const p of procs) p.kill("SIGKILL");
    }
  }, 150_000);

  test("kill -9 of the pool while two workers submit: every acknowledged share is in the ledger after restart", async () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-pool-"));
    const a = newAddress();
    const b = newAddress();
    // Tiny fixed difficulty (d= in the password) and no rate cap: hundreds of shares per second.
    const pool = startPool(data, ["--shares-per-second", "0"]);
    const procs = [pool.proc];
    try {
      await waitFor(() => json(`${pool.api}/health`));
      const w1 = startWorker(`127.0.0.1:${pool.native}`, `${a.address}.x`, ["--password", "d=0.00002"]);
      const w2 = startWorker(`stratum+tcp://127.0.0.1:${pool.jsonPort}`, `${b.address}.y`, ["--password", "d=0.00002"]);
      procs.push(w1.proc, w2.proc);
      await waitFor(async () => {
        const r1 = await json(`${w1.api}/api/worker`);
        const r2 = await json(`${w2.api}/api/worker`);
        return r1?.shares.accepted > 200 && r2?.shares.accepted > 200 ? true : undefined;
      }, 60_000);
      pool.proc.kill("SIGKILL");
      await pool.proc.exited;
      // The workers notice the loss; answers in flight count as lost, never as accepted.
      const c1 = await waitFor(async () => ((await json(`${w1.api}/api/worker`))?.connected === false ? json(`${w1.api}/api/worker`) : undefined));
      const c2 = await waitFor(async () => ((await json(`${w2.api}/api/worker`))?.connected === false ? json(`${w2.api}/api/worker`) : undefined));
      // Restart on the same data dir: it opens, and the ledger holds every acknowledged share of each worker.
      const again = startPool(data);
      procs.push(again.proc);
      await waitFor(() => json(`${again.api}/health`));
      again.proc.kill("SIGTERM");
      await again.proc.exited;
      const db = new Database(join(data, "rignode.sqlite"), { readonly: true });
      const count = (user: string) => db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM shares WHERE worker = ?").get(user)!.n;
      const n1 = count(`${a.address}.x`);
      const n2 = count(`${b.address}.y`);
      db.close();
      console.log(`kill -9: worker 1 acknowledged ${c1.shares.accepted}, ledger ${n1}; worker 2 acknowledged ${c2.shares.accepted}, ledger ${n2}`);
      expect(c1.shares.accepted).toBeGreaterThan(200);
      expect(n1).toBeGreaterThanOrEqual(c1.shares.accepted);
      expect(n2).toBeGreaterThanOrEqual(c2.shares.accepted);
      // Nothing beyond what was submitted either: the ledger never counts more than the worker sent.
      expect(n1).toBeLessThanOrEqual(c1.shares.found);
      expect(n2).toBeLessThanOrEqual(c2.shares.found);
    } finally {
      for (const p of procs) p.kill("SIGKILL");
    }
  }, 150_000);

  test("modes at runtime: host with a local miner mining into its own pool, solo, join another pool, host again", async () => {
    const a = startPool(mkdtempSync(join(tmpdir(), "rignode-pool-")), ["--start-difficulty", "0.001"]);
    const bData = mkdtempSync(join(tmpdir(), "rignode-pool-"));
    const b = startPool(bData, ["--mine", "--threads", "1", "--start-difficulty", "0.001"]);
    const procs = [a.proc, b.proc];
    // Mode changes redirect hashrate: they need the token from the data dir even on loopback.
    const headers = () => ({ "content-type": "application/json", authorization: `Bearer ${readFileSync(join(bData, "api-token"), "utf8").trim()}` });
    // Status and body, whatever the status: a refusal must be the refusal the test names, not any failure.
    const post = async (base: string, path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, { method: "POST", headers: headers(), body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as any };
    };
    try {
      await waitFor(() => json(`${a.api}/health`));
      await waitFor(() => json(`${b.api}/health`));
      const untokened = await fetch(`${b.api}/pool/mode`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode: "solo" }) });
      expect(untokened.status).toBe(401);
      expect(await json(`${b.api}/pool/mode`)).toMatchObject({ mode: "host", mining: true });
      // Host: B's own miner is a worker of B's pool.
      const own = await waitFor(async () => ((await json(`${b.api}/pool/stats`))?.workers?.[0]?.accepted > 0 ? (await json(`${b.api}/pool/stats`)).workers[0] : undefined), 30_000);
      expect(own.connected).toBe(true);
      // Solo: the Stratum ports close, the miner mines blocks for itself.
      expect(await post(b.api, "/pool/mode", { mode: "solo" })).toMatchObject({ status: 200, body: { mode: "solo" } });
      const refused = await Bun.connect({ hostname: "127.0.0.1", port: b.native, socket: { data() {} } }).then((s) => (s.end(), false), () => true);
      expect(refused).toBe(true);
      const h0 = (await json(`${b.api}/api/chain/tip`)).height;
      await waitFor(async () => ((await json(`${b.api}/api/chain/tip`))?.height > h0 ? true : undefined), 30_000);
      // Join: B's miner works for pool A; A sees it as a worker and credits its shares.
      const join = await post(b.api, "/pool/mode", { mode: "join", pool: `stratum+tcp://127.0.0.1:${a.jsonPort}` });
      expect(join).toMatchObject({ status: 200, body: { mode: "join", pool: `stratum+tcp://127.0.0.1:${a.jsonPort}` } });
      const joined = join.body;
      await waitFor(async () => ((await json(`${a.api}/pool/stats`))?.workers?.find((w: any) => w.user === joined.user)?.accepted > 0 ? true : undefined), 30_000);
      const noPool = await post(b.api, "/pool/mode", { mode: "join" });
      expect(noPool.status).toBe(400); // no pool given
      expect(String(noPool.body.message)).toContain("pool");
      // Host again: the ports open and the miner comes back to its own pool.
      expect(await post(b.api, "/pool/mode", { mode: "host" })).toMatchObject({ status: 200, body: { mode: "host" } });
      await waitFor(async () => ((await json(`${b.api}/pool/stats`))?.connections > 0 ? true : undefined), 30_000);
    } finally {
      for (const p of procs) p.kill("SIGKILL");
    }
  }, 150_000);
});

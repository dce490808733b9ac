// Two pool instances on one chain behind one PostgreSQL ledger (a throwaway cluster): shares acknowledged by either
// are in the ledger, the plan either builds counts both, and a block found through instance B pays the workers of
// both in proportion to the ledger — its coinbase is the plan stored once, seen by instance A too.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeAddress, generateKeyPair, type Coinbase } from "../../src/chain";
import { createLogger, fromHex, leToBigInt, toHex } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, difficultyToTarget, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, PostgresLedger, shareHeader, shareWeight, swapWords, type PoolJob } from "../../src/pool";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn } from "../chain/helpers";
import { waitFor } from "../helpers";
import { POSTGRES_BIN, postgresServer } from "../integration/postgres-server";

// Harder than EASY: a share at difficulty 0.000001 is then usually not a block (one in ~2^16 is).
const PARAMS = { ...EASY, powLimitBits: 0x1f00ffff };
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Submits one share on the session's current job: a block (hash within the network target) or not. */
async function submit(http: HttpWorkers, reg: { session: string; extranonce1: string }, block: boolean, tag: number) {
  const j = http.job(reg.session);
  const p = j.params as any[];
  const job = { coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: [], work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
  const net = bitsToTarget(parseInt(p[6], 16));
  const extranonce2 = tag.toString(16).padStart(8, "0");
  const at = (n: number) => shareHeader(job, fromHex(reg.extranonce1), { extranonce2, ntime: p[7], nonce: n.toString(16).padStart(8, "0") }, 0);
  let nonce = 0;
  const share = difficultyToTarget(j.difficulty, "sha256d");
  const fits = (h: bigint) => (block ? h <= net : h > net && h <= share);
  while (!fits(leToBigInt(kernel.hash("sha256d", at(nonce).bytes)))) nonce++;
  const r = await http.share(reg.session, { job_id: j.job_id, extranonce2, ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") });
  return { r, coinbase: at(nonce).coinbase };
}

describe.skipIf(!POSTGRES_BIN)("two pool instances behind one PostgreSQL ledger", () => {
  test("a block found through B pays the workers of A and B by the shared ledger; its plan is stored once", async () => {
    const pg = postgresServer();
    await pg.start();
    cleanup.push(() => pg.stop());
    const url = await pg.createDb("pool");
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-pg-")));
    const chain = new Chain({ store, params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const pool = generateKeyPair().publicKey;
    const instance = async (id: number) => {
      const backend = new PostgresLedger(url);
      cleanup.push(() => backend.close());
      const ledger = await Ledger.open(backend);
      const server = new PoolServer({
        source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress: pool,
        poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: id,
      });
      server.start();
      cleanup.push(() => server.stop());
      return { ledger, backend, server, http: new HttpWorkers(server) };
    };
    const A = await instance(0);
    const B = await instance(1);
    const ka = generateKeyPair().publicKey;
    const kb = generateKeyPair().publicKey;
    const ra = await A.http.register(encodeAddress(ka, EASY.addressVersion), "d=0.000001", "127.0.0.1");
    const rb = await B.http.register(encodeAddress(kb, EASY.addressVersion), "d=0.000001", "127.0.0.2");
    // Instances hand out distinct search spaces: the first extranonce1 byte is the instance.
    expect(ra.extranonce1.slice(0, 2)).toBe("00");
    expect(rb.extranonce1.slice(0, 2)).toBe("01");

    // Acknowledged shares: one through A, two through B; each is in the shared ledger once acknowledged.
    expect((await submit(A.http, ra, false, 1)).r.accepted).toBe(true);
    expect(await B.backend.count()).toBe(1);
    expect((await submit(B.http, rb, false, 2)).r.accepted).toBe(true);
    expect((await submit(B.http, rb, false, 3)).r.accepted).toBe(true);
    expect(await A.backend.count()).toBe(3);

    // A new tip from elsewhere: both instances read the ledger again for their next plan.
    const before = B.http.job(rb.session).job_id;
    mineOn(chain, generateKeyPair());
    await waitFor(() => (B.http.job(rb.session).job_id !== before ? true : undefined));

    const found = await submit(B.http, rb, true, 4);
    expect(found.r.accepted).toBe(true);
    expect(chain.tip().height).toBe(2);
    const rows = await waitFor(async () => ((await A.backend.blocks(10)).length ? A.backend.blocks(10) : undefined));
    expect(rows).toHaveLength(1);
    // The plan was kept before the block was submitted, and went with the record.
    expect(await A.backend.candidates()).toEqual([]);
    const plan = rows[0]!.plan;
    const w = shareWeight(0.000001).toString();
    // PROP over the shared ledger: A's one share and B's two, whoever found the block.
    expect(plan.weights).toEqual({ [toHex(ka)]: w, [toHex(kb)]: (2n * BigInt(w)).toString() });
    const paid = new Map(plan.outputs.map((o) => [o.to, BigInt(o.amount)]));
    expect(paid.get(toHex(kb))! / 2n - paid.get(toHex(ka))!).toBeLessThanOrEqual(1n);
    // On-chain coinbase = the stored plan.
    const cb = chain.block(chain.hashAt(2)!)!.block.txs[0] as Coinbase;
    expect(cb.outputs.map((o) => ({ to: toHex(o.to), amount: o.amount.toString() }))).toEqual(plan.outputs);
    // Instance A sees the block once it reads the ledger (before its next job).
    await A.ledger.prepare(null);
    expect(A.ledger.blocks().map((b) => b.height)).toEqual([2]);
    expect(A.ledger.carried()).toEqual(new Map(Object.entries(plan.carried).map(([k, v]) => [k, BigInt(v)])));

    // A reorganisation B sees orphans the block for A too (read before A's next job), and A's stats follow.
    const version = A.ledger.blocksVersion;
    await A.ledger.prepare(null);
    expect(A.ledger.blocksVersion).toBe(version); // nothing changed: the plans are not read again
    expect(B.ledger.reconcile(() => false)).toBe(1);
    await B.ledger.prepare(null);
    await A.ledger.prepare(null);
    expect(A.ledger.blocks().map((b) => b.status)).toEqual(["orphaned"]);
    expect(A.ledger.blocksVersion).toBe(version + 1);
    expect(A.server.stats().blocks_found).toBe(0);

    // A ban decided by A holds on B once B reads the ledger (before its next job; here at once), lifted on both.
    A.server.ban("10.9.9.9", "operator");
    await A.ledger.prepare(null); // A's write settled
    expect(B.server.bans().map((b) => b.ip)).not.toContain("10.9.9.9");
    await B.ledger.prepare(null);
    await waitFor(() => (B.server.bans().some((b) => b.ip === "10.9.9.9") ? true : undefined), 5_000);
    expect(B.server.bans().find((b) => b.ip === "10.9.9.9")!.reason).toBe("operator");
    expect(A.server.unban("10.9.9.9")).toBe(1);
    await A.ledger.prepare(null);
    expect(await B.backend.bans(Date.now())).toEqual([]);
  }, 120_000);
});

describe.skipIf(!POSTGRES_BIN)("a pool on a PostgreSQL ledger that already holds shares", () => {
  test("its first PPLNS plan (window from the network difficulty, unknown before) pays by the ledger within moments", async () => {
    const pg = postgresServer();
    await pg.start();
    cleanup.push(() => pg.stop());
    const backend = new PostgresLedger(await pg.createDb("warm"));
    cleanup.push(() => backend.close());
    const ledger = await Ledger.open(backend);
    const payee = generateKeyPair().publicKey;
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.record({ worker: "w", address: payee, job: "0", difficulty: 0.5, hash: `old${i}` })));
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-pg-")));
    const chain = new Chain({ store, params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const server = new PoolServer({
      source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress: generateKeyPair().publicKey,
      poolFeeBps: 0, scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 0,
    });
    server.start();
    cleanup.push(() => server.stop());
    // Well before the 30 s refresh: the job right after the first reads the ledger for the window the first one used.
    const plan = await waitFor(() => {
      const p = (server as unknown as { jobs: { current?: { plan: { weights: Record<string, string>; basis?: string } } } }).jobs.current?.plan;
      return p && p.weights[toHex(payee)] ? p : undefined;
    }, 5_000);
    expect(plan.basis).toBeUndefined();
    // The window: 2 x network difficulty, at least 1 unit (here 1): the newest two of the ten shares.
    expect(plan.weights).toEqual({ [toHex(payee)]: shareWeight(1).toString() });
  }, 60_000);
});

describe("bans in the SQLite ledger", () => {
  test("a ban outlives a restart of the pool on the same store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-pool-bans-"));
    const make = () => {
      const store = Store.open(dir);
      const chain = new Chain({ store, params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
      return new PoolServer({
        source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log: createLogger({ json: true, level: "error" }), poolAddress: generateKeyPair().publicKey,
        poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 0,
      });
    };
    const first = make();
    first.start();
    first.ban("10.8.8.8", "abuse");
    const until = first.bans()[0]!.until;
    first.stop();
    const second = make();
    expect(second.bans()).toEqual([]);
    second.start();
    expect(second.bans().map((b) => [b.ip, b.worker, b.reason, b.until])).toEqual([["10.8.8.8", null, "abuse", until]]);
    expect(second.unban("10.8.8.8")).toBe(1);
    second.stop();
    const third = make();
    third.start();
    expect(third.bans()).toEqual([]);
    third.stop();
  }, 60_000);
});

// Two `rignode pool --upstream` instances on one PostgreSQL ledger and one Redis bus, each on its own litecoind of a
// regtest pair: the leader builds jobs from its daemon's getblocktemplate, the follower serves them unchanged, and a
// block found through the follower goes to the follower's own daemon, is accepted on both daemons' chains, recorded
// once in the ledger, and pays exactly the stored plan. Skipped where litecoind, redis-server or PostgreSQL is missing.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { base58CheckEncode, bitsToTarget } from "../../src/chain";
import { fromHex, leToBigInt, leToDisplayHex, toHex } from "../../src/core";
import { coin, PostgresLedger, shareHeader, swapWords, type PoolJob } from "../../src/pool";
import { kernel } from "../chain/helpers";
import { waitFor } from "../helpers";
import { json, leads, startInstance, type Instance, type Proc } from "../integration/pool-cluster";
import { POSTGRES_BIN, postgresServer } from "../integration/postgres-server";
import { REDIS_SERVER, redisServer } from "../integration/redis-server";
import { haveLitecoind, listener, regtestPair, type Daemon } from "./litecoind";

const missing = [!haveLitecoind && "litecoind", !REDIS_SERVER && "redis-server", !POSTGRES_BIN && "PostgreSQL"].filter(Boolean);
if (missing.length) console.log(`pool-cluster-upstream: skipped, not installed: ${missing.join(", ")}`);

const NET = coin.COIN_NETWORKS["litecoin-regtest"]!;
const sats = (v: number) => BigInt(Math.round(v * 1e8));
const WITNESS_COMMITMENT = "6a24aa21a9ed";
const addr = {
  a: coin.encodeSegwit("rltc", 0, new Uint8Array(20).fill(0xa1)),
  pool: base58CheckEncode(0x3a, new Uint8Array(20).fill(0xc3)),
  burn: coin.encodeSegwit("rltc", 0, new Uint8Array(32).fill(0xd4)),
};

const procs: Proc[] = [];
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const p of procs) p.proc.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.proc.exited));
  for (const c of cleanup.reverse()) await c();
});

/** The notify's previous block in display hex (Stratum sends it word-swapped). */
const notifyPrev = (n: any[]) => leToDisplayHex(swapWords(fromHex(n[1])));

/**
 * A Stratum V1 JSON miner run by the test: every notify kept; mine() hashes the latest one with the scrypt kernel
 * until a header meets the network target (on regtest about every other hash) and submits that one share.
 */
class Miner {
  readonly notifies: any[][] = [];
  readonly answers = new Map<number, any>();
  private extranonce1: Uint8Array | null = null;
  private readonly sock: Socket;
  private buf = "";
  private id = 10;
  private en2 = 0;

  constructor(port: number, readonly user: string) {
    this.sock = connect({ host: "127.0.0.1", port });
    this.sock.setEncoding("utf8");
    this.sock.on("error", () => {});
    this.sock.on("data", (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const m = JSON.parse(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
        if (m.id === 1) this.extranonce1 = fromHex(m.result[1]);
        if (typeof m.id === "number") this.answers.set(m.id, m);
        if (m.method === "mining.notify") this.notifies.push(m.params);
      }
    });
    this.send({ id: 1, method: "mining.subscribe", params: ["test-miner/1"] });
    this.send({ id: 2, method: "mining.authorize", params: [user, "x"] });
  }

  private send(m: unknown): void {
    this.sock.write(JSON.stringify(m) + "\n");
  }

  /** Mines the latest notify to a block and submits it: the answer's id, the job, its parent and the block's hash (display hex). */
  mine(): { id: number; job: string; prev: string; hash: string } {
    const p = this.notifies[this.notifies.length - 1]!;
    const job = { coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: (p[4] as string[]).map((b) => fromHex(b)),
      work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
    const target = bitsToTarget(parseInt(p[6], 16));
    const e2 = (this.en2++).toString(16).padStart(8, "0");
    for (let nonce = 0; nonce < 100_000; nonce++) {
      const s = { extranonce2: e2, ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") };
      const header = shareHeader(job, this.extranonce1!, s, 0).bytes;
      const h = kernel.hash("scrypt", header);
      if (leToBigInt(h) > target) continue;
      const id = this.id++;
      this.send({ id, method: "mining.submit", params: [this.user, p[0], s.extranonce2, s.ntime, s.nonce] });
      return { id, job: p[0], prev: notifyPrev(p), hash: leToDisplayHex(new Uint8Array(new Bun.CryptoHasher("sha256").update(new Bun.CryptoHasher("sha256").update(header).digest()).digest())) };
    }
    throw new Error("no block in 100000 nonces");
  }

  close(): void {
    this.sock.destroy();
  }
}

describe.skipIf(missing.length > 0)("two rignode pool --upstream instances (litecoind regtest) on one PostgreSQL ledger and one Redis bus", () => {
  let oracle: Daemon, peer: Daemon;
  let peerP2p = 0;
  let L: Instance, F: Instance;
  let ledger: PostgresLedger;
  let miner: Miner;

  test("the follower serves the leader's job, on the daemon's getblocktemplate; a block found through the follower goes to its own daemon, is on both chains, recorded once, paying the stored plan", async () => {
    const pg = postgresServer();
    await pg.start();
    cleanup.push(() => pg.stop());
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const pair = await regtestPair(mkdtempSync(join(tmpdir(), "rignode-ltc-cluster-")), false);
    cleanup.push(() => pair.stop());
    ({ oracle, peer, peerP2p } = pair);
    await oracle.call("generatetoaddress", [101, addr.burn]);
    await waitFor(async () => ((await peer.call("getblockcount")) === 101 ? true : undefined), 30_000);
    const ledgerUrl = await pg.createDb("upcluster");
    ledger = new PostgresLedger(ledgerUrl, { max: 1 });
    cleanup.push(() => ledger.close());
    const bus = `${redis.url}/4`;
    const extra = (d: Daemon) => ["--upstream", d.url, "--pool-address", addr.pool, "--pool-fee", "2", "--pplns-window", "1", "--shares-per-second", "0", "--ban-seconds", "0"];

    // The leader on the oracle first (it takes the lease), then the follower on the peer daemon.
    L = startInstance({ instance: 1, ledger: ledgerUrl, bus, extra: extra(oracle) });
    procs.push(L);
    await waitFor(async () => ((await leads(L)) ? true : undefined), 30_000);
    F = startInstance({ instance: 2, ledger: ledgerUrl, bus, extra: extra(peer) });
    procs.push(F);
    await waitFor(async () => ((await leads(F)) === false ? true : undefined), 30_000);
    expect(await leads(L)).toBe(true);
    const stats = await waitFor(() => json(`${F.api}/pool/stats?workers=none`).then((s) => (s?.job && s?.instances?.length === 2 ? s : undefined)), 30_000);
    expect(stats.source).toMatchObject({ kind: "upstream", coin: "litecoin", chain: "regtest" });

    // What a miner on the follower is told: the leader's job (same id and notify), on the block getblocktemplate names.
    miner = new Miner(F.json, `${addr.a}.f`);
    const onLeader = new Miner(L.json, `${addr.a}.l`);
    cleanup.push(() => onLeader.close());
    const [nf, nl] = await waitFor(() => {
      const nl = onLeader.notifies.at(-1);
      const nf = nl && miner.notifies.find((n) => n[0] === nl[0]);
      return nf ? [nf, nl] : undefined;
    }, 30_000);
    expect(nf.slice(0, 8)).toEqual(nl.slice(0, 8)); // id, prevhash, coinb1, coinb2, branch, version, nbits, ntime
    const gbt = await oracle.call("getblocktemplate", [{ rules: ["mweb", "segwit"] }]);
    expect(notifyPrev(nf)).toBe(gbt.previousblockhash);
    expect((await peer.call("getblocktemplate", [{ rules: ["mweb", "segwit"] }])).previousblockhash).toBe(gbt.previousblockhash);
    expect(parseInt(nf[6], 16)).toBe(parseInt(gbt.bits, 16));

    // A block through the follower: submitted to ITS daemon (the peer), then on the oracle's chain too (relayed).
    const height = await peer.call<number>("getblockcount");
    const found = miner.mine();
    const answer = await waitFor(() => miner.answers.get(found.id), 30_000);
    expect(answer.result).toBe(true);
    const ev = await waitFor(() => F.events("pool.block_found").find((e) => e.hash === found.hash), 30_000);
    expect(ev.height).toBe(height + 1);
    expect(L.events("pool.block_found")).toEqual([]);
    expect(await peer.call("getbestblockhash")).toBe(found.hash);
    await waitFor(async () => ((await oracle.call("getbestblockhash")) === found.hash ? true : undefined), 30_000);
    expect(await oracle.call("getblockcount")).toBe(height + 1);

    // Recorded once in the shared ledger (the leader, seeing the new tip, records nothing of its own).
    const rows = await waitFor(async () => {
      const r = (await ledger.sql.unsafe("SELECT plan FROM pool_blocks WHERE hash = $1", [Buffer.from(fromHex(found.hash).reverse())])) as { plan: string }[];
      return r.length ? r : undefined;
    }, 30_000);
    await waitFor(async () => ((await leads(L)) && (await json(`${L.api}/pool/stats?workers=none`))?.job?.id !== found.job ? true : undefined), 30_000);
    expect((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM pool_blocks")) as unknown[]).toEqual([{ n: 1 }]);
    expect((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM pool_candidates")) as unknown[]).toEqual([{ n: 0 }]);
    const plan = typeof rows[0]!.plan === "string" ? JSON.parse(rows[0]!.plan) : rows[0]!.plan;

    // The coinbase on chain is the stored plan, output for output (plus the witness commitment).
    const blk = await oracle.call("getblock", [found.hash, 2]);
    const outs = blk.tx[0].vout.filter((o: any) => !o.scriptPubKey.hex.startsWith(WITNESS_COMMITMENT));
    expect(outs.map((o: any) => ({ to: o.scriptPubKey.hex, amount: sats(o.value).toString() }))).toEqual(plan.outputs);
    expect(plan.outputs.map((o: any) => o.to)).toContain(toHex(coin.addressToScript(addr.a, NET)));
    expect(plan.outputs.map((o: any) => o.to)).toContain(toHex(coin.addressToScript(addr.pool, NET)));
    console.log(`block ${height + 1} through the follower: ${found.hash}, ${plan.outputs.length} outputs, total ${plan.total}`);
  }, 150_000);

  test("a block found through the follower while its daemon lacks the leader's newest block: the daemon answers prev-blk-not-found, the block is held, and goes in once the daemon has the parent", async () => {
    // A third daemon keeps the oracle connected (getblocktemplate needs a peer) while the follower's daemon is cut off.
    const third = await listener(mkdtempSync(join(tmpdir(), "rignode-ltc-third-")), false);
    cleanup.push(() => third.stop());
    await oracle.call("addnode", [`127.0.0.1:${third.p2p}`, "onetry"]);
    await waitFor(async () => ((await oracle.call("getconnectioncount")) === 2 ? true : undefined), 30_000);
    await peer.call("setnetworkactive", [false]);
    await waitFor(async () => ((await oracle.call("getconnectioncount")) === 1 ? true : undefined), 30_000);

    // The leader's daemon moves on; the follower's does not have that block.
    const before = await peer.call<number>("getblockcount");
    const parent = (await oracle.call<string[]>("generatetoaddress", [1, addr.burn]))[0]!;
    await waitFor(() => (miner.notifies.some((x) => notifyPrev(x) === parent) ? true : undefined), 30_000);
    expect(await peer.call("getblockcount")).toBe(before);
    expect(await peer.call("getblockheader", [parent]).catch((e: Error) => e.message)).toMatch(/Block not found/);

    // Found through the follower: its daemon has no parent for it (the answer seen in the follower's log), so it is held.
    const found = miner.mine();
    expect(found.prev).toBe(parent);
    expect((await waitFor(() => miner.answers.get(found.id), 30_000)).result).toBe(true);
    const held = await waitFor(() => F.events("upstream.block_held").find((e) => e.hash === found.hash), 30_000);
    expect(held).toMatchObject({ height: before + 2, answer: "prev-blk-not-found" });
    console.log(`follower's daemon answered submitblock: "${held.answer}" (block ${found.hash} on ${parent}, held)`);
    expect(F.events("pool.block_found").filter((e) => e.hash === found.hash)).toEqual([]);
    expect(F.events("pool.block_rejected").filter((e) => e.hash === found.hash)).toEqual([]);
    const key = Buffer.from(fromHex(found.hash).reverse());
    expect((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM pool_blocks WHERE hash = $1", [key])) as unknown[]).toEqual([{ n: 0 }]);
    expect((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM pool_candidates WHERE hash = $1", [key])) as unknown[]).toEqual([{ n: 1 }]);
    expect((await json(`${F.api}/pool/stats?workers=none`)).source.blocks_held).toBe(1);

    // The follower's daemon gets the parent: on its new tip the held block is submitted again and goes in.
    await peer.call("setnetworkactive", [true]);
    await oracle.call("addnode", [`127.0.0.1:${peerP2p}`, "onetry"]);
    const ev = await waitFor(() => F.events("pool.block_found").find((e) => e.hash === found.hash), 60_000);
    expect(ev.height).toBe(before + 2);
    console.log(`held block in ${Date.parse(ev.ts) - Date.parse(held.ts)} ms after it was held (the follower's log; includes the reconnect)`);
    expect(await peer.call("getbestblockhash")).toBe(found.hash);
    await waitFor(async () => ((await oracle.call("getbestblockhash")) === found.hash ? true : undefined), 30_000);
    const rows = await waitFor(async () => {
      const r = (await ledger.sql.unsafe("SELECT plan FROM pool_blocks WHERE hash = $1", [key])) as { plan: string }[];
      return r.length ? r : undefined;
    }, 30_000);
    expect(rows).toHaveLength(1);
    expect((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM pool_candidates")) as unknown[]).toEqual([{ n: 0 }]);
    const plan = typeof rows[0]!.plan === "string" ? JSON.parse(rows[0]!.plan) : rows[0]!.plan;
    const blk = await oracle.call("getblock", [found.hash, 2]);
    const outs = blk.tx[0].vout.filter((o: any) => !o.scriptPubKey.hex.startsWith(WITNESS_COMMITMENT));
    expect(outs.map((o: any) => ({ to: o.scriptPubKey.hex, amount: sats(o.value).toString() }))).toEqual(plan.outputs);
  }, 150_000);
});

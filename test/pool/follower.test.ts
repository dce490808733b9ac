// Follower mode: a PoolServer that adopts the jobs a leader published (same ids, same notify), checks and commits
// shares on them, submits a block found on one through its own source and records it with the leader's plan; the
// job wire refuses malformed jobs with the field named, and a job of an older lease epoch is dropped.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeAddress, generateKeyPair, type Coinbase } from "../../src/chain";
import { createLogger, fromHex, leToBigInt, RignodeError, toHex } from "../../src/core";
import { ChainSource, coin, DEFAULT_LIMITS, difficultyToTarget, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, shareHeader, swapWords, UpstreamSource, type PoolJob } from "../../src/pool";
import { MemoryHub, type PoolBus } from "../../src/pool/bus";
import { fromWire, toWire, type WireJob } from "../../src/pool/job-wire";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn } from "../chain/helpers";
import { waitFor } from "../helpers";

// Harder than EASY: a share at difficulty 0.000001 is then usually not a block (one in ~2^16 is).
const PARAMS = { ...EASY, powLimitBits: 0x1f00ffff };
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const tmp = () => mkdtempSync(join(tmpdir(), "rignode-follower-"));

function newChain(): Chain {
  return new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
}

function member(chain: Chain, id: number, bus: PoolBus | undefined, role: "leader" | "follower", jobRefreshSeconds = 30) {
  const ledger = new Ledger(Store.open(tmp()));
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress: generateKeyPair().publicKey,
    poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, maxPerIp: 3 }, jobRefreshSeconds, instanceId: id, role, bus,
  });
  cleanup.push(() => server.stop());
  return { server, ledger, http: new HttpWorkers(server) };
}

/** Submits one share on the session's current job: a block (hash within the network target) or not. */
async function submit(http: HttpWorkers, reg: { session: string; extranonce1: string }, block: boolean, tag: number) {
  const j = http.job(reg.session);
  const p = j.params as any[];
  const job = { coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: (p[4] as string[]).map((b) => fromHex(b)), work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
  const net = bitsToTarget(parseInt(p[6], 16));
  const extranonce2 = tag.toString(16).padStart(8, "0");
  const at = (n: number) => shareHeader(job, fromHex(reg.extranonce1), { extranonce2, ntime: p[7], nonce: n.toString(16).padStart(8, "0") }, 0);
  let nonce = 0;
  const share = difficultyToTarget(j.difficulty, "sha256d");
  const fits = (h: bigint) => (block ? h <= net : h > net && h <= share);
  while (!fits(leToBigInt(kernel.hash("sha256d", at(nonce).bytes)))) nonce++;
  return http.share(reg.session, { job_id: j.job_id, extranonce2, ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") });
}

describe("a follower PoolServer on a bus", () => {
  test("adopts the leader's jobs (ids, notify identical), checks and commits shares on them, and submits a block found on one with the leader's plan", async () => {
    const chain = newChain();
    const hub = new MemoryHub();
    const A = member(chain, 0, hub.bus("a"), "follower");
    const B = member(chain, 1, hub.bus("b"), "follower");
    const relayed: WireJob[] = [];
    B.server.jobs.onPublished((w) => relayed.push(w));
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start(); // the first member leads
    await B.server.o.bus!.start();
    expect(A.server.role).toBe("leader");
    expect(B.server.role).toBe("follower");
    const a = await waitFor(() => A.server.current ?? undefined);
    const b = await waitFor(() => (B.server.current?.seq === a.seq ? B.server.current : undefined));
    // The same job: id, notify fields (what goes on the wire), coinbase halves, branch, header, plan.
    expect(b.job.id).toBe(a.job.id);
    expect(JSON.stringify(b.job.notify)).toBe(JSON.stringify(a.job.notify));
    expect(B.server.currentJob()).toEqual(A.server.currentJob());
    expect(toHex(b.job.coinb1)).toBe(toHex(a.job.coinb1));
    expect(toHex(b.job.coinb2)).toBe(toHex(a.job.coinb2));
    expect(b.plan).toEqual(a.plan);
    // A follower relays what it adopts (a shard host does), unchanged.
    expect(relayed.map((w) => w.seq)).toEqual([a.seq]);
    expect(B.server.jobs.issued(a.job.id)).toBe(true);

    // A share on the adopted job: checked with the kernel and committed to B's ledger before it is acknowledged.
    const key = generateKeyPair().publicKey;
    const reg = await B.http.register(encodeAddress(key, EASY.addressVersion), "d=0.000001", "127.0.0.2");
    expect(reg.extranonce1.slice(0, 2)).toBe("01");
    expect((await submit(B.http, reg, false, 1)).accepted).toBe(true);
    expect(B.ledger.backend.count()).toBe(1);
    // A wrong share on it is refused like any other.
    const bad = await B.http.share(reg.session, { job_id: a.job.id, extranonce2: "00000009", ntime: (B.http.job(reg.session).params as string[])[7]!, nonce: "00000000" });
    expect(bad.accepted).toBe(false);

    // A block on the adopted job: submitted through B's own source (B's chain connects it), recorded with A's plan.
    const plan = b.plan;
    expect((await submit(B.http, reg, true, 2)).accepted).toBe(true);
    expect(chain.tip().height).toBe(1);
    const rows = await waitFor(() => (B.ledger.blocks().length ? B.ledger.blocks() : undefined));
    expect(rows.map((r) => r.plan)).toEqual([plan]);
    const cb = chain.block(chain.hashAt(1)!)!.block.txs[0] as Coinbase;
    expect(cb.outputs.map((o) => ({ to: toHex(o.to), amount: o.amount.toString() }))).toEqual(plan.outputs);
    // The new tip: the leader builds the next job, the follower adopts it (it never builds one itself).
    const next = await waitFor(() => (B.server.current && B.server.current.job.work.height === 2 ? B.server.current : undefined));
    expect(next.job.id).toBe(A.server.current!.job.id);
    expect(next.seq).toBeGreaterThan(a.seq);
  }, 60_000);

  test("a follower leads when the lease moves to it (building at once), and the old leader follows its jobs", async () => {
    const chain = newChain();
    const hub = new MemoryHub();
    const A = member(chain, 0, hub.bus("a"), "follower");
    const B = member(chain, 1, hub.bus("b"), "follower");
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start();
    await B.server.o.bus!.start();
    const first = await waitFor(() => (B.server.current ? B.server.current : undefined));
    hub.depose(); // A loses the lease without stopping
    expect(A.server.role).toBe("follower");
    expect(B.server.role).toBe("leader");
    const built = await waitFor(() => (B.server.current && B.server.current.seq > first.seq ? B.server.current : undefined));
    expect(B.server.jobs.epoch).toBe(2);
    await waitFor(() => (A.server.current?.seq === built.seq ? true : undefined));
    expect(A.server.currentJob()).toEqual(B.server.currentJob());
    // A's own timer and the tips it sees build nothing now.
    const jobsOfA = A.server.report.counters.jobs;
    mineOn(chain, generateKeyPair());
    const after = await waitFor(() => (A.server.current && A.server.current.job.work.height === 2 ? A.server.current : undefined));
    expect(after.job.id).toBe(B.server.current!.job.id);
    expect(A.server.report.counters.jobs).toBe(jobsOfA + 1); // the one adopted
  }, 60_000);

  test("a fresh pool's plan by connection pays the workers connected to every member, not only the leader's", async () => {
    const chain = newChain();
    const hub = new MemoryHub();
    const A = member(chain, 0, hub.bus("a"), "follower");
    const B = member(chain, 1, hub.bus("b"), "follower");
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start();
    await B.server.o.bus!.start();
    const ka = generateKeyPair().publicKey;
    const kb = generateKeyPair().publicKey;
    await A.http.register(encodeAddress(ka, EASY.addressVersion), "x", "127.0.0.1");
    await waitFor(() => (A.server.current?.plan.weights[toHex(ka)] ? true : undefined), 5_000);
    expect(A.server.current!.plan.basis).toBe("connected");
    // A worker on the follower: reported in its health (each second), then in the leader's next plan, adopted by B.
    await B.http.register(encodeAddress(kb, EASY.addressVersion), "x", "127.0.0.2");
    const plan = await waitFor(() => {
      const p = B.server.current?.plan;
      return p && p.weights[toHex(kb)] ? p : undefined;
    }, 10_000);
    expect(Object.keys(plan.weights).sort()).toEqual([toHex(ka), toHex(kb)].sort());
    expect(plan.outputs.map((o) => o.to)).toEqual(expect.arrayContaining([toHex(ka), toHex(kb)]));
    // The payees a member reports are the leader's business, not the API's (/pool/stats shows cluster()).
    expect(hub.members.map((m) => m.members().some((h) => h.payees?.length)).some(Boolean)).toBe(true);
    expect(JSON.stringify(A.server.cluster())).not.toContain("payees");
  }, 30_000);

  test("connections per IP and bans hold across members", async () => {
    const chain = newChain();
    const hub = new MemoryHub();
    const A = member(chain, 0, hub.bus("a"), "follower");
    const B = member(chain, 1, hub.bus("b"), "follower");
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start();
    await B.server.o.bus!.start();
    const link = (ip: string) => ({ ip, codec: "json", encode: () => new Uint8Array(), write() {}, flush() {}, close() {} }) as never;
    // The cap is 3 per IP: two on A and one on B fill it; a fourth is refused on either.
    expect(typeof A.server.open(link("10.1.1.1"))).toBe("object");
    expect(typeof A.server.open(link("10.1.1.1"))).toBe("object");
    expect(typeof B.server.open(link("10.1.1.1"))).toBe("object");
    expect(B.server.open(link("10.1.1.1"))).toMatch(/more than 3 connections/);
    expect(A.server.open(link("10.1.1.1"))).toMatch(/more than 3 connections/);
    // A ban decided by A is enforced by B at once.
    A.server.ban("10.2.2.2", "abuse");
    expect(B.server.bans().map((b) => [b.ip, b.reason])).toEqual([["10.2.2.2", "abuse"]]);
    expect(B.server.open(link("10.2.2.2"))).toMatch(/banned/i);
    // And lifted by B everywhere.
    B.server.unban("10.2.2.2");
    expect(A.server.bans()).toEqual([]);
    expect(typeof A.server.open(link("10.2.2.2"))).toBe("object");
  }, 30_000);
});

describe("the job wire", () => {
  const chain = newChain();
  const L = member(chain, 0, undefined, "leader");
  L.server.start();
  const source = L.server.source;

  test("a job goes out and comes back the same; a malformed one is refused with the field named", async () => {
    const rec = await waitFor(() => L.server.current ?? undefined);
    const w = JSON.parse(JSON.stringify(toWire(rec, true, 3, source))) as WireJob;
    const back = fromWire(w, source, "sha256d");
    expect(back.job.id).toBe(rec.job.id);
    expect(back.job.notify).toEqual({ ...rec.job.notify, cleanJobs: true });
    expect(source.encodeData(back.job.work.data)).toBe(source.encodeData(rec.job.work.data));
    const refused = (patch: Record<string, unknown>, field: RegExp) => {
      let err: unknown;
      try {
        fromWire({ ...w, ...patch } as WireJob, source, "sha256d");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RignodeError);
      expect((err as Error).message).toMatch(field);
    };
    refused({ header: w.header.slice(2) }, /header.*80 bytes/);
    refused({ seq: 0 }, /seq/);
    refused({ seq: 2 ** 32 }, /seq/);
    refused({ coinb1: "zz" }, /coinb1/);
    refused({ coinb2: "00".repeat(200_000) }, /coinbase.*over/);
    refused({ branch: ["00"] }, /branch\[0\]/);
    refused({ data: "00ff" }, /data/);
    refused({ plan: { ...w.plan, outputs: [{ to: "ab", amount: "-1" }] } }, /plan\.outputs\[0\]\.amount/);
    refused({ plan: undefined }, /plan/);
    refused({ networkDifficulty: -1 }, /networkDifficulty/);
    expect(() => fromWire(null as never, source, "sha256d")).toThrow(/not an object/);
  });

  test("a follower refuses a malformed job and drops one of an older epoch; the last good job stays", async () => {
    const rec = await waitFor(() => L.server.current ?? undefined);
    const w = toWire(rec, true, 5, source);
    const F = member(chain, 1, undefined, "follower");
    F.server.start();
    expect(F.server.current).toBeNull(); // a follower builds nothing
    expect(F.server.jobs.adopt(w)).toBe(true);
    expect(F.server.jobs.epoch).toBe(5);
    expect(F.server.jobs.adopt({ ...w, seq: w.seq + 1, header: "00" })).toBe(false);
    expect(F.server.current!.seq).toBe(w.seq);
    expect(F.server.jobs.adopt({ ...w, seq: w.seq + 2, epoch: 4 })).toBe(false);
    expect(F.server.current!.seq).toBe(w.seq);
    expect(F.server.jobs.adopt({ ...w, seq: w.seq })).toBe(false); // not newer
    expect(F.server.jobs.adopt({ ...w, seq: w.seq + 3, epoch: 6 })).toBe(true);
    expect(F.server.current!.job.id).toBe((w.seq + 3).toString(16));
    // A leader adopts nothing.
    expect(L.server.jobs.adopt({ ...w, seq: w.seq + 10 })).toBe(false);
  });
});

describe("an upstream template on the wire", () => {
  test("goes out as getblocktemplate JSON and comes back through parseTemplate's checks, byte for byte", () => {
    const { parseTemplate } = coin;
    const tx = "02000000000101" + "11".repeat(36) + "00ffffffff0100e1f50500000000160014" + "22".repeat(20) + "0000000000";
    const t = parseTemplate({
      version: 0x20000000, previousblockhash: "c957f6c2e3b1b8a5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a190d6f87f",
      transactions: [{ data: tx, txid: "ab".repeat(32), hash: "cd".repeat(32) }], coinbasevalue: 5000000000, longpollid: "x104",
      target: "7fffff0000000000000000000000000000000000000000000000000000000000", mintime: 1795309851, curtime: 1795309900, bits: "207fffff", height: 102,
      default_witness_commitment: "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9", mweb: "0102",
    });
    const up = new UpstreamSource({ url: "http://u:p@127.0.0.1:1", algo: "sha256d", foundationAddress: "", log: createLogger({ json: true, level: "error" }) });
    const back = up.decodeData(up.encodeData(t));
    expect(back).toEqual(t);
    expect(() => up.decodeData("{")).toThrow(/not JSON/);
    expect(() => up.decodeData(JSON.stringify({ ...JSON.parse(up.encodeData(t)), bits: "zz" }))).toThrow(/bits/);
  });
});

describe("a follower whose chain is behind the leader's", () => {
  test("a block found on a job whose parent has not reached the follower's chain yet is held, then accepted and recorded once", async () => {
    const chainA = newChain();
    const chainB = newChain(); // the same genesis, its own store: blocks reach it only when given (as over P2P)
    const hub = new MemoryHub();
    const A = member(chainA, 0, hub.bus("a"), "follower");
    const B = member(chainB, 1, hub.bus("b"), "follower");
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start();
    await B.server.o.bus!.start();
    await waitFor(() => B.server.current ?? undefined);
    // A new tip on the leader's chain only: its job (height 2) reaches B before the block itself.
    mineOn(chainA, generateKeyPair());
    const job = await waitFor(() => (B.server.current?.job.work.height === 2 ? B.server.current : undefined));
    expect(chainB.tip().height).toBe(0);
    const reg = await B.http.register(encodeAddress(generateKeyPair().publicKey, EASY.addressVersion), "d=0.000001", "127.0.0.2");
    expect((await submit(B.http, reg, true, 7)).accepted).toBe(true);
    expect(B.ledger.blocks()).toEqual([]);
    // The parent arrives: the held block goes in on top of it and is recorded with the leader's plan.
    chainB.acceptBlock(chainA.block(chainA.hashAt(1)!)!.block);
    await waitFor(() => (chainB.tip().height === 2 ? true : undefined));
    const rows = await waitFor(() => (B.ledger.blocks().length ? B.ledger.blocks() : undefined));
    expect(rows.map((r) => [r.height, r.plan])).toEqual([[2, job.plan]]);
    await Bun.sleep(200);
    expect(B.ledger.blocks()).toHaveLength(1);
  }, 60_000);
});

describe("a follower cut off from its leader", () => {
  test("reports itself stale when its chain's tip is no longer the job's parent", async () => {
    const chainA = newChain();
    const chainB = newChain();
    const hub = new MemoryHub();
    const A = member(chainA, 0, hub.bus("a"), "follower");
    const B = member(chainB, 1, hub.bus("b"), "follower");
    A.server.start();
    B.server.start();
    await A.server.o.bus!.start();
    await B.server.o.bus!.start();
    await waitFor(() => B.server.current ?? undefined);
    expect(B.server.health()).toEqual({ ok: true, problems: [] });
    // A tip the leader never sees: B's work is on a parent its own chain left.
    mineOn(chainB, generateKeyPair());
    const h = await waitFor(() => (B.server.health().ok ? undefined : B.server.health()), 20_000);
    expect(h.problems.join()).toMatch(/stale job: .*tip/);
    expect(A.server.health().ok).toBe(true);
  }, 60_000);

  test("reports itself stale when no newer job came for twice the job refresh interval", async () => {
    const chain = newChain();
    const L = member(chain, 0, undefined, "leader");
    L.server.start();
    const rec = await waitFor(() => L.server.current ?? undefined);
    const F = member(chain, 1, undefined, "follower", 1);
    F.server.start();
    expect(F.server.jobs.adopt(toWire(rec, true, 1, L.server.source))).toBe(true);
    expect(F.server.health().ok).toBe(true);
    const h = await waitFor(() => (F.server.health().ok ? undefined : F.server.health()), 20_000);
    expect(h.problems.join()).toMatch(/stale job: no job from the leader for/);
    // A newer job clears it.
    expect(F.server.jobs.adopt(toWire({ ...rec, seq: rec.seq + 1 }, true, 1, L.server.source))).toBe(true);
    await waitFor(() => (F.server.health().ok ? true : undefined), 5_000);
  }, 60_000);
});

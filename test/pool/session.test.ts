// A scripted Stratum V1 client against one session and the pool's share checks (in memory; the TCP listeners and
// the ledger are the next step of the pool issue).
import { describe, expect, test } from "bun:test";
import { bitsToTarget, Chain, generateKeyPair, NETWORKS } from "../../src/chain";
import { fromHex, leToBigInt } from "../../src/core";
import { chainWork, ChainSource, makeJob, shareHeader, ShareChecker, difficultyToTarget, type PoolJob } from "../../src/pool";
import { StratumSession, StratumError, type Outgoing, type SessionHandler } from "../../src/stratum";
import { Store } from "../../src/store";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernel } from "../chain/helpers";

// devnet with its old easy limit (block target about 2^240): a block is found in-process in a moment.
const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const DIFF = 2 ** -20; // share target about 2^244: 1 share in 16 is also a block
const chain = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-sess-"))), params, powHash: (h) => kernel.hash(params.algo, h) });
const payee = generateKeyPair();
const template = (tag: number) => {
  const en = new Uint8Array(8);
  en[7] = tag;
  return chain.template((total) => [{ to: payee.publicKey, amount: total }], en, `job ${tag}`);
};
const hashOf = (job: PoolJob, en1: Uint8Array, nonce: number, vbits: string | undefined, mask: number) =>
  leToBigInt(kernel.hash("sha256d", shareHeader(job, en1, { extranonce2: "00000001", ntime: job.notify.ntime, nonce: hex(nonce), versionBits: vbits }, mask).bytes));
const hex = (n: number) => n.toString(16).padStart(8, "0");

function setup() {
  const checker = new ShareChecker("sha256d", (h) => kernel.hash("sha256d", h));
  const job1 = makeJob("1", "sha256d", chainWork(template(1), 0, 1), true);
  checker.addJob(job1, true);
  const sent: Outgoing[] = [];
  const handler: SessionHandler = {
    versionMask: 0x1fffe000,
    subscribe: () => ({ extranonce1: "57a6f098", extranonce2Size: 4 }),
    authorize: (_s, user) => user.startsWith("good"),
    suggestDifficulty: () => {},
    submit: async (s, p) => {
      const out = checker.check(p, fromHex(s.extranonce1, 4), s.versionMask, DIFF);
      if (out.stale) throw new StratumError(21, "Stale share");
    },
  };
  const session = new StratumSession((m) => sent.push(m), handler);
  const ask = async (id: unknown, method: string, params: unknown[]) => {
    await session.handle({ id, method, params });
    return sent[sent.length - 1] as { id: unknown; result: unknown; error: [number, string, null] | null };
  };
  return { checker, job1, ask };
}

/** The first nonce from `from` whose share hash falls in (lo, hi]. */
function findNonce(job: PoolJob, lo: bigint, hi: bigint, vbits?: string, mask = 0, from = 0): number {
  const en1 = fromHex("57a6f098", 4);
  for (let n = from; ; n++) {
    const h = hashOf(job, en1, n, vbits, mask);
    if (h > lo && h <= hi) return n;
  }
}

describe("scripted Stratum V1 session", () => {
  test("configure, subscribe, authorize, version-rolled submit, stale, duplicate, low difficulty, unauthorized, unsubscribed: codes 21-25", async () => {
    const { checker, job1, ask } = setup();
    const share = difficultyToTarget(DIFF, "sha256d");
    const net = bitsToTarget(params.powLimitBits);

    // A submit before subscribe: 25.
    expect((await ask(1, "mining.submit", ["good.a", "1", "00000001", job1.notify.ntime, "00000000"])).error?.[0]).toBe(25);
    // configure first, masks intersected.
    const conf = await ask("c1", "mining.configure", [["version-rolling", "minimum-difficulty"], { "version-rolling.mask": "ffffffff" }]);
    expect(conf.result).toEqual({ "version-rolling": true, "version-rolling.mask": "1fffe000", "minimum-difficulty": false });
    const sub = await ask(2, "mining.subscribe", ["test-miner/1.0"]);
    expect((sub.result as unknown[])[1]).toBe("57a6f098");
    expect((sub.result as unknown[])[2]).toBe(4);
    expect((await ask(3, "mining.authorize", ["good.a", "x"])).result).toBe(true);
    expect((await ask(4, "mining.authorize", ["evil", "x"])).error?.[0]).toBe(24);
    // Unknown methods get an error reply and the session goes on; ids are echoed verbatim, even repeated ones.
    expect((await ask({ weird: 1 }, "mining.nonsense", [])).id).toEqual({ weird: 1 });
    expect((await ask({ weird: 1 }, "mining.suggest_difficulty", [0.00015])).result).toBe(true);

    // A good share with version rolling (hash between the block target and the share target).
    const n1 = findNonce(job1, net, share, "00002000", 0x1fffe000);
    const submit = (id: number, worker: string, job: string, nonce: number, vbits = "00002000") =>
      ask(id, "mining.submit", [worker, job, "00000001", job1.notify.ntime, hex(nonce), vbits]);
    expect((await submit(5, "good.a", "1", n1)).result).toBe(true);
    // The same share again: 22.
    expect((await submit(5, "good.a", "1", n1)).error?.[0]).toBe(22);
    // A share above the share target: 23.
    const n2 = findNonce(job1, share, (1n << 256n) - 1n, "00002000", 0x1fffe000);
    expect((await submit(6, "good.a", "1", n2)).error).toEqual([23, "Low difficulty share", null]);
    // A worker that never authorized: 24.
    expect((await submit(7, "evil", "1", n1 + 1)).error?.[0]).toBe(24);
    // Version bits outside the mask: refused.
    expect((await submit(8, "good.a", "1", n1, "00000001")).error?.[0]).toBe(20);
    // A new tip (clean job): a share on the old job is stale: 21. An unknown job: 21.
    checker.addJob(makeJob("2", "sha256d", chainWork(template(2), 0, 1), true), true);
    const fresh = findNonce(job1, net, share, "00002000", 0x1fffe000, n1 + 1); // a good share never sent before
    expect((await submit(9, "good.a", "1", fresh)).error).toEqual([21, "Stale share", null]);
    expect((await submit(10, "good.a", "999", n1)).error).toEqual([21, "Job not found", null]);
  }, 60_000);

  test("a share that meets the network target is a block, even on a stale job", async () => {
    const { checker, job1 } = setup();
    const n = findNonce(job1, 0n, bitsToTarget(params.powLimitBits));
    checker.addJob(makeJob("2", "sha256d", chainWork(template(3), 0, 1), true), true); // job 1 is stale now
    const out = checker.check({ worker: "good.a", jobId: "1", extranonce2: "00000001", ntime: job1.notify.ntime, nonce: hex(n) }, fromHex("57a6f098", 4), 0, DIFF);
    expect(out.stale).toBe(true);
    expect(out.block).toBeDefined();
    expect((await new ChainSource(chain).submit(out.block!.job.work, out.block!.header, out.block!.coinbase)).status).toBe("accepted");
  }, 60_000);
});

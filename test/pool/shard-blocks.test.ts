// A block a shard found, on the main thread: submitted, recorded there once, and the shard told whether it was (so
// that it does not write it a second time while the tip's notifies go out, yet still tries when the main thread could not).
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeAddress, generateKeyPair } from "../../src/chain";
import { createLogger, fromHex, leToBigInt } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, shareHeader, swapWords, type PoolJob, type StoredPlan } from "../../src/pool";
import { submitForShard } from "../../src/pool/shard-blocks";
import type { SubmitResult, WorkSource } from "../../src/pool/source";
import { Store } from "../../src/store";
import { EASY, kernel } from "../chain/helpers";

const plan: StoredPlan = { scheme: "prop", total: "100", foundation: "1", poolFee: "0", poolFeeBps: 0, outputs: [], weights: {}, carried: { ab: "3" }, lastShare: 0 };
const hash = new Uint8Array(32).fill(7);
const header = { version: 1, prevHash: new Uint8Array(32), merkleRoot: new Uint8Array(32), time: 1, bits: 0x207fffff, nonce: 1 };
const submitMsg = { t: "submit" as const, id: 9, work: { height: 5, header, minTime: 0, coinb1: new Uint8Array(0), coinb2: new Uint8Array(0), branch: [], data: "" }, header, coinbase: new Uint8Array(0), plan };
const source = (r: SubmitResult | Promise<SubmitResult>) => ({ submit: () => r, decodeData: (d: string) => d }) as unknown as WorkSource;
const ledger = () => new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-shard-blocks-"))));

async function answer(src: WorkSource, l: Ledger) {
  let got: any = null;
  submitForShard(src, l, submitMsg as never, (a) => (got = a));
  for (let i = 0; i < 50 && !got; i++) await Bun.sleep(1);
  return got;
}

describe("a block found on a shard", () => {
  test("accepted: recorded by the main thread with its plan before the answer, and the shard is told it was", async () => {
    const l = ledger();
    const a = await answer(source({ status: "accepted", height: 5, hash }), l);
    expect(a).toMatchObject({ t: "submit-answer", id: 9, ok: true, value: { status: "accepted", recorded: true } });
    const rows = l.recentBlocks(10);
    expect(rows.length).toBe(1);
    expect(Buffer.from(rows[0]!.hash).equals(Buffer.from(hash))).toBe(true);
    expect(l.carried().get("ab")).toBe(3n); // the round closed with the block's plan
  });

  test("a record that fails (synchronously or not) is not claimed: the shard records it itself", async () => {
    const l = ledger();
    l.recordBlock = () => {
      throw new Error("disk full");
    };
    const a = await answer(source({ status: "accepted", height: 5, hash }), l);
    expect(a.ok).toBe(true);
    expect(a.value.recorded).toBeUndefined();
    const l2 = ledger();
    l2.recordBlock = () => Promise.reject(new Error("connection lost"));
    const b = await answer(source(Promise.resolve({ status: "accepted", height: 5, hash })), l2);
    expect(b.value.recorded).toBeUndefined();
  });

  test("not on the best chain or rejected: nothing recorded; a source that throws is a failed submit", async () => {
    const l = ledger();
    const a = await answer(source({ status: "not_best", height: 5, hash }), l);
    expect(a.value).toMatchObject({ status: "not_best" });
    expect(a.value.recorded).toBeUndefined();
    expect(l.recentBlocks(10).length).toBe(0);
    const bad = { submit: () => Promise.reject(new Error("daemon down")), decodeData: (d: string) => d } as unknown as WorkSource;
    expect(await answer(bad, l)).toMatchObject({ ok: false, error: "daemon down" });
  });
});

describe("the shard's side", () => {
  test("a block the source says it recorded is not recorded again by the finder; one it did not is", async () => {
    for (const recorded of [true, false]) {
      const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-shard-blocks-")));
      const chain = new Chain({ store, params: EASY, powHash: (h) => kernel.hash("sha256d", h) });
      const ledger = new Ledger(store);
      const src = new ChainSource(chain);
      const submit = src.submit.bind(src);
      src.submit = (...a) => {
        const r = submit(...a) as SubmitResult;
        return recorded ? { ...r, recorded } : r;
      };
      const server = new PoolServer({
        source: src, powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress: generateKeyPair().publicKey,
        poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 0,
      });
      server.start();
      const http = new HttpWorkers(server);
      const reg = await http.register(encodeAddress(generateKeyPair().publicKey, EASY.addressVersion), "d=0.000001", "127.0.0.1");
      const j = http.job(reg.session);
      const p = j.params as any[];
      const job = { coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: [], work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
      let nonce = 0;
      const hex = (n: number) => n.toString(16).padStart(8, "0");
      while (leToBigInt(kernel.hash("sha256d", shareHeader(job, fromHex(reg.extranonce1), { extranonce2: "00000001", ntime: p[7], nonce: hex(nonce) }, 0).bytes)) > bitsToTarget(parseInt(p[6], 16))) nonce++;
      expect((await http.share(reg.session, { job_id: j.job_id, extranonce2: "00000001", ntime: p[7], nonce: hex(nonce) })).accepted).toBe(true);
      expect(chain.tip().height).toBe(1);
      expect(server.report.counters.blocks).toBe(1);
      expect(ledger.blocks().length).toBe(recorded ? 0 : 1);
      server.stop();
    }
  }, 60_000);
});

// Refused shares carry their reason (no message parsing); the checker's job cache is the pool's one cache; the
// guard's per-second allowance on an injected clock.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, generateKeyPair, NETWORKS } from "../../src/chain";
import { fromHex, leToBigInt } from "../../src/core";
import { chainWork, makeJob, shareHeader, ShareChecker, type PoolJob } from "../../src/pool";
import { BANNABLE, KEEP_JOBS, ShareRejected, type RejectReason } from "../../src/pool/shares";
import { SecondRate } from "../../src/core/guard";
import { StratumError } from "../../src/stratum";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";

const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const chain = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-reasons-"))), params, powHash: (h) => kernel.hash(params.algo, h) });
const payee = generateKeyPair();
const EN1 = fromHex("57a6f098", 4);
const hex = (n: number) => n.toString(16).padStart(8, "0");
const job = (id: number) => {
  const en = new Uint8Array(8);
  en[7] = id;
  return makeJob(id.toString(16), "sha256d", chainWork(chain.template((total) => [{ to: payee.publicKey, amount: total }], en, `job ${id}`), 0, 1), true);
};
/** A share on `j` whose hash is above the network target (not a block). */
function notABlock(j: PoolJob) {
  const net = bitsToTarget(params.powLimitBits);
  for (let n = 0; ; n++) {
    const p = { worker: "w", jobId: j.id, extranonce2: "00000001", ntime: j.notify.ntime, nonce: hex(n) };
    if (leToBigInt(kernel.hash("sha256d", shareHeader(j, EN1, p, 0).bytes)) > net) return p;
  }
}
function refusal(f: () => unknown): ShareRejected {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShareRejected);
    expect(e).toBeInstanceOf(StratumError); // what the session answers with
    return e as ShareRejected;
  }
  throw new Error("not refused");
}

describe("reject reasons", () => {
  const checker = new ShareChecker<{ seq: number }>("sha256d", (h) => kernel.hash("sha256d", h));
  const j1 = job(1);
  checker.addJob(j1, true, { seq: 1 });

  test("a job id never seen is job_not_found; a share on a job replaced by a new tip is stale: both code 21, told apart by the reason", () => {
    const unknown = refusal(() => checker.check({ ...notABlock(j1), jobId: "ffff" }, EN1, 0, 2 ** -20));
    expect([unknown.reason, unknown.stratumCode]).toEqual(["job_not_found", 21]);
    const share = notABlock(j1);
    const j2 = job(2);
    checker.addJob(j2, true, { seq: 2 });
    const stale = refusal(() => checker.check(share, EN1, 0, 2 ** -20));
    expect([stale.reason, stale.stratumCode]).toEqual(["stale", 21]);
    // The same hash again is a duplicate, whatever the job's state.
    const dup = refusal(() => checker.check(share, EN1, 0, 2 ** -20));
    expect([dup.reason, dup.stratumCode]).toEqual(["duplicate", 22]);
    // Under the share difficulty: low_difficulty, 23; a malformed field: invalid, 20.
    const low = refusal(() => checker.check(notABlock(j2), EN1, 0, 1));
    expect([low.reason, low.stratumCode]).toEqual(["low_difficulty", 23]);
    const bad = refusal(() => checker.check({ ...notABlock(j2), extranonce2: "xyz" }, EN1, 0, 1));
    expect([bad.reason, bad.stratumCode]).toEqual(["invalid", 20]);
  });

  test("only wrong work counts towards a ban", () => {
    const all: RejectReason[] = ["stale", "duplicate", "low_difficulty", "job_not_found", "invalid", "rate_limited", "unauthorized", "storage"];
    expect(all.filter((r) => BANNABLE.has(r))).toEqual(["low_difficulty", "job_not_found", "invalid", "unauthorized"]);
  });

  test("the checker keeps the caller's record with each job, and forgets both together past the last 16", () => {
    const c = new ShareChecker<{ seq: number }>("sha256d", (h) => kernel.hash("sha256d", h));
    const first = job(10);
    c.addJob(first, true, { seq: 10 });
    expect(c.meta(first.id)).toEqual({ seq: 10 });
    for (let i = 1; i < KEEP_JOBS; i++) c.addJob(job(10 + i), false, { seq: 10 + i });
    expect(c.meta(first.id)).toEqual({ seq: 10 }); // 16 kept
    c.addJob(job(10 + KEEP_JOBS), false, { seq: 10 + KEEP_JOBS });
    expect(c.meta(first.id)).toBeUndefined();
    expect(c.job(first.id)).toBeUndefined();
    expect(refusal(() => c.prepare(notABlock(first), EN1, 0)).reason).toBe("job_not_found");
  });
});

describe("SecondRate", () => {
  test("counts within one second of the given clock and starts again at the next; a burst across a second boundary is two allowances", () => {
    const r = new SecondRate();
    expect([r.over(5_000, 3), r.over(5_100, 3), r.over(5_999, 3), r.over(5_999, 3), r.over(5_999, 3)]).toEqual([0, 0, 0, 1, 2]);
    expect([r.over(6_000, 3), r.over(6_001, 3), r.over(6_002, 3), r.over(6_003, 3)]).toEqual([0, 0, 0, 1]);
    const edge = new SecondRate();
    expect([edge.over(7_998, 2), edge.over(7_999, 2), edge.over(8_000, 2), edge.over(8_001, 2)]).toEqual([0, 0, 0, 0]);
  });

  test("a limit of 0 is no limit", () => {
    const r = new SecondRate();
    for (let i = 0; i < 1000; i++) expect(r.over(1_000, 0)).toBe(0);
  });
});

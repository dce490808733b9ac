// A job as one pool member hands it to another (Redis between instances, a Worker's port between shards): plain JSON
// a follower turns back into the very job the leader made — same id, same notify bytes, the plan its coinbase pays.
// What comes in is checked field by field: a bad job is refused with the field named, never half-adopted.
import { RignodeError, fromHex, toHex, type Algo } from "../core";
import { decodeHeader, encodeHeader } from "../chain";
import type { StoredPlan } from "./ledger-backend";
import type { JobRecord } from "./context";
import type { WireJob } from "./bus";
import { makeJob } from "./job";
import type { WorkSource } from "./source";

// The wire's shape lives with the bus (options.ts names the bus; a type import back from here would be a circle).
export type { WireJob } from "./bus";

/** Most entries of a coinbase merkle branch (a block of 2^32 transactions). */
const MAX_BRANCH = 32;

export function toWire(rec: JobRecord, clean: boolean, epoch: number, source: WorkSource): WireJob {
  const w = rec.job.work;
  return {
    seq: rec.seq,
    epoch,
    clean,
    header: toHex(encodeHeader(w.header)),
    height: w.height,
    minTime: w.minTime,
    coinb1: toHex(w.coinb1),
    coinb2: toHex(w.coinb2),
    branch: w.branch.map(toHex),
    data: source.encodeData(w.data),
    plan: rec.plan,
    networkDifficulty: rec.networkDifficulty,
    createdAt: rec.createdAt,
  };
}

const bad = (what: string, why: string) => new RignodeError("input", `job from the bus: ${what} ${why}`);

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw bad(what, `must be an integer 0..${max}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

function hex(v: unknown, what: string, bytes?: number): Uint8Array {
  if (typeof v !== "string") throw bad(what, "must be a hex string");
  try {
    return fromHex(v, bytes, what);
  } catch (e) {
    throw bad(what, (e as Error).message);
  }
}

const DIGITS = /^[0-9]{1,40}$/;

function digits(v: unknown, what: string): string {
  if (typeof v !== "string" || !DIGITS.test(v)) throw bad(what, "must be a decimal amount");
  return v;
}

function amounts(v: unknown, what: string): Record<string, string> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw bad(what, "must be an object");
  for (const [k, x] of Object.entries(v)) {
    if (!/^[0-9a-f]{2,200}$/.test(k)) throw bad(what, `has a payee that is not hex: '${k.slice(0, 40)}'`);
    digits(x, `${what}[${k.slice(0, 16)}]`);
  }
  return v as Record<string, string>;
}

/** The stored plan's shape: what recordBlock writes and the payouts are read from later. */
function checkPlan(p: unknown): StoredPlan {
  if (!p || typeof p !== "object") throw bad("plan", "is missing");
  const x = p as Record<string, unknown>;
  if (x.scheme !== "pplns" && x.scheme !== "prop") throw bad("plan.scheme", "must be pplns or prop");
  for (const f of ["total", "foundation", "poolFee"]) digits(x[f], `plan.${f}`);
  uint(x.poolFeeBps, "plan.poolFeeBps", 1000);
  if (!Array.isArray(x.outputs)) throw bad("plan.outputs", "must be a list");
  x.outputs.forEach((o: { to?: unknown; amount?: unknown }, i) => {
    hex(o?.to, `plan.outputs[${i}].to`);
    digits(o.amount, `plan.outputs[${i}].amount`);
  });
  amounts(x.weights, "plan.weights");
  amounts(x.carried, "plan.carried");
  uint(x.lastShare, "plan.lastShare");
  if (x.basis !== undefined && x.basis !== "connected") throw bad("plan.basis", "must be 'connected' when present");
  return p as StoredPlan;
}

/**
 * The job a leader published, as this member's own: checked (sizes, hex, the plan's shape, the source's data), its
 * coinbase within what this pool's notify caps allow. Throws a RignodeError naming the bad field.
 */
export function fromWire(w: WireJob, source: WorkSource, algo: Algo): JobRecord {
  if (!w || typeof w !== "object") throw bad("", "is not an object");
  const seq = uint(w.seq, "seq", 0xffffffff);
  if (seq === 0) throw bad("seq", "must be at least 1");
  uint(w.epoch, "epoch", 0xffffffff);
  if (typeof w.clean !== "boolean") throw bad("clean", "must be true or false");
  const header = decodeHeader(hex(w.header, "header", 80));
  const coinb1 = hex(w.coinb1, "coinb1");
  const coinb2 = hex(w.coinb2, "coinb2");
  if (coinb1.length + 8 + coinb2.length > source.maxCoinbaseBytes) {
    throw bad("coinbase", `is ${coinb1.length + 8 + coinb2.length} bytes, over the ${source.maxCoinbaseBytes} this pool's source allows`);
  }
  if (!Array.isArray(w.branch) || w.branch.length > MAX_BRANCH) throw bad("branch", `must be a list of at most ${MAX_BRANCH} hashes`);
  const branch = w.branch.map((b, i) => hex(b, `branch[${i}]`, 32));
  if (typeof w.data !== "string") throw bad("data", "must be a string");
  let data: unknown;
  try {
    data = source.decodeData(w.data);
  } catch (e) {
    throw bad("data", (e as Error).message);
  }
  const plan = checkPlan(w.plan);
  const nd = w.networkDifficulty;
  if (typeof nd !== "number" || !(nd >= 0)) throw bad("networkDifficulty", "must be a number >= 0"); // 0: an easy network (hashDifficulty rounds to 1e-6)
  const work = { height: uint(w.height, "height", 0xffffffff), header, minTime: uint(w.minTime, "minTime", 0xffffffff), coinb1, coinb2, branch, data };
  const job = makeJob(seq.toString(16), algo, work, w.clean);
  return { job, seq, plan, createdAt: uint(w.createdAt, "createdAt"), networkDifficulty: nd };
}

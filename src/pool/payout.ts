import { RignodeError } from "../core";

/** The fixed foundation fee: 1% of every block, rounded up. */
export const FOUNDATION_PERCENT = 1n;
/** The most a pool may take: 10% (1000 basis points). */
export const MAX_POOL_FEE_BPS = 1000;

export interface PayoutInput {
  /** Block reward plus fees, base units. */
  total: bigint;
  foundation: string;
  pool: string;
  /** Pool fee in basis points, 0..1000. */
  poolFeeBps: number;
  /** Share weight (difficulty units, any integer scale) per payout address in the PPLNS window or round. */
  weights: Map<string, bigint>;
  /** Amounts owed from earlier blocks (below the minimum output then), per address. */
  carried: Map<string, bigint>;
  minOutput: bigint;
  maxOutputs: number;
}

export interface PayoutPlan {
  /** Coinbase outputs, one per address, in a stable order: foundation, pool, then workers by address. */
  outputs: { to: string; amount: bigint }[];
  /** What each address is owed after this block (its amount was too small, or did not fit). */
  carried: Map<string, bigint>;
  foundation: bigint;
  poolFee: bigint;
}

/**
 * Splits a block among the foundation (1%, rounded up), the pool (its fee) and the workers (by weight).
 * Outputs always sum exactly to `total`. Amounts owed from earlier blocks are paid first out of the workers' part;
 * a worker whose amount is below the minimum output (or beyond the output cap) is not paid now: the amount is
 * recorded as carried and this block's workers' part goes to the others by weight, to be paid back first in a
 * later block. Rounding remainders go to the foundation.
 *
 * O(n log n) in payees. Payees are ranked once by what they would get with everyone in (least first, then by
 * address), and the fewest lowest-ranked are carried so that everyone paid gets at least the minimum and the outputs
 * fit. A payee's amount only grows when others leave (debts are paid largest first from what is left, the rest is
 * split by weight), so "the rest all reach the minimum" holds for every cut past the first one that works: a binary
 * search finds it. Without debts the ranking never changes as payees leave, so this is exactly the former rule (drop
 * the least, re-split, repeat: quadratic) - unless two payees of different weights round to the same amount and
 * the address order between them flips later, which needs weights closer than one base unit's worth. With debts
 * the former ranking could change as payees left (a debt is a fixed part, weights grow with what others leave);
 * this one is made once. Both keep every rule (test/pool/plan-equivalence.test.ts).
 */
export function planPayout(i: PayoutInput): PayoutPlan {
  if (i.total < 0n) throw new RignodeError("input", "total must not be negative");
  if (!Number.isInteger(i.poolFeeBps) || i.poolFeeBps < 0 || i.poolFeeBps > MAX_POOL_FEE_BPS) {
    throw new RignodeError("config", `pool fee must be 0..${MAX_POOL_FEE_BPS} basis points (0-10%), got ${i.poolFeeBps}`);
  }
  if (i.maxOutputs < 2) throw new RignodeError("config", "a payout needs room for at least 2 outputs");
  let foundation = (i.total * FOUNDATION_PERCENT + 99n) / 100n;
  let poolFee = (i.total * BigInt(i.poolFeeBps)) / 10_000n;
  if (foundation + poolFee > i.total) poolFee = i.total - foundation;
  // A pool fee too small to be an output is not taken.
  if (poolFee < i.minOutput) poolFee = 0n;
  const workersPart = i.total - foundation - poolFee;

  // Everyone with a weight or a debt competes for the workers' part. Payees are indices into these arrays.
  const keys = [...i.weights.keys()];
  for (const a of i.carried.keys()) if (!i.weights.has(a)) keys.push(a);
  const n = keys.length;
  const w = keys.map((a) => i.weights.get(a) ?? 0n);
  const d = keys.map((a) => i.carried.get(a) ?? 0n);
  // Ties go by address as localeCompare orders them, which for hex (every real address) is code-unit order.
  const hex = keys.every((a) => /^[0-9a-f]*$/.test(a));
  const byAddress = (xs: number[]) => (hex ? byUnits(xs, keys) : xs.sort((x, y) => keys[x]!.localeCompare(keys[y]!)));
  // Candidates in the order debts are paid: largest first, then by address; every smaller set keeps this order.
  // Those without a debt get nothing in that pass, so their order does not matter.
  const all = Array.from({ length: n }, (_, x) => x);
  const who = [...order(all.filter((x) => d[x]! > 0n), d, true, byAddress, 0), ...all.filter((x) => d[x] === 0n && w[x]! > 0n)];
  const room = Math.max(i.maxOutputs - 1 - (poolFee > 0n ? 1 : 0), 0);
  const amount: bigint[] = new Array(n).fill(0n);
  split(workersPart, who, w, d, amount);
  // Rank once: the least amount with everyone in goes first (ties by address), as the former loop removed them.
  // At least `lo` are carried, so the order among the first `lo` does not matter.
  let lo = Math.max(who.length - room, 0);
  const rank = new Int32Array(n);
  order(who, amount, false, byAddress, lo).forEach((x, r) => (rank[x] = r));
  const cut = (k: number) => {
    const set = k === 0 ? who : who.filter((x) => rank[x]! >= k);
    if (k > 0) split(workersPart, set, w, d, amount);
    return set.every((x) => amount[x]! >= i.minOutput) ? set : null;
  };
  // The fewest carried (at least enough for the cap) such that everyone left is payable; all carried always is.
  let paidSet = cut(lo);
  if (!paidSet) {
    let [hi, best] = [who.length, [] as number[]];
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      const set = cut(mid);
      if (set) [hi, best] = [mid, set];
      else lo = mid;
    }
    paidSet = best;
    split(workersPart, paidSet, w, d, amount);
  }
  const isPaid = new Uint8Array(n);
  let paid = 0n;
  for (const x of paidSet) {
    isPaid[x] = 1;
    paid += amount[x]!;
  }
  foundation += workersPart - paid; // rounding remainders, or everything when nobody can be paid

  let totalWeight = 0n;
  for (const v of i.weights.values()) totalWeight += v;
  const carried = new Map<string, bigint>();
  // Debts the workers' part did not reach (more owed than one block's part): the rest stays owed, paid or not now.
  let debtLeft = workersPart;
  const debtPaid = new Map<number, bigint>();
  for (const x of paidSet) {
    if (d[x]! === 0n) continue;
    const pay = d[x]! < debtLeft ? d[x]! : debtLeft;
    debtPaid.set(x, pay);
    debtLeft -= pay;
  }
  for (let x = 0; x < n; x++) {
    if (isPaid[x]) {
      const rest = d[x]! - (debtPaid.get(x) ?? 0n);
      if (rest > 0n) carried.set(keys[x]!, rest);
      continue;
    }
    // Not paid now: what it would have had from this block (by weight) plus what it was owed already.
    const owed = d[x]! + (totalWeight > 0n && w[x]! > 0n ? (workersPart * w[x]!) / totalWeight : 0n);
    if (owed > 0n) carried.set(keys[x]!, owed);
  }

  const outputs = [{ to: i.foundation, amount: foundation }];
  if (poolFee > 0n) outputs.push({ to: i.pool, amount: poolFee });
  for (const x of byUnits(paidSet, keys)) outputs.push({ to: keys[x]!, amount: amount[x]! });
  return { outputs: merge(outputs), carried, foundation, poolFee };
}

/** Debts first (as far as the part reaches, in `who`'s order: largest first), then the rest by weight, rounded down, into `out`. */
function split(part: bigint, who: number[], w: bigint[], d: bigint[], out: bigint[]): void {
  let left = part;
  for (const x of who) {
    const pay = d[x]! < left ? d[x]! : left;
    out[x] = pay;
    left -= pay;
  }
  let total = 0n;
  for (const x of who) total += w[x]!;
  if (total > 0n && left > 0n) for (const x of who) if (w[x]! > 0n) out[x] = out[x]! + (left * w[x]!) / total;
}

/**
 * `xs` sorted by value (ascending, or descending), equal values by `byAddress`; the order of the first `from` may
 * be any. Values that fit a double with the index beside them sort natively (a comparator sort of 100,000 is slow).
 */
function order(xs: number[], v: bigint[], desc: boolean, byAddress: (xs: number[]) => number[], from: number): number[] {
  if (xs.length < 2) return xs.slice();
  let max = 0n;
  for (const x of xs) if (v[x]! > max) max = v[x]!;
  const bits = Math.ceil(Math.log2(v.length + 1));
  let out: number[];
  if (max < 2n ** BigInt(53 - bits)) {
    const scale = 2 ** bits;
    const top = Number(max);
    const f = new Float64Array(xs.length);
    xs.forEach((x, k) => (f[k] = (desc ? top - Number(v[x]!) : Number(v[x]!)) * scale + x));
    f.sort();
    out = Array.from(f, (y) => y % scale);
  } else out = [...xs].sort((x, y) => (desc ? cmp(v[y]!, v[x]!) : cmp(v[x]!, v[y]!)));
  // Runs of equal values (that reach past `from`) go by address.
  for (let a = 0; a < out.length; ) {
    let b = a + 1;
    while (b < out.length && v[out[b]!] === v[out[a]!]) b++;
    if (b - a > 1 && b > from) byAddress(out.slice(a, b)).forEach((x, k) => (out[a + k] = x));
    a = b;
  }
  return out;
}

/** `xs` in code-unit order of their addresses (a native string sort). */
function byUnits(xs: number[], keys: string[]): number[] {
  if (xs.length < 2) return xs.slice();
  const at = new Map(xs.map((x) => [keys[x]!, x]));
  return xs.map((x) => keys[x]!).sort().map((k) => at.get(k)!);
}

/** One output per address (the pool or foundation may also mine). */
function merge(outputs: { to: string; amount: bigint }[]): { to: string; amount: bigint }[] {
  const m = new Map<string, bigint>();
  for (const o of outputs) m.set(o.to, (m.get(o.to) ?? 0n) + o.amount);
  return [...m].filter(([, v]) => v > 0n).map(([to, amount]) => ({ to, amount }));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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
 * search finds it. Without debts this is exactly the former rule (drop the least, re-split, repeat); with debts the
 * ranking of the former rule could change as payees left, this one is fixed once (see test/pool/plan-equivalence).
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

  // Everyone with a weight or a debt competes for the workers' part.
  const everyone = [...new Set([...i.weights.keys(), ...i.carried.keys()])];
  const byAddress = addressOrder(everyone);
  const debtOf = (a: string) => i.carried.get(a) ?? 0n;
  const weightOf = (a: string) => i.weights.get(a) ?? 0n;
  // Candidates in the order debts are paid (largest first, then by address); every smaller set keeps this order.
  const who = everyone.filter((a) => weightOf(a) > 0n || debtOf(a) > 0n).sort((x, y) => cmp(debtOf(y), debtOf(x)) || byAddress(x, y));
  const room = Math.max(i.maxOutputs - 1 - (poolFee > 0n ? 1 : 0), 0);
  const all = split(workersPart, who, i.weights, i.carried);
  // Rank once: the least amount with everyone in goes first (ties by address), as the former loop removed them.
  const rank = new Map([...who].sort((x, y) => cmp(all.get(x)!, all.get(y)!) || byAddress(x, y)).map((a, k) => [a, k]));
  const cut = (k: number) => (k === 0 ? all : split(workersPart, who.filter((a) => rank.get(a)! >= k), i.weights, i.carried));
  const fits = (owed: Map<string, bigint>) => {
    for (const v of owed.values()) if (v < i.minOutput) return false;
    return true;
  };
  // The fewest dropped (at least enough for the cap) such that everyone left is payable; all dropped is always fine.
  let lo = Math.max(who.length - room, 0);
  let owed = cut(lo);
  if (!fits(owed)) {
    let hi = who.length; // fits (nobody left)
    let best = new Map<string, bigint>();
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      const o = cut(mid);
      if (fits(o)) [hi, best] = [mid, o];
      else lo = mid;
    }
    owed = best;
  }
  let paid = 0n;
  for (const v of owed.values()) paid += v;
  foundation += workersPart - paid; // rounding remainders, or everything when nobody can be paid

  let totalWeight = 0n;
  for (const w of i.weights.values()) totalWeight += w;
  const carried = new Map<string, bigint>();
  for (const a of everyone) {
    if (owed.has(a)) continue;
    // Not paid now: what it would have had from this block (by weight) plus what it was owed already.
    const prior = debtOf(a);
    const share = totalWeight > 0n ? (workersPart * weightOf(a)) / totalWeight : 0n;
    if (prior + share > 0n) carried.set(a, prior + share);
  }

  const outputs = [{ to: i.foundation, amount: foundation }];
  if (poolFee > 0n) outputs.push({ to: i.pool, amount: poolFee });
  for (const a of [...owed.keys()].sort()) outputs.push({ to: a, amount: owed.get(a)! });
  return { outputs: merge(outputs), carried, foundation, poolFee };
}

/** Debts first (as far as the part reaches, in `who`'s order: largest first), then the rest by weight, rounded down. */
function split(part: bigint, who: string[], weights: Map<string, bigint>, carried: Map<string, bigint>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let left = part;
  for (const a of who) {
    const debt = carried.get(a) ?? 0n;
    const pay = debt < left ? debt : left;
    out.set(a, pay);
    left -= pay;
  }
  let total = 0n;
  for (const a of who) total += weights.get(a) ?? 0n;
  if (total > 0n && left > 0n) for (const a of who) out.set(a, out.get(a)! + (left * (weights.get(a) ?? 0n)) / total);
  return out;
}

/** Ties between addresses go as `localeCompare` orders them; for hex (every real address) that is code-unit order. */
function addressOrder(all: string[]): (x: string, y: string) => number {
  if (all.every((a) => /^[0-9a-f]*$/.test(a))) return (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  return (x, y) => x.localeCompare(y);
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

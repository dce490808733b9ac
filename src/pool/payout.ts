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

  // Everyone with a weight or a debt competes for the workers' part; shrink the set until every amount is payable.
  const candidates = new Set([...i.weights.keys(), ...i.carried.keys()].filter((a) => (i.weights.get(a) ?? 0n) > 0n || (i.carried.get(a) ?? 0n) > 0n));
  const room = i.maxOutputs - 1 - (poolFee > 0n ? 1 : 0);
  let owed = new Map<string, bigint>();
  for (;;) {
    owed = split(workersPart, candidates, i.weights, i.carried);
    const small = [...owed].filter(([, v]) => v < i.minOutput).sort((a, b) => cmp(a[1], b[1]) || a[0].localeCompare(b[0]));
    if (small.length) {
      candidates.delete(small[0]![0]);
      continue;
    }
    if (candidates.size > room) {
      const least = [...owed].sort((a, b) => cmp(a[1], b[1]) || a[0].localeCompare(b[0]))[0]![0];
      candidates.delete(least);
      continue;
    }
    break;
  }
  const paid = [...owed].reduce((s, [, v]) => s + v, 0n);
  foundation += workersPart - paid; // rounding remainders, or everything when nobody can be paid

  const carried = new Map<string, bigint>();
  for (const a of new Set([...i.weights.keys(), ...i.carried.keys()])) {
    if (owed.has(a)) continue;
    // Not paid now: what it would have had from this block (by weight) plus what it was owed already.
    const prior = i.carried.get(a) ?? 0n;
    const share = shareOf(workersPart, a, i.weights);
    if (prior + share > 0n) carried.set(a, prior + share);
  }

  const outputs = [{ to: i.foundation, amount: foundation }];
  if (poolFee > 0n) outputs.push({ to: i.pool, amount: poolFee });
  for (const a of [...owed.keys()].sort()) outputs.push({ to: a, amount: owed.get(a)! });
  return { outputs: merge(outputs), carried, foundation, poolFee };
}

/** Debts first (as far as the part reaches, largest first), then the rest by weight, rounded down. */
function split(part: bigint, who: Set<string>, weights: Map<string, bigint>, carried: Map<string, bigint>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let left = part;
  for (const a of [...who].sort((x, y) => cmp(carried.get(y) ?? 0n, carried.get(x) ?? 0n) || x.localeCompare(y))) {
    const debt = carried.get(a) ?? 0n;
    const pay = debt < left ? debt : left;
    out.set(a, pay);
    left -= pay;
  }
  let total = 0n;
  for (const a of who) total += weights.get(a) ?? 0n;
  if (total > 0n) for (const a of who) out.set(a, out.get(a)! + (left * (weights.get(a) ?? 0n)) / total);
  return out;
}

function shareOf(part: bigint, a: string, weights: Map<string, bigint>): bigint {
  let total = 0n;
  for (const w of weights.values()) total += w;
  return total > 0n ? (part * (weights.get(a) ?? 0n)) / total : 0n;
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

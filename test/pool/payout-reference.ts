// REFERENCE ONLY: the payout planner as it was before issue 13 item 3 (one payee removed per pass, everything
// re-split each time: quadratic in payees). Kept here so the differential test and bench/plan.ts can compare the
// new planPayout against it. Not used by the pool.
import { FOUNDATION_PERCENT, type PayoutInput, type PayoutPlan } from "../../src/pool/payout";

export function referencePlanPayout(i: PayoutInput): PayoutPlan {
  let foundation = (i.total * FOUNDATION_PERCENT + 99n) / 100n;
  let poolFee = (i.total * BigInt(i.poolFeeBps)) / 10_000n;
  if (foundation + poolFee > i.total) poolFee = i.total - foundation;
  if (poolFee < i.minOutput) poolFee = 0n;
  const workersPart = i.total - foundation - poolFee;

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
  foundation += workersPart - paid;

  const carried = new Map<string, bigint>();
  for (const a of new Set([...i.weights.keys(), ...i.carried.keys()])) {
    if (owed.has(a)) continue;
    const prior = i.carried.get(a) ?? 0n;
    const share = shareOf(workersPart, a, i.weights);
    if (prior + share > 0n) carried.set(a, prior + share);
  }

  const outputs = [{ to: i.foundation, amount: foundation }];
  if (poolFee > 0n) outputs.push({ to: i.pool, amount: poolFee });
  for (const a of [...owed.keys()].sort()) outputs.push({ to: a, amount: owed.get(a)! });
  return { outputs: merge(outputs), carried, foundation, poolFee };
}

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

function merge(outputs: { to: string; amount: bigint }[]): { to: string; amount: bigint }[] {
  const m = new Map<string, bigint>();
  for (const o of outputs) m.set(o.to, (m.get(o.to) ?? 0n) + o.amount);
  return [...m].filter(([, v]) => v > 0n).map(([to, amount]) => ({ to, amount }));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

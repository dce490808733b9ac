// planPayout in O(n log n) against the former quadratic planner (test/pool/payout-reference.ts): identical plans
// wherever the former one-at-a-time ranking cannot change as payees leave, and the plan's rules everywhere.
import { describe, expect, test } from "bun:test";
import { planPayout, type PayoutInput, type PayoutPlan } from "../../src/pool";
import { prng } from "../helpers";
import { referencePlanPayout } from "./payout-reference";

const sum = (p: PayoutPlan) => p.outputs.reduce((s, o) => s + o.amount, 0n);
/** A plan as plain data; carried sorted (its order is the input's key order in both planners anyway). */
const plain = (p: PayoutPlan) => ({ outputs: p.outputs, carried: [...p.carried].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), foundation: p.foundation, poolFee: p.poolFee });

/** Seeded random inputs: ties (equal weights), zero weights, tiny and large minimum outputs, tight caps, optional debts. */
function randomInput(rnd: () => number, o: { debts: boolean; hex: boolean; maxN: number; huge?: boolean }): PayoutInput {
  const n = 1 + Math.floor(rnd() * o.maxN);
  const weights = new Map<string, bigint>();
  const carried = new Map<string, bigint>();
  const tie = BigInt(1 + Math.floor(rnd() * 1e6));
  for (let k = 0; k < n; k++) {
    const a = o.hex ? Math.floor(rnd() * 2 ** 40).toString(16).padStart(10, "0") : ["a", "B", "c", "D", "é", "Z", "m", "10", "9"][k % 9]! + k;
    const r = rnd();
    weights.set(a, r < 0.1 ? 0n : r < 0.4 ? tie : BigInt(1 + Math.floor(rnd() * 1e6)));
    if (o.debts && rnd() < 0.4) carried.set(a, BigInt(Math.floor(rnd() * 2e6)));
  }
  const r = rnd();
  return {
    // Huge totals: amounts past 2^53, sorted by the comparator path rather than as doubles.
    total: (BigInt(Math.floor(rnd() * 1e10)) + 10n ** 9n) * (o.huge ? 10n ** 12n : 1n),
    foundation: "F",
    pool: "P",
    poolFeeBps: Math.floor(rnd() * 1001),
    weights,
    carried,
    minOutput: r < 0.3 ? 1n : r < 0.5 ? 0n : BigInt(Math.floor(rnd() * 5e7)),
    maxOutputs: rnd() < 0.4 ? 100_000 : 2 + Math.floor(rnd() * (n + 2)),
  };
}

/** The rules every plan keeps, whatever the inputs. */
function checkRules(i: PayoutInput, p: PayoutPlan): void {
  expect(sum(p)).toBe(i.total);
  expect(p.outputs.length).toBeLessThanOrEqual(i.maxOutputs);
  for (const o of p.outputs) if (o.to !== "F") expect(o.amount >= i.minOutput).toBe(true);
  expect(new Set(p.outputs.map((o) => o.to)).size).toBe(p.outputs.length);
  for (const o of p.outputs) expect(p.carried.has(o.to)).toBe(false);
  // Nobody with a debt or a weight is forgotten: paid now, or carried with at least the old debt.
  for (const [a, d] of i.carried) if (!p.outputs.some((o) => o.to === a)) expect((p.carried.get(a) ?? 0n) >= d).toBe(true);
  for (const [a, w] of i.weights) if (w > 0n && i.total > 0n && !p.outputs.some((o) => o.to === a)) expect(p.carried.has(a) || (i.carried.get(a) ?? 0n) === 0n).toBe(true);
}

describe("payout plan: new planner against the former one", () => {
  test("identical plans over 3,000 seeded inputs without debts (hex and other addresses, ties, caps, tiny minimum, amounts past 2^53)", () => {
    const rnd = prng(1301);
    for (let round = 0; round < 3000; round++) {
      const i = randomInput(rnd, { debts: false, hex: round % 3 !== 0, maxN: 60, huge: round % 5 === 0 });
      const p = planPayout(i);
      expect({ round, ...plain(p) }).toEqual({ round, ...plain(referencePlanPayout(i)) });
      checkRules(i, p);
    }
  });

  test("with debts: the rules hold, and the plan is the fewest carried from a ranking made once", () => {
    const rnd = prng(1302);
    let same = 0;
    for (let round = 0; round < 2000; round++) {
      const i = randomInput(rnd, { debts: true, hex: round % 4 !== 0, maxN: 60, huge: round % 5 === 0 });
      const p = planPayout(i);
      checkRules(i, p);
      if (JSON.stringify(plain(p), big) === JSON.stringify(plain(referencePlanPayout(i)), big)) same++;
    }
    // Most plans are the former ones; the rest differ only where a debt changed who was least as others left.
    expect(same).toBeGreaterThan(1900);
  });

  test("debts are paid first, largest first, the outputs exactly as before; a debt the part did not reach stays owed", () => {
    const i: PayoutInput = {
      total: 1_000_000n, foundation: "F", pool: "P", poolFeeBps: 0, minOutput: 1n, maxOutputs: 100,
      weights: new Map([["aa", 1n], ["bb", 1n], ["cc", 2n]]), carried: new Map([["aa", 500_000n], ["bb", 600_000n]]),
    };
    const p = planPayout(i);
    expect(p.outputs).toEqual(referencePlanPayout(i).outputs);
    // 990,000 for workers: bb's 600,000 first, then aa gets the 390,000 left; nothing is left for weights.
    expect(p.outputs).toEqual([{ to: "F", amount: 10_000n }, { to: "aa", amount: 390_000n }, { to: "bb", amount: 600_000n }]);
    // The former planner forgot aa's other 110,000; cc (weight, no debt, nothing left for it) is carried as before.
    expect(p.carried.get("aa")).toBe(110_000n);
    expect(p.carried.get("cc")).toBe(referencePlanPayout(i).carried.get("cc"));
  });
});

function big(_: string, v: unknown) {
  return typeof v === "bigint" ? v.toString() : v;
}

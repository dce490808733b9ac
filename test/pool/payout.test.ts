import { describe, expect, test } from "bun:test";
import { planPayout, type PayoutInput } from "../../src/pool";
import { prng } from "../helpers";

const base = (o: Partial<PayoutInput>): PayoutInput => ({
  total: 5_000_000_000n,
  foundation: "F",
  pool: "P",
  poolFeeBps: 200,
  weights: new Map(),
  carried: new Map(),
  minOutput: 1000n,
  maxOutputs: 1000,
  ...o,
});
const sum = (p: ReturnType<typeof planPayout>) => p.outputs.reduce((s, o) => s + o.amount, 0n);
const amountOf = (p: ReturnType<typeof planPayout>, a: string) => p.outputs.find((o) => o.to === a)?.amount ?? 0n;

describe("payout plan", () => {
  test("foundation 1% rounded up, pool fee, the rest by weight 3:1, exact", () => {
    const p = planPayout(base({ total: 5_000_000_001n, weights: new Map([["a", 3n], ["b", 1n]]) }));
    expect(p.foundation).toBeGreaterThanOrEqual(50_000_001n); // ceil(1%)
    expect(p.poolFee).toBe(100_000_000n); // 2%, rounded down
    expect(amountOf(p, "a")).toBe(3_637_500_000n);
    expect(amountOf(p, "b")).toBe(1_212_500_000n);
    expect(sum(p)).toBe(5_000_000_001n);
  });

  test("a worker too small for an output is carried and paid first in a later block", () => {
    const weights = new Map([["big", 10_000_000n], ["tiny", 1n]]);
    const p1 = planPayout(base({ weights }));
    expect(amountOf(p1, "tiny")).toBe(0n);
    const owed = p1.carried.get("tiny")!;
    expect(owed).toBeGreaterThan(0n);
    expect(owed).toBeLessThan(1000n);
    expect(sum(p1)).toBe(5_000_000_000n);
    // Later it has more weight: its debt plus its new share is paid, and the debt is gone.
    const p2 = planPayout(base({ weights: new Map([["big", 1n], ["tiny", 1n]]), carried: p1.carried }));
    expect(amountOf(p2, "tiny")).toBe(owed + (amountOf(p2, "big")));
    expect(p2.carried.size).toBe(0);
    expect(sum(p2)).toBe(5_000_000_000n);
  });

  test("debts larger than one block's part: paid largest first as far as the part reaches, the rest still owed", () => {
    // total 10,000: foundation 100, no pool fee; the workers' part is 9,900, the debts 6,000 + 5,000.
    const p = planPayout(base({ total: 10_000n, poolFeeBps: 0, minOutput: 1n, weights: new Map([["a", 1n], ["b", 1n]]), carried: new Map([["a", 6_000n], ["b", 5_000n]]) }));
    expect(amountOf(p, "a")).toBe(6_000n);
    expect(amountOf(p, "b")).toBe(3_900n);
    expect(p.carried.get("a")).toBeUndefined();
    expect(p.carried.get("b")).toBe(1_100n);
    expect(sum(p)).toBe(10_000n);
  });

  test("no shares at all: everything but the pool fee goes to the foundation", () => {
    const p = planPayout(base({}));
    expect(p.outputs).toEqual([{ to: "F", amount: 4_900_000_000n }, { to: "P", amount: 100_000_000n }]);
  });

  test("a pool fee outside 0-10% is refused", () => {
    expect(() => planPayout(base({ poolFeeBps: 1001 }))).toThrow("0..1000 basis points");
    expect(() => planPayout(base({ poolFeeBps: -1 }))).toThrow();
  });

  test("property: over random share sets, outputs sum exactly to the total, every output is payable, caps hold", () => {
    const rnd = prng(42);
    for (let round = 0; round < 500; round++) {
      const n = 1 + Math.floor(rnd() * 60);
      const weights = new Map<string, bigint>();
      const carried = new Map<string, bigint>();
      for (let k = 0; k < n; k++) {
        const w = rnd() < 0.3 ? BigInt(Math.floor(rnd() * 5)) : BigInt(Math.floor(rnd() * 1e9));
        weights.set(`w${k}`, w);
        if (rnd() < 0.2) carried.set(`w${k}`, BigInt(Math.floor(rnd() * 5000)));
      }
      const total = BigInt(Math.floor(rnd() * 1e10)) + 100_000n;
      const maxOutputs = 2 + Math.floor(rnd() * 40);
      const poolFeeBps = Math.floor(rnd() * 1001);
      const p = planPayout(base({ total, weights, carried, maxOutputs, poolFeeBps }));
      const ctx = { round, total };
      expect({ ...ctx, sum: sum(p) }).toEqual({ ...ctx, sum: total });
      expect(p.outputs.length).toBeLessThanOrEqual(maxOutputs);
      for (const o of p.outputs) expect(o.amount >= 1000n).toBe(true);
      expect(p.foundation >= (total + 99n) / 100n).toBe(true);
      expect(p.poolFee <= (total * BigInt(poolFeeBps)) / 10_000n).toBe(true);
      // Nobody is both paid and still owed; everyone not paid keeps at least what it was owed.
      for (const [a, owed] of carried) if (!p.outputs.some((o) => o.to === a)) expect((p.carried.get(a) ?? 0n) >= owed).toBe(true);
      for (const o of p.outputs) expect(p.carried.has(o.to)).toBe(false);
    }
  });

  test("the same inputs always give the same plan", () => {
    const i = base({ weights: new Map([["x", 5n], ["y", 7n], ["z", 11n]]) });
    expect(planPayout(i)).toEqual(planPayout(i));
  });
});

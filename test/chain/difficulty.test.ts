import { describe, expect, test } from "bun:test";
import { bitsToTarget, nextTarget, workForTarget, type DifficultyPoint } from "../../src/chain";
import { prng } from "../helpers";

// Simulated mining: each block's solve time is exponential with mean work(target) / hashrate.
function simulate(blocks: number, hashrateAt: (i: number) => number, seed: number) {
  const rnd = prng(seed);
  const T = 10, N = 45;
  const limit = bitsToTarget(0x1f00ffff);
  let target = limit / 64n;
  const pts: DifficultyPoint[] = [{ time: 0, target }];
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < blocks; i++) {
    const mean = Number(workForTarget(target)) / hashrateAt(i);
    const solve = -Math.log(1 - rnd()) * mean;
    t += solve;
    times.push(solve);
    pts.push({ time: Math.round(t), target });
    target = nextTarget(pts.slice(-(N + 1)), T, N, limit);
  }
  return times;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("LWMA difficulty", () => {
  test("recovers the 10 s block time after a 10x hashrate rise and after a 10x fall", () => {
    const base = 2 ** 20; // starting difficulty is far off: the first 200 blocks also show convergence
    const up = simulate(1200, (i) => (i < 600 ? base : base * 10), 7);
    const before = mean(up.slice(400, 600));
    const after = mean(up.slice(900, 1200));
    expect(before).toBeGreaterThan(8.5);
    expect(before).toBeLessThan(11.5);
    expect(after).toBeGreaterThan(8.5);
    expect(after).toBeLessThan(11.5);
    // Right after the jump blocks come fast, which is what the adjustment answers.
    expect(mean(up.slice(600, 610))).toBeLessThan(5);

    const down = simulate(1200, (i) => (i < 600 ? base * 10 : base), 11);
    expect(mean(down.slice(900, 1200))).toBeGreaterThan(8.5);
    expect(mean(down.slice(900, 1200))).toBeLessThan(11.5);
  });

  test("the target never exceeds the limit and a chain's start uses the limit", () => {
    const limit = bitsToTarget(0x1f00ffff);
    expect(nextTarget([{ time: 0, target: limit }], 10, 45, limit)).toBe(limit);
    const slow = Array.from({ length: 46 }, (_, i) => ({ time: i * 1000, target: limit }));
    expect(nextTarget(slow, 10, 45, limit)).toBe(limit);
  });
});

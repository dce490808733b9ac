import { describe, expect, test } from "bun:test";
import { DEFAULT_VARDIFF, roundDifficulty, Vardiff } from "../../src/pool";
import { prng } from "../helpers";

/** A simulated miner of `hs` hashes/s: shares arrive as a Poisson process of rate hs / (D * 2^32). */
function run(hs: number, startDiff: number, seconds: number, seed: number) {
  const rnd = prng(seed);
  const v = new Vardiff(startDiff, DEFAULT_VARDIFF, 0);
  let t = 0;
  const intervals: number[] = [];
  while (t < seconds) {
    const gap = -Math.log(1 - rnd()) / (hs / (v.difficulty * 2 ** 32));
    if (gap > 5) {
      // Time passes in ticks too, so a miner that finds nothing is eased.
      t += 5;
      v.tick(t);
      continue;
    }
    t += gap;
    intervals.push(gap);
    v.onShare(t);
  }
  return { v, intervals };
}

describe("vardiff", () => {
  for (const [name, hs] of [["a 50 kH/s ESP32-class miner", 5e4], ["a 1 GH/s CPU rig", 1e9], ["a 100 TH/s ASIC", 1e14]] as const) {
    test(`${name} converges to about one share per 10 s from a far-off start`, () => {
      const { v } = run(hs, 1, 4 * 3600, hs % 97);
      const ideal = (hs * 10) / 2 ** 32;
      expect(v.difficulty).toBeGreaterThan(ideal / 2.5);
      expect(v.difficulty).toBeLessThan(ideal * 2.5);
    });
  }

  test("whole numbers at 1 and above, 3 significant digits below", () => {
    expect(roundDifficulty(1234.9)).toBe(1234);
    expect(roundDifficulty(1)).toBe(1);
    expect(roundDifficulty(0.000123456)).toBe(0.000123);
    const { v } = run(1e12, 1, 3600, 3);
    expect(Number.isInteger(v.difficulty)).toBe(true);
  });

  test("one step changes the difficulty at most 4x, and the limits hold", () => {
    const v = new Vardiff(100, { targetSeconds: 10, retargetSeconds: 30, minDifficulty: 1, maxDifficulty: 1000 }, 0);
    const steps: number[] = [100];
    for (let i = 0; i < 100; i++) {
      const d = v.onShare(0.001 * (i + 1)); // a burst: many steps up, each at most 4x
      if (d !== null) steps.push(d);
    }
    for (let t = 31; t < 2000; t += 31) {
      const d = v.tick(t); // then silence: steps down
      if (d !== null) steps.push(d);
    }
    for (let i = 1; i < steps.length; i++) expect(Math.max(steps[i]! / steps[i - 1]!, steps[i - 1]! / steps[i]!)).toBeLessThanOrEqual(4);
    expect(Math.max(...steps)).toBe(1000);
    expect(v.difficulty).toBe(1);
  });
});

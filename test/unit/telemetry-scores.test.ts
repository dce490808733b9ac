// Each score on constructed series (a step, a ramp, noise only), and the class the KPIs combine into.
import { describe, expect, test } from "bun:test";
import { BitEncoder, classOf, combine, DEFAULT_THRESHOLDS as T, entropy, hazard, health, stability, type Kpis } from "../../src/telemetry";

const noise = (seed: number) => {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
};
const patternsOf = (xs: number[], window = 30) => {
  const e = new BitEncoder(window);
  xs.forEach((x) => e.push("f", x));
  return { values: e.values("f"), patterns: e.patterns("f") };
};
const KPIS: Kpis = { hashesPerJoule: null, rejectRatio: null, thermalHeadroomC: null, latencyBudget: null };

describe("scores", () => {
  test("stability: 1 when flat, high for 1% noise, 0 across a 2× step, lower for a steep ramp; null under 3 readings", () => {
    const r = noise(3);
    expect(stability([5, 5, 5, 5], 0.1)).toBe(1);
    expect(stability([0, 0, 0], 0.1)).toBe(1);
    const n = stability(Array.from({ length: 30 }, () => 100 * (1 + 0.01 * r())), 0.1)!;
    expect(n).toBeGreaterThan(0.9);
    expect(stability([...Array(15).fill(10), ...Array(15).fill(20)], 0.1)).toBe(0);
    const ramp = stability(Array.from({ length: 30 }, (_, i) => 100 + i), 0.1)!;
    expect(ramp).toBeLessThan(n);
    expect(stability([1, 2], 0.1)).toBeNull();
  });

  test("entropy: high for noise (out-of-range is rare, so about 3 of the 4 bits vary), 0 for a ramp (one pattern), low after a step", () => {
    const r = noise(5);
    const noisy = entropy(patternsOf(Array.from({ length: 200 }, () => r())).patterns)!;
    expect(noisy).toBeGreaterThan(0.55);
    expect(entropy(patternsOf(Array.from({ length: 200 }, (_, i) => i)).patterns)).toBe(0);
    const step = entropy(patternsOf([...Array(100).fill(1), ...Array(29).fill(2)]).patterns)!;
    expect(step).toBeLessThan(0.3);
    expect(entropy([3])).toBeNull();
  });

  test("hazard: alarms per sample, bounded to 0..1", () => {
    expect(hazard(0, 3600)).toBe(0);
    expect(hazard(36, 3600)).toBeCloseTo(0.01);
    expect(hazard(5, 0)).toBe(0);
    expect(hazard(10, 5)).toBe(1);
  });

  test("health and class: the limits land on the score marks, classes follow", () => {
    const lim: [number, number, number] = [0.05, 0.2, 0.5];
    expect(health(0, lim, T.score)).toBe(1);
    expect(health(0.05, lim, T.score)).toBeCloseTo(T.score.minor);
    expect(health(0.2, lim, T.score)).toBeCloseTo(T.score.major);
    expect(health(0.5, lim, T.score)).toBeCloseTo(T.score.critical);
    expect(health(2, lim, T.score)).toBe(0);
    expect(classOf(1, T.score)).toBe("none");
    expect(classOf(0.7, T.score)).toBe("minor");
    expect(classOf(0.4, T.score)).toBe("major");
    expect(classOf(0.1, T.score)).toBe("critical");
  });

  test("combine: a 10% drop is minor, 30% major, 60% critical; a hot package is critical; healthy is none", () => {
    const at = (change: number | null, k: Partial<Kpis> = {}, paused = false) => combine({ kpis: { ...KPIS, ...k }, hashrateChange: change, alarmed: [], paused }, T);
    expect(at(null, { thermalHeadroomC: 30, rejectRatio: 0, latencyBudget: 0.98 })).toEqual({ score: 1, class: "none", reasons: [] });
    expect(at(-0.1).class).toBe("minor");
    expect(at(-0.1).reasons[0]).toContain("hashrate fell 10.0%");
    expect(at(-0.3).class).toBe("major");
    expect(at(-0.6).class).toBe("critical");
    expect(at(-0.6, {}, true).class).toBe("none"); // a paused miner's hashrate is no evidence
    expect(at(0.1).class).toBe("none"); // a rise is not a rupture
    expect(at(null, { thermalHeadroomC: 2 }).class).toBe("critical");
    expect(at(null, { thermalHeadroomC: 6 }).class).toBe("major");
    expect(at(null, { rejectRatio: 0.06 }).class).toBe("major");
    expect(at(null, { rejectRatio: 0.08, rejectCount: 1 }).class).toBe("none"); // one reject in a dozen shares is no evidence
    expect(at(null, { rejectRatio: 0.08, rejectCount: 3 }).class).toBe("major");
    expect(at(null, { latencyBudget: 0 }).class).toBe("major");
    const alarm = combine({ kpis: KPIS, hashrateChange: null, alarmed: ["temperature"], paused: false }, T);
    expect(alarm).toMatchObject({ class: "minor", reasons: ["change-point in temperature"] });
  });
});

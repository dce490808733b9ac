// The auto-tuner and its statistics: the Welch test against reference values (scipy), the tuner's protocol, and on
// the simulated rigs of test/tune-sim.ts: within 2% of the true best in ≥ 95% of 200 seeded runs per shape, ≤ 30
// windows, and on a flat rig (all candidates equal) a false-win rate under 5%.
import { describe, expect, test } from "bun:test";
import { AutoTuner, MAX_WINDOWS } from "../../src/tuning/autotune";
import { incompleteBeta, lnGamma, mean, studentTUpper, variance, welchGreater, welchGreaterWindows } from "../../src/tuning/stats";
import { flatRig, runSession, shapes, SUB_WINDOWS, type RigShape } from "../tune-sim";
import { prng } from "../helpers";

const SEEDS = 200;

describe("stats", () => {
  test("moments, lnGamma and the incomplete beta", () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(variance([1, 2, 3, 4])).toBeCloseTo(1.6667, 4);
    expect(Number.isNaN(variance([1]))).toBe(true);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 12);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
  });

  test("Student's t upper tail matches scipy's t.sf", () => {
    for (const [t, df, want] of [
      [2.015048, 5, 0.05000002381745778],
      [1.0, 2.5, 0.20203051363913682],
      [-1.3, 7.3, 0.8834292249669171],
      [3.5, 40, 0.0005788533073787349],
      [0.2, 1, 0.4371670418109989],
      [0, 9, 0.5],
    ] as const)
      expect(studentTUpper(t, df)).toBeCloseTo(want, 9);
  });

  test("one-sided Welch test matches scipy's ttest_ind(equal_var=False, alternative='greater')", () => {
    const x = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const y = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const r = welchGreater(y, x);
    expect(r.t).toBeCloseTo(2.455356398286006, 9);
    expect(r.df).toBeCloseTo(24.988529290231416, 9);
    expect(r.p).toBeCloseTo(0.010689000731433496, 9);
    expect(welchGreater(x, y).p).toBeCloseTo(1 - 0.010689000731433496, 9);
    expect(welchGreater([10, 11, 12, 13], [10, 10.5, 11, 12]).p).toBeCloseTo(0.22732800724927651, 9);
    // a required gain shifts the test: 11.5 vs 10.875 is not 1 better
    expect(welchGreater([10, 11, 12, 13], [10, 10.5, 11, 12], 1).p).toBeGreaterThan(0.6);
  });

  test("by windows: one window a side is the plain test; a spread between windows widens the test", () => {
    const x = [10, 11, 12, 13];
    const y = [10, 10.5, 11, 12];
    expect(welchGreaterWindows([x], [y]).p).toBeCloseTo(welchGreater(x, y).p, 12);
    // each side's windows are tight inside but their means differ a lot: the sub-windows alone claim too much
    const xw = [[104, 104.2, 103.8], [96, 96.2, 95.8], [106, 106.1, 105.9]];
    const yw = [[100, 100.1, 99.9], [99, 99.2, 98.8], [98, 98.1, 97.9]];
    expect(welchGreater(xw.flat(), yw.flat()).p).toBeLessThan(0.1);
    expect(welchGreaterWindows(xw, yw).p).toBeGreaterThan(0.15);
  });

  test("degenerate samples: one sample proves nothing; constant samples compare by mean", () => {
    expect(welchGreater([100], [1, 2, 3]).p).toBe(1);
    expect(welchGreater([5, 5, 5], [4, 4, 4]).p).toBe(0);
    expect(welchGreater([5, 5, 5], [5, 5, 5]).p).toBe(1);
  });
});

describe("auto-tuner protocol", () => {
  test("starts with the start candidate (default: all threads, batch 16); reports must match and be rates", () => {
    const t = new AutoTuner({ minThreads: 1, maxThreads: 4, minBatch: 1, maxBatch: 32 });
    expect(t.next()).toEqual({ threads: 4, batch: 16 });
    expect(t.best).toBeNull();
    expect(() => t.report({ threads: 3, batch: 16 }, [1, 2])).toThrow(/asked for 4x16/);
    expect(() => t.report({ threads: 4, batch: 16 }, [])).toThrow(/rates/);
    expect(() => t.report({ threads: 4, batch: 16 }, [1, NaN])).toThrow(/rates/);
    expect(() => t.report({ threads: 4, batch: 16 }, [1, -1])).toThrow(/rates/);
    t.report({ threads: 4, batch: 16 }, [100, 101, 99]);
    expect(t.best).toEqual({ candidate: { threads: 4, batch: 16 }, mean: 100, samples: 3 });
    expect(t.progress().evaluated).toBe(1);
    const s = new AutoTuner({ minThreads: 1, maxThreads: 2, minBatch: 1, maxBatch: 8, start: { threads: 6, batch: 16 } });
    expect(s.next()).toEqual({ threads: 2, batch: 8 }); // a remembered start outside the range is moved into it
  });

  test("bad options are refused", () => {
    expect(() => new AutoTuner({ minThreads: 0, maxThreads: 2, minBatch: 1, maxBatch: 32 })).toThrow(/minThreads/);
    expect(() => new AutoTuner({ minThreads: 3, maxThreads: 2, minBatch: 1, maxBatch: 32 })).toThrow(/minThreads 3 > maxThreads 2/);
    expect(() => new AutoTuner({ minThreads: 1, maxThreads: 2, minBatch: 1, maxBatch: 1.5 })).toThrow(/maxBatch/);
    expect(() => new AutoTuner({ minThreads: 1, maxThreads: 2, minBatch: 1, maxBatch: 32, alpha: 0 })).toThrow(/alpha/);
  });

  test("finishes: next() null, report refused, progress lists every candidate and marks the chosen one", () => {
    const s = shapes(4)[1]!;
    const t = new AutoTuner({ minThreads: 1, maxThreads: 4, minBatch: 1, maxBatch: 32 });
    const rnd = prng(7);
    for (let c = t.next(); c; c = t.next()) t.report(c, Array.from({ length: SUB_WINDOWS }, () => s.rate(c!.threads, c!.batch) * (1 + 0.02 * (rnd() - 0.5))));
    expect(t.done).toBe(true);
    expect(t.next()).toBeNull();
    expect(() => t.report({ threads: 4, batch: 16 }, [1, 2])).toThrow(/finished/);
    const p = t.progress();
    expect(p.planned).toBe(p.evaluated);
    expect(p.evaluated).toBeLessThanOrEqual(MAX_WINDOWS);
    expect(p.tried.filter((x) => x.accepted).map((x) => x.candidate)).toEqual([t.best!.candidate]);
    expect(t.best!.candidate).toEqual({ threads: 4, batch: 32 });
  });

  test("one lucky window does not win: a candidate whose search window ran 6% high but is equal on fresh windows loses", () => {
    let kept = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = prng(seed);
      const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      const t = new AutoTuner({ minThreads: 1, maxThreads: 4, minBatch: 1, maxBatch: 32, start: { threads: 4, batch: 16 } });
      let lucky = true;
      for (let c = t.next(); c; c = t.next()) {
        const boost = c.threads === 3 && c.batch === 16 && lucky ? 1.06 : 1;
        if (boost > 1) lucky = false;
        t.report(c, Array.from({ length: SUB_WINDOWS }, () => 4000 * boost * (1 + 0.03 * gauss())));
      }
      if (t.best!.candidate.threads === 4 && t.best!.candidate.batch === 16) kept++;
    }
    expect(kept).toBeGreaterThanOrEqual(48);
  });
});

function sweep(s: RigShape, start?: { threads: number; batch: number }) {
  let ok = 0;
  let moved = 0;
  let maxEval = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSession(s, seed, { start });
    if (r.ratio >= 0.98) ok++;
    const st = start ?? { threads: s.maxThreads, batch: 16 };
    if (r.chosen.threads !== st.threads || r.chosen.batch !== st.batch) moved++;
    maxEval = Math.max(maxEval, r.evaluations);
  }
  return { success: ok / SEEDS, moved: moved / SEEDS, maxEval };
}

describe("auto-tuner on simulated rigs (200 seeds each)", () => {
  for (const n of [8, 2]) {
    for (const s of shapes(n)) {
      test(`${s.name}, threads 1..${n} × batch 1..32: within 2% of the best in ≥ 95% of runs, ≤ ${MAX_WINDOWS} windows`, () => {
        const r = sweep(s);
        expect(r.success).toBeGreaterThanOrEqual(0.95);
        expect(r.maxEval).toBeLessThanOrEqual(MAX_WINDOWS);
      });
    }
    test(`from a bad remembered start (1 thread, batch 4), threads 1..${n}: still within 2% in ≥ 95%`, () => {
      for (const s of shapes(n)) expect(sweep(s, { threads: 1, batch: 4 }).success).toBeGreaterThanOrEqual(0.95);
    });
    test(`flat rig (every candidate equal), threads 1..${n}: moves away from the start in < 5% of runs`, () => {
      const r = sweep(flatRig(n));
      expect(r.moved).toBeLessThan(0.05);
      expect(r.maxEval).toBeLessThanOrEqual(MAX_WINDOWS);
    });
  }

  test("a wide range (threads 1..64, zooming grid) stays within the window budget and within 2% in ≥ 95%", () => {
    for (const s of shapes(64)) {
      const r = sweep(s);
      expect(r.maxEval).toBeLessThanOrEqual(MAX_WINDOWS);
      expect(r.success).toBeGreaterThanOrEqual(0.95);
    }
  });
});

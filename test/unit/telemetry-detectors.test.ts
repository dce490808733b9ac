// The change detectors on constructed series: noise only (a 5 s moving average, autocorrelated like the hashrate
// the sampler reads), a step, a ramp, slow drift. Ours must stay quiet where the textbook CUSUM alarms.
import { describe, expect, test } from "bun:test";
import { BlockCusum, PageHinkley, TextbookCusum } from "../../src/telemetry";

function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** 1 Hz samples of a 5 s window: the mean of the last five per-second rates (level × (1 + 2% noise)). */
function windowed(n: number, level: (i: number) => number, seed = 1): number[] {
  const g = gaussian(seed);
  const sec: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    sec.push(level(i) * (1 + 0.02 * g()));
    if (sec.length > 5) sec.shift();
    out.push(sec.reduce((a, b) => a + b, 0) / sec.length);
  }
  return out;
}

function alarms(d: { push(x: number): { alarm: boolean } }, xs: number[]): number[] {
  const at: number[] = [];
  xs.forEach((x, i) => d.push(x).alarm && at.push(i));
  return at;
}

describe("change detectors", () => {
  test("noise only: six hours of autocorrelated 1 Hz samples give ours no alarm, the textbook CUSUM many", () => {
    const xs = windowed(6 * 3600, () => 1e6);
    expect(alarms(new BlockCusum(), xs)).toEqual([]);
    expect(alarms(new TextbookCusum(5, 0.5), xs).length).toBeGreaterThan(20);
  });

  test("a step: a 10% drop is flagged within 30 samples with its size, and not before it", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const d = new BlockCusum();
      const xs = windowed(1200, (i) => (i < 900 ? 1e6 : 0.9e6), seed);
      let first: { i: number; change: number } | null = null;
      xs.forEach((x, i) => {
        const r = d.push(x);
        if (r.alarm && !first) first = { i, change: r.change };
      });
      expect(first).not.toBeNull();
      expect(first!.i).toBeGreaterThanOrEqual(900);
      expect(first!.i).toBeLessThan(930);
      expect(first!.change).toBeLessThan(-0.05);
      expect(first!.change).toBeGreaterThan(-0.15);
    }
  });

  test("a ramp: a rise of 20% over 200 s is flagged as a rise; a drift of 1% an hour is followed without an alarm", () => {
    const d = new BlockCusum();
    const ramp = windowed(1200, (i) => 1e6 * (1 + 0.2 * Math.min(1, Math.max(0, i - 600) / 200)));
    const hits: number[] = [];
    ramp.forEach((x, i) => {
      const r = d.push(x);
      if (r.alarm) hits.push(r.change), expect(i).toBeGreaterThan(600);
    });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!).toBeGreaterThan(0);
    const slow = windowed(3 * 3600, (i) => 1e6 * (1 + (0.01 * i) / 3600), 9);
    expect(alarms(new BlockCusum(), slow)).toEqual([]);
  });

  test("no test while warming up; after an alarm the new level is learnt; reset forgets", () => {
    const d = new BlockCusum({ block: 5, warmup: 12 });
    for (let i = 0; i < 59; i++) expect(d.push(i % 2 ? 1 : 1000).alarm).toBe(false);
    expect(d.level).toBeNull();
    d.push(500);
    expect(d.level).not.toBeNull();
    const e = new BlockCusum();
    const xs = windowed(3000, (i) => (i < 900 ? 1e6 : 0.8e6), 3);
    expect(alarms(e, xs)).toHaveLength(1); // one alarm for one step, then quiet at the new level
    expect(Math.abs(e.level! / 0.8e6 - 1)).toBeLessThan(0.02);
    e.reset();
    expect(e.level).toBeNull();
  });

  test("the baselines see a large step in iid noise (Page–Hinkley and textbook CUSUM work as specified)", () => {
    const g = gaussian(11);
    const xs = Array.from({ length: 400 }, (_, i) => (i < 200 ? 0 : 3) + g());
    const ph = alarms(new PageHinkley(0.1, 50), xs);
    expect(ph.length).toBeGreaterThan(0);
    expect(ph[0]!).toBeGreaterThan(200);
    const tc = alarms(new TextbookCusum(5, 0.5), xs);
    expect(tc.some((i) => i >= 200 && i < 210)).toBe(true);
  });
});

// The bit encoder on constructed series: a step, a ramp, noise only; nulls skipped; the window bounded.
import { describe, expect, test } from "bun:test";
import { BitEncoder, pattern } from "../../src/telemetry";

function noise(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
}

describe("bit encoder", () => {
  test("a step: the jump is up, accelerating, out of range and above the mean; the plateau after it is none of up/accel/range", () => {
    const e = new BitEncoder(10);
    expect(e.push("x", 10)).toBeNull(); // nothing to compare with yet
    for (let i = 0; i < 9; i++) expect(e.push("x", 10)).toEqual({ up: false, accel: false, range: false, zpos: false });
    expect(e.push("x", 20)).toEqual({ up: true, accel: true, range: true, zpos: true });
    expect(e.push("x", 20)).toEqual({ up: false, accel: false, range: false, zpos: true });
    // a step down below everything seen is out of range and below the mean
    expect(e.push("x", 5)).toEqual({ up: false, accel: false, range: true, zpos: false });
  });

  test("a ramp: always up, never accelerating (constant rise), always a new maximum, above the mean", () => {
    const e = new BitEncoder(5);
    e.push("r", 0);
    e.push("r", 1);
    for (let i = 2; i < 50; i++) expect(e.push("r", i)).toEqual({ up: true, accel: false, range: true, zpos: true });
    // an accelerating ramp sets accel
    const q = new BitEncoder(5);
    [0, 1, 4, 9].forEach((x) => q.push("q", x));
    expect(q.push("q", 16)!.accel).toBe(true);
  });

  test("noise only: up about half the time, out of range rarely once the window is full", () => {
    const e = new BitEncoder(30);
    const r = noise(42);
    let up = 0, range = 0, zpos = 0;
    const n = 5000;
    e.push("n", 100);
    for (let i = 0; i < 30; i++) e.push("n", 100 + r());
    for (let i = 0; i < n; i++) {
      const b = e.push("n", 100 + r())!;
      up += +b.up;
      range += +b.range;
      zpos += +b.zpos;
    }
    expect(up / n).toBeGreaterThan(0.4);
    expect(up / n).toBeLessThan(0.6);
    expect(zpos / n).toBeGreaterThan(0.4);
    expect(zpos / n).toBeLessThan(0.6);
    // a fresh extreme among 31 exchangeable values: about 2/31
    expect(range / n).toBeLessThan(0.12);
    expect(range / n).toBeGreaterThan(0.02);
  });

  test("nulls and non-finite readings are skipped, features are separate, rings hold the window", () => {
    const e = new BitEncoder(4);
    e.push("a", 1);
    expect(e.push("a", null)).toBeNull();
    expect(e.push("a", Number.NaN)).toBeNull();
    expect(e.push("a", 2)!.up).toBe(true);
    expect(e.push("b", 7)).toBeNull();
    for (let i = 3; i <= 8; i++) e.push("a", i);
    expect(e.values("a")).toEqual([5, 6, 7, 8]);
    expect(e.patterns("a")).toHaveLength(4);
    expect(e.values("b")).toEqual([7]);
    expect(pattern({ up: true, accel: false, range: true, zpos: true })).toBe(11);
    e.reset("a");
    expect(e.values("a")).toEqual([]);
    expect(() => new BitEncoder(2)).toThrow("window");
  });
});

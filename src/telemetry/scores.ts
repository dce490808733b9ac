// The scores: stability and pattern entropy of a feature over its window, the health of each KPI on a scale the
// thresholds set, and the one score and class they combine into. Pure functions; the Telemetry class feeds them.
import type { Kpis, RuptureClass } from "./types";
import type { Thresholds } from "./thresholds";

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * 1 − CV / cvMax, clamped to 0..1: 1 for a flat series, 0 when the spread reaches cvMax of the level. A level of 0
 * (a reject ratio with no rejects) is steady when the spread is 0 too. Null with fewer than 3 readings.
 */
export function stability(values: number[], cvMax: number): number | null {
  const n = values.length;
  if (n < 3) return null;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  if (sd === 0) return 1;
  const level = Math.abs(mean);
  if (level === 0) return 0;
  return clamp01(1 - sd / level / cvMax);
}

/**
 * Shannon entropy of the 4-bit patterns, normalised to 0..1 by the most the window could show (log2 of
 * min(16, n)): noise visits many patterns (near 1), a step or a ramp repeats a few (near 0). Null under 2 patterns.
 */
export function entropy(patterns: number[]): number | null {
  const n = patterns.length;
  if (n < 2) return null;
  const counts = new Array<number>(16).fill(0);
  for (const p of patterns) counts[p & 15]!++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log2(c / n);
  return clamp01(h / Math.log2(Math.min(16, n)));
}

/** Change-points per sample over the recent samples (alarm times in ms, the window's sample count). */
export function hazard(alarms: number, samples: number): number {
  return samples > 0 ? clamp01(alarms / samples) : 0;
}

/**
 * Health 0..1 for a badness measured against (minor, major, critical) limits: 1 at no badness, the score's
 * minor/major/critical marks at the limits, linear between, 0 at twice the critical limit.
 */
export function health(bad: number, limits: [number, number, number], marks: Thresholds["score"]): number {
  if (!(bad > 0)) return 1;
  const [a, b, c] = limits;
  const pts: [number, number][] = [[0, 1], [a, marks.minor], [b, marks.major], [c, marks.critical], [2 * c, 0]];
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1]!;
    const [x1, y1] = pts[i]!;
    if (bad <= x1) return x1 === x0 ? y1 : y0 + ((bad - x0) / (x1 - x0)) * (y1 - y0);
  }
  return 0;
}

/**
 * The slowest mining thread's share of the threads' mean rate (1: even; 0: a thread stopped) and its index; null with
 * fewer than 2 threads or none hashing. One thread whose CPU is shared falls toward 0.5 while the total moves 1/N of that.
 */
export function threadBalance(perThread: readonly number[]): { value: number; slowest: number } | null {
  if (perThread.length < 2) return null;
  let sum = 0;
  let slowest = 0;
  for (let i = 0; i < perThread.length; i++) {
    sum += perThread[i]!;
    if (perThread[i]! < perThread[slowest]!) slowest = i;
  }
  const mean = sum / perThread.length;
  return mean > 0 ? { value: perThread[slowest]! / mean, slowest } : null;
}

export function classOf(score: number, marks: Thresholds["score"]): RuptureClass {
  if (score <= marks.critical) return "critical";
  if (score <= marks.major) return "major";
  if (score <= marks.minor) return "minor";
  return "none";
}

export interface Evidence {
  kpis: Kpis;
  /** The hashrate's relative change at its latest alarm within the hold time (negative: a drop), or null. */
  hashrateChange: number | null;
  /** Features that raised an alarm within the hold time. */
  alarmed: string[];
  paused: boolean;
}

/** The one score (the worst component's health) and its class, with the reasons behind it. */
export function combine(e: Evidence, t: Thresholds): { score: number; class: RuptureClass; reasons: string[] } {
  const parts: { health: number; why: string }[] = [];
  const m = t.score;
  if (!e.paused && e.hashrateChange !== null && e.hashrateChange < 0) {
    const drop = -e.hashrateChange;
    parts.push({ health: health(drop, [t.hashrate.minorDrop, t.hashrate.majorDrop, t.hashrate.criticalDrop], m), why: `hashrate fell ${(drop * 100).toFixed(1)}%` });
  }
  const k = e.kpis;
  if (k.rejectRatio !== null && (k.rejectCount ?? Infinity) >= t.rejects.minCount) parts.push({ health: health(k.rejectRatio, [t.rejects.minor, t.rejects.major, t.rejects.critical], m), why: `reject ratio ${(k.rejectRatio * 100).toFixed(1)}%` });
  if (k.thermalHeadroomC !== null) {
    // Badness grows as the headroom shrinks: 0 at the minor headroom, then the same marks at each headroom limit.
    const th = t.thermal;
    const bad = th.minorHeadroomC - k.thermalHeadroomC;
    const lim: [number, number, number] = [1e-9, th.minorHeadroomC - th.majorHeadroomC, th.minorHeadroomC - th.criticalHeadroomC];
    parts.push({ health: bad <= 0 ? 1 : health(bad, lim, m), why: `thermal headroom ${k.thermalHeadroomC.toFixed(1)} °C` });
  }
  if (k.latencyBudget !== null) parts.push({ health: k.latencyBudget >= 0.25 ? 1 : k.latencyBudget > 0 ? m.minor : m.major, why: `latency budget ${(k.latencyBudget * 100).toFixed(0)}% left` });
  // A change-point in any feature is at least minor while it is held: something moved that the KPIs may not show yet.
  for (const f of e.alarmed) parts.push({ health: m.minor, why: `change-point in ${f}` });
  let score = 1;
  for (const p of parts) score = Math.min(score, p.health);
  const reasons = parts.filter((p) => p.health <= m.minor).sort((a, b) => a.health - b.health).map((p) => p.why);
  return { score, class: classOf(score, m), reasons };
}

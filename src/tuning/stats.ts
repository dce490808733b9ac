// The statistics the auto-tuner decides with: sample moments, Student's t tail and a one-sided Welch test.
// Pure functions; the incomplete beta is the continued fraction of Numerical Recipes (§6.4), exact to ~1e-12.

/** Arithmetic mean; NaN for no samples. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Unbiased sample variance (n − 1); NaN below two samples. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s / (xs.length - 1);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only on this side of the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a;
  return 1 - (front * betaFraction(1 - x, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return h;
}

/** P(T > t) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function studentTUpper(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? tail : 1 - tail;
}

export interface WelchResult {
  /** mean(x) − mean(y). */
  diff: number;
  t: number;
  df: number;
  /** One-sided p-value for H1: mean(x) − mean(y) > delta. */
  p: number;
}

/**
 * One-sided Welch t-test: is mean(x) greater than mean(y) + delta? Unequal variances allowed. Fewer than two samples
 * on a side cannot show anything (p = 1); two constant samples decide by their means alone.
 */
export function welchGreater(x: readonly number[], y: readonly number[], delta = 0): WelchResult {
  const diff = mean(x) - mean(y);
  if (x.length < 2 || y.length < 2) return { diff, t: NaN, df: NaN, p: 1 };
  const vx = variance(x) / x.length;
  const vy = variance(y) / y.length;
  const se2 = vx + vy;
  if (se2 === 0) return { diff, t: diff > delta ? Infinity : -Infinity, df: x.length + y.length - 2, p: diff > delta ? 0 : 1 };
  const t = (diff - delta) / Math.sqrt(se2);
  const df = (se2 * se2) / ((vx * vx) / (x.length - 1) + (vy * vy) / (y.length - 1));
  return { diff, t, df, p: studentTUpper(t, df) };
}

/**
 * welchGreater on samples grouped by window. Sub-windows of one window share its drift (a background job that ran
 * that minute), so their spread can understate the noise between windows: each side's variance of the mean is the
 * larger of the sub-window estimate and, with two windows or more, the estimate from the window means. Degrees of
 * freedom stay the sub-windows' (the window count's, 1–5, would make the test too weak to ever move).
 */
export function welchGreaterWindows(x: readonly number[][], y: readonly number[][], delta = 0): WelchResult {
  const side = (ws: readonly number[][]) => {
    const all = ws.flat();
    let v = variance(all) / all.length;
    const df = all.length - 1;
    if (ws.length >= 2) {
      const vw = variance(ws.map((w) => mean(w))) / ws.length;
      if (vw > v) v = vw;
    }
    return { m: mean(all), n: all.length, v, df };
  };
  const a = side(x);
  const b = side(y);
  const diff = a.m - b.m;
  if (a.n < 2 || b.n < 2) return { diff, t: NaN, df: NaN, p: 1 };
  const se2 = a.v + b.v;
  if (se2 === 0) return { diff, t: diff > delta ? Infinity : -Infinity, df: a.n + b.n - 2, p: diff > delta ? 0 : 1 };
  const t = (diff - delta) / Math.sqrt(se2);
  const df = (se2 * se2) / ((a.v * a.v) / a.df + (b.v * b.v) / b.df);
  return { diff, t, df, p: studentTUpper(t, df) };
}

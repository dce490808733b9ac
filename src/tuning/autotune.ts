// The auto-tuner: a search over threads × batch (units) that asks for one evaluation window at a time and decides
// from the window's sub-window rates. Threads are searched first at the starting batch (all values when the range is
// small, a zooming grid otherwise), then batch over log-spaced values refined between the best one's neighbours, then
// threads ±1 at the new batch. Near ties are measured again. The search's winner then has to beat the incumbent (the
// start) on FRESH windows only — the search's own numbers are biased towards whichever candidate got lucky — by a
// one-sided Welch test with a minimum gain (the incumbent's earlier windows count, the winner's do not), over 3..5
// paired rounds as the budget allows at alpha / rounds each, stopping early once the winner is not ahead. The test's
// variance is never below what the window means show, so a drift shared by one window's sub-windows is not a win.
import { RignodeError } from "../core";
import { mean, welchGreater, welchGreaterWindows } from "./stats";

export interface Candidate {
  threads: number;
  /** Batch units (1 unit = defaultBatch(algo)/16 nonces). */
  batch: number;
}

export interface AutoTuneOptions {
  minThreads: number;
  maxThreads: number;
  minBatch: number;
  maxBatch: number;
  start?: Candidate;
  /** One-sided significance level of the final challenge (default 0.05). */
  alpha?: number;
  /** Relative gain the winner must show over the incumbent (default 0.005 = 0.5%). */
  minGain?: number;
}

/** Evaluation windows one search may use (with 60 s windows: 30 minutes). */
export const MAX_WINDOWS = 30;
/** Paired incumbent/winner rounds of the final challenge that the search always leaves budget for. */
export const CONFIRM_ROUNDS = 3;
/** Rounds the challenge may take when the search left the budget for them. */
export const MAX_ROUNDS = 5;
/** A threads range up to this size is measured whole; larger ones by a zooming grid. */
const SCAN_ALL = 12;
const GRID = 8;
const ZOOM = 4;

type Search<T> = Generator<Candidate, T, number[]>;

interface Cell {
  c: Candidate;
  rates: number[];
  /** The same rates, one array per window. */
  windows: number[][];
}

const keyOf = (c: Candidate) => `${c.threads}x${c.batch}`;

/** Drives one tuning session: call next(), run the engine at that candidate for a window, report() the sub-window rates. */
export class AutoTuner {
  private readonly o: Required<Omit<AutoTuneOptions, "start">>;
  private readonly start: Candidate;
  private readonly cells = new Map<string, Cell>();
  private readonly gen: Search<Candidate>;
  private pending: Candidate | null = null;
  private evaluated = 0;
  private chosen: Candidate | null = null;
  private readonly estimate: number;

  constructor(o: AutoTuneOptions) {
    const int = (name: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new RignodeError("config", `auto-tune ${name} must be an integer >= 1, got ${String(v)}`);
    };
    int("minThreads", o.minThreads);
    int("maxThreads", o.maxThreads);
    int("minBatch", o.minBatch);
    int("maxBatch", o.maxBatch);
    if (o.minThreads > o.maxThreads) throw new RignodeError("config", `auto-tune minThreads ${o.minThreads} > maxThreads ${o.maxThreads}`);
    if (o.minBatch > o.maxBatch) throw new RignodeError("config", `auto-tune minBatch ${o.minBatch} > maxBatch ${o.maxBatch}`);
    const alpha = o.alpha ?? 0.05;
    const minGain = o.minGain ?? 0.005;
    if (!(alpha > 0 && alpha <= 0.5)) throw new RignodeError("config", `auto-tune alpha must be in (0, 0.5], got ${alpha}`);
    if (!(minGain >= 0 && minGain < 1)) throw new RignodeError("config", `auto-tune minGain must be in [0, 1), got ${minGain}`);
    this.o = { minThreads: o.minThreads, maxThreads: o.maxThreads, minBatch: o.minBatch, maxBatch: o.maxBatch, alpha, minGain };
    // A remembered start from another range (fewer CPUs allowed now) is moved into this one.
    const s = o.start ?? { threads: o.maxThreads, batch: 16 };
    this.start = { threads: clamp(Math.round(s.threads), o.minThreads, o.maxThreads), batch: clamp(Math.round(s.batch), o.minBatch, o.maxBatch) };
    const tn = o.maxThreads - o.minThreads + 1;
    this.estimate = Math.min(MAX_WINDOWS, (tn <= SCAN_ALL ? tn : GRID + 2 * ZOOM) + this.batchGrid().length + 2 + 2 + 2);
    this.gen = this.search();
    this.advance(undefined);
  }

  /** The candidate to measure now; null once the search has converged. */
  next(): Candidate | null {
    return this.pending ? { ...this.pending } : null;
  }

  /** The sub-window rates (H/s) of one window run at `c`, which must be the candidate next() gave. */
  report(c: Candidate, rates: number[]): void {
    if (!this.pending) throw new RignodeError("input", "auto-tune report after the search finished");
    if (c.threads !== this.pending.threads || c.batch !== this.pending.batch)
      throw new RignodeError("input", `auto-tune report for ${keyOf(c)} but the window asked for ${keyOf(this.pending)}`);
    if (rates.length === 0 || rates.some((r) => typeof r !== "number" || !Number.isFinite(r) || r < 0))
      throw new RignodeError("input", `auto-tune rates must be finite H/s >= 0, one per sub-window (got ${rates.length})`);
    this.evaluated++;
    this.advance([...rates]);
  }

  get done(): boolean {
    return this.pending === null;
  }

  /** The configuration to run: the incumbent until the search ends, then its choice. */
  get best(): { candidate: Candidate; mean: number; samples: number } | null {
    const c = this.chosen ?? this.start;
    const cell = this.cells.get(keyOf(c));
    return cell ? { candidate: { ...c }, mean: mean(cell.rates), samples: cell.rates.length } : null;
  }

  progress(): { evaluated: number; planned: number; tried: { candidate: Candidate; mean: number; accepted: boolean }[] } {
    const bestKey = keyOf(this.chosen ?? this.start);
    return {
      evaluated: this.evaluated,
      planned: this.done ? this.evaluated : Math.max(this.estimate, this.evaluated + 1),
      tried: [...this.cells.entries()].map(([k, cell]) => ({ candidate: { ...cell.c }, mean: mean(cell.rates), accepted: k === bestKey })),
    };
  }

  private advance(rates: number[] | undefined): void {
    const r = rates === undefined ? this.gen.next() : this.gen.next(rates);
    if (r.done) {
      this.chosen = r.value;
      this.pending = null;
    } else this.pending = r.value;
  }

  private left(): number {
    return MAX_WINDOWS - this.evaluated;
  }

  private *measure(c: Candidate): Search<number[]> {
    const rates = yield c;
    const k = keyOf(c);
    const cell = this.cells.get(k) ?? { c: { ...c }, rates: [], windows: [] };
    cell.rates.push(...rates);
    cell.windows.push(rates);
    this.cells.set(k, cell);
    return rates;
  }

  private rates(c: Candidate): number[] {
    return this.cells.get(keyOf(c))?.rates ?? [];
  }

  private *ensure(cs: Candidate[]): Search<void> {
    for (const c of cs) if (!this.cells.has(keyOf(c)) && this.left() > 2 * CONFIRM_ROUNDS) yield* this.measure(c);
  }

  /** The best measured candidate of `cs` by pooled mean; a near tie with the runner-up is measured once more. */
  private *pick(cs: Candidate[]): Search<Candidate> {
    const byMean = () =>
      cs.filter((c) => this.cells.has(keyOf(c))).sort((a, b) => mean(this.rates(b)) - mean(this.rates(a)));
    const [a, b] = byMean();
    if (!a) return this.start;
    if (b && this.left() >= 2 + 2 * CONFIRM_ROUNDS) {
      const ra = this.rates(a);
      const rb = this.rates(b);
      if (welchGreater(ra, rb).p >= this.o.alpha) {
        yield* this.measure(a);
        yield* this.measure(b);
      }
    }
    return byMean()[0]!;
  }

  private *search(): Search<Candidate> {
    const inc = this.start;
    yield* this.measure(inc);
    const { minThreads, maxThreads } = this.o;
    // 1. threads at the starting batch
    const atBatch = (b: number) => (t: number) => ({ threads: t, batch: b });
    let best = yield* this.threadsLine(minThreads, maxThreads, atBatch(inc.batch));
    // 2. batch at those threads: log-spaced, then the geometric midpoints around the best
    const atThreads = (t: number) => (b: number) => ({ threads: t, batch: b });
    const grid = this.batchGrid();
    yield* this.ensure(grid.map(atThreads(best.threads)));
    best = yield* this.pick(grid.map(atThreads(best.threads)));
    const i = grid.indexOf(best.batch);
    const mids = [grid[i - 1], grid[i + 1]].filter((g): g is number => g !== undefined).map((g) => Math.round(Math.sqrt(g * best.batch)));
    const line = [...new Set([...grid, ...mids])].map(atThreads(best.threads));
    yield* this.ensure(mids.map(atThreads(best.threads)));
    best = yield* this.pick(line);
    // 3. threads ±1 at the new batch (batch and threads interact on memory-bound kernels)
    if (best.batch !== inc.batch) {
      const near = [best.threads - 1, best.threads, best.threads + 1].filter((t) => t >= minThreads && t <= maxThreads).map(atBatch(best.batch));
      yield* this.ensure(near);
      best = yield* this.pick(near);
    }
    if (keyOf(best) === keyOf(inc)) return inc;
    return yield* this.challenge(inc, best);
  }

  /** Threads from lo to hi at one batch: every value when few, else a grid that zooms in on its best point. */
  private *threadsLine(lo: number, hi: number, make: (t: number) => Candidate): Search<Candidate> {
    const measured = new Set<number>();
    const visit = function* (this: AutoTuner, ts: number[]): Search<void> {
      for (const t of ts) measured.add(t);
      yield* this.ensure(ts.map(make));
    }.bind(this);
    if (hi - lo + 1 <= SCAN_ALL) yield* visit(range(lo, hi));
    else {
      yield* visit(spread(lo, hi, GRID));
      for (;;) {
        const pts = [...measured].filter((t) => this.cells.has(keyOf(make(t)))).sort((a, b) => a - b);
        const bi = argmax(pts, (t) => mean(this.rates(make(t))));
        const l = pts[Math.max(0, bi - 1)]!;
        const r = pts[Math.min(pts.length - 1, bi + 1)]!;
        const inner = spread(l, r, ZOOM + 2).filter((t) => !measured.has(t));
        if (inner.length === 0 || this.left() <= 2 * CONFIRM_ROUNDS + 2) break;
        yield* visit(inner);
      }
    }
    return yield* this.pick([...measured].map(make));
  }

  /** The final challenge on fresh windows, incumbent and winner alternating (ABBA) so a slow drift hits both. */
  private *challenge(inc: Candidate, win: Candidate): Search<Candidate> {
    // The incumbent's search windows were not chosen for looking good (it was measured first), so they count;
    // the winner's do not.
    const fi: number[][] = [...(this.cells.get(keyOf(inc))?.windows ?? [])];
    const fw: number[][] = [];
    // As many paired rounds as the budget leaves (at least the reserved CONFIRM_ROUNDS, at most MAX_ROUNDS); the
    // level is split over them (Bonferroni), so peeking after every round keeps the false-win rate under alpha.
    const rounds = Math.min(MAX_ROUNDS, Math.floor(this.left() / 2));
    if (rounds < 1) return inc;
    for (let round = 0; round < rounds; round++) {
      const [first, second] = round % 2 === 0 ? [inc, win] : [win, inc];
      const a = yield* this.measure(first);
      const b = yield* this.measure(second);
      (first === inc ? fi : fw).push(a);
      (second === inc ? fi : fw).push(b);
      const margin = this.o.minGain * mean(fi.flat());
      const r = welchGreaterWindows(fw, fi, margin);
      if (r.p < this.o.alpha / rounds) return win;
      if (r.diff <= margin) return inc; // not ahead on fresh data: a lucky search window, not a better candidate
    }
    return inc;
  }

  /** Powers of two in [minBatch, maxBatch] plus both ends and the starting batch. */
  private batchGrid(): number[] {
    const { minBatch, maxBatch } = this.o;
    const g = new Set([minBatch, maxBatch, this.start.batch]);
    for (let b = 1; b <= maxBatch; b *= 2) if (b >= minBatch) g.add(b);
    return [...g].sort((a, b) => a - b);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Up to n integers spread evenly over [lo, hi], both ends included. */
function spread(lo: number, hi: number, n: number): number[] {
  if (hi - lo + 1 <= n) return range(lo, hi);
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round(lo + ((hi - lo) * i) / (n - 1))))];
}

function argmax<T>(xs: T[], f: (x: T) => number): number {
  let bi = 0;
  for (let i = 1; i < xs.length; i++) if (f(xs[i]!) > f(xs[bi]!)) bi = i;
  return bi;
}

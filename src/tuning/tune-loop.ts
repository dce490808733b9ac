import type { Logger } from "../core";
import { AutoTuner, type Candidate } from "./autotune";
import { welchGreater } from "./stats";

export interface TuneSettings {
  minThreads: number;
  maxThreads: number;
  /** Units. */
  minBatch: number;
  maxBatch: number;
  windowS: number;
  reevalS: number;
  /** Sub-windows per evaluation window: the samples the statistical test compares (default 12). */
  subWindows?: number;
  /** Significance for a win and for a rollback (default 0.05). */
  alpha?: number;
}

export interface TuneLoopOptions {
  settings: TuneSettings;
  start: Candidate;
  fixed: { threads: boolean; batch: boolean };
  maxThreads: number;
  /** Cumulative hashes of the engine. */
  hashes: () => number;
  /** One evaluation window's mean rate, for the performance memory. */
  record: (c: Candidate, rate: number) => void;
  now: () => number;
  log?: Logger;
}

type Phase = "evaluating" | "confirming" | "settled";

export interface TuneView {
  phase: Phase;
  suspended: boolean;
  candidate: Candidate;
  round: number;
  window_s: number;
  sub_windows_done: number;
  sub_windows: number;
  evaluated: number;
  planned: number;
  best: { candidate: Candidate; mean: number; samples: number } | null;
  tried: { candidate: Candidate; mean: number; accepted: boolean }[];
  rollbacks: number;
  next_round_in_s: number | null;
}

const key = (c: Candidate) => `${c.threads}/${c.batch}`;

/**
 * The auto-tuner running on the live engine: evaluates candidates window by window (each window cut into sub-windows
 * whose rates the Welch test compares), applies the winner, confirms it over one more window and rolls back to the
 * configuration it replaced when the confirmation is significantly worse; then waits reevalS and starts a new round
 * from where it stands. A window during which a governor constrained the engine is thrown away, not counted.
 */
export class TuneLoop {
  private phase: Phase = "evaluating";
  private tuner: AutoTuner;
  private cand: Candidate;
  /** The configuration in force before this round (what a rollback returns to). */
  private before: Candidate;
  private rates: number[] = [];
  private readonly seen = new Map<string, number[]>();
  private lastT: number | null = null;
  private lastH = 0;
  private skip = true;
  private constrained = false;
  private round = 1;
  private rollbacks = 0;
  private reevalAt: number | null = null;
  private readonly sub: number;

  constructor(private readonly o: TuneLoopOptions) {
    this.sub = o.settings.subWindows ?? 12;
    this.before = o.start;
    this.tuner = this.newTuner(o.start);
    this.cand = this.tuner.next() ?? o.start;
    o.log?.info("tune.round_started", { round: 1, start: key(o.start), window_s: o.settings.windowS });
  }

  private newTuner(start: Candidate): AutoTuner {
    const s = this.o.settings;
    const maxT = Math.max(1, Math.min(s.maxThreads, this.o.maxThreads));
    const minT = Math.min(s.minThreads, maxT);
    return new AutoTuner({
      minThreads: this.o.fixed.threads ? start.threads : minT,
      maxThreads: this.o.fixed.threads ? start.threads : maxT,
      minBatch: this.o.fixed.batch ? start.batch : s.minBatch,
      maxBatch: this.o.fixed.batch ? start.batch : s.maxBatch,
      start: { threads: Math.min(Math.max(start.threads, minT), maxT), batch: start.batch },
      alpha: s.alpha,
    });
  }

  /** The configuration the engine should run now. */
  wanted(): Candidate {
    return this.cand;
  }

  /** A governor is capping or pausing the engine: measurements stop (the window in progress is dropped). */
  setConstrained(on: boolean): void {
    if (on && !this.constrained) this.o.log?.info("tune.suspended", { candidate: key(this.cand), note: "a thermal or power constraint is active" });
    if (!on && this.constrained) this.o.log?.info("tune.resumed", { candidate: key(this.cand) });
    if (on) this.rates = [];
    if (on !== this.constrained) this.skip = true;
    this.constrained = on;
  }

  /** Called every windowS/subWindows seconds. */
  sample(): void {
    const t = this.o.now();
    const h = this.o.hashes();
    const prevT = this.lastT;
    const rate = prevT === null || t <= prevT ? null : ((h - this.lastH) * 1000) / (t - prevT);
    this.lastT = t;
    this.lastH = h;
    if (this.phase === "settled") {
      if (this.reevalAt !== null && t >= this.reevalAt) this.startRound();
      return;
    }
    if (rate === null || this.constrained) return;
    // The first sub-window after a change straddles it (Workers starting, batches of the old size in flight).
    if (this.skip) {
      this.skip = false;
      return;
    }
    this.rates.push(rate);
    if (this.rates.length >= this.sub) this.windowDone();
  }

  private windowDone(): void {
    const rates = this.rates;
    this.rates = [];
    const mean = avg(rates);
    this.o.record(this.cand, mean);
    const k = key(this.cand);
    this.seen.set(k, [...(this.seen.get(k) ?? []), ...rates]);
    if (this.phase === "evaluating") {
      this.tuner.report(this.cand, rates);
      this.o.log?.info("tune.evaluated", { candidate: k, hashrate_hs: Math.round(mean), evaluated: this.tuner.progress().evaluated });
      const next = this.tuner.next();
      if (next) return this.move(next);
      const best = this.tuner.best?.candidate ?? this.before;
      this.o.log?.info("tune.chosen", { candidate: key(best), hashrate_hs: Math.round(this.tuner.best?.mean ?? mean), before: key(this.before), round: this.round });
      this.move(best); // the last candidate measured is rarely the winner: back to it (or to the incumbent)
      if (key(best) === key(this.before)) return this.settle();
      this.phase = "confirming";
      return; // the next window, of the winner alone, is the confirmation
    }
    // confirming: the winner over one more window against what it replaced.
    const prev = this.seen.get(key(this.before));
    const alpha = this.o.settings.alpha ?? 0.05;
    if (prev && prev.length >= 2 && welchGreater(prev, rates).p < alpha) {
      this.rollbacks++;
      this.o.log?.warn("tune.rollback", { from: k, to: key(this.before), confirmed_hs: Math.round(mean), before_hs: Math.round(avg(prev)), note: "the winner measured worse than what it replaced" });
      this.move(this.before);
    } else this.o.log?.info("tune.confirmed", { candidate: k, hashrate_hs: Math.round(mean) });
    this.settle();
  }

  private move(c: Candidate): void {
    this.cand = c;
    this.rates = [];
    this.skip = true;
  }

  private settle(): void {
    this.phase = "settled";
    this.reevalAt = this.o.now() + this.o.settings.reevalS * 1000;
  }

  private startRound(): void {
    this.round++;
    this.before = this.cand;
    this.seen.clear();
    this.tuner = this.newTuner(this.cand);
    this.phase = "evaluating";
    this.reevalAt = null;
    this.move(this.tuner.next() ?? this.cand);
    this.o.log?.info("tune.round_started", { round: this.round, start: key(this.before), window_s: this.o.settings.windowS });
  }

  /** One line for log reasons: what the tuner is doing. */
  describe(): string {
    if (this.phase === "settled") return `tuned: ${key(this.cand)}`;
    const p = this.tuner.progress();
    return `${this.phase === "confirming" ? "confirming" : "tuning"} ${key(this.cand)} (${p.evaluated} of ~${p.planned})`;
  }

  view(): TuneView {
    const p = this.tuner.progress();
    return {
      phase: this.phase,
      suspended: this.constrained,
      candidate: this.cand,
      round: this.round,
      window_s: this.o.settings.windowS,
      sub_windows_done: this.rates.length,
      sub_windows: this.sub,
      evaluated: p.evaluated,
      planned: p.planned,
      best: this.tuner.best,
      tried: p.tried,
      rollbacks: this.rollbacks,
      next_round_in_s: this.reevalAt === null ? null : Math.max(0, Math.round((this.reevalAt - this.o.now()) / 1000)),
    };
  }
}

function avg(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

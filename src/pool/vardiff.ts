/** Variable difficulty settings: aim at one share every `targetSeconds` per worker. */
export interface VardiffOptions {
  targetSeconds: number;
  /** Seconds between adjustments (sooner when shares come far too fast). */
  retargetSeconds: number;
  minDifficulty: number;
  maxDifficulty: number;
}

export const DEFAULT_VARDIFF: VardiffOptions = { targetSeconds: 10, retargetSeconds: 30, minDifficulty: 2 ** -20, maxDifficulty: 2 ** 52 };

/** Most one adjustment may change the difficulty by (either way). */
const MAX_STEP = 4;

/**
 * Per-worker difficulty steering: counts shares since the last change and, once enough time has passed (or once
 * shares come many times too fast), moves the difficulty toward one share per target interval.
 */
export class Vardiff {
  private since: number;
  private shares = 0;

  constructor(
    public difficulty: number,
    private readonly o: VardiffOptions = DEFAULT_VARDIFF,
    now = Date.now() / 1000,
  ) {
    this.difficulty = roundDifficulty(clamp(difficulty, o.minDifficulty, o.maxDifficulty));
    this.since = now;
  }

  /** Records an accepted share at `now` (seconds); returns the new difficulty when it changed, else null. */
  onShare(now: number): number | null {
    this.shares++;
    return this.maybeRetarget(now);
  }

  /** Called periodically without shares too, so a worker that finds none is eased. */
  tick(now: number): number | null {
    return this.maybeRetarget(now);
  }

  private maybeRetarget(now: number): number | null {
    const elapsed = now - this.since;
    const tooFast = this.shares >= 8 && elapsed < (this.shares * this.o.targetSeconds) / (2 * MAX_STEP);
    // Enough shares for a fair estimate (8 give about ±35%), or a long wait, or far too many too soon.
    const due = (elapsed >= this.o.retargetSeconds && this.shares >= 8) || elapsed >= 4 * this.o.retargetSeconds;
    if (!due && !tooFast) return null;
    // Shares found per second at this difficulty, over what was observed; none at all counts as half a share.
    const rate = Math.max(this.shares, 0.5) / Math.max(elapsed, 1e-3);
    let next = this.difficulty * rate * this.o.targetSeconds;
    next = clamp(next, this.difficulty / MAX_STEP, this.difficulty * MAX_STEP);
    next = roundDifficulty(clamp(next, this.o.minDifficulty, this.o.maxDifficulty));
    // Rounding down must not make a step larger than MAX_STEP.
    const lo = this.difficulty / MAX_STEP;
    if (next < lo) next = clamp(lo >= 1 ? Math.ceil(lo) : lo, this.o.minDifficulty, this.o.maxDifficulty);
    this.since = now;
    this.shares = 0;
    if (next === this.difficulty) return null;
    this.difficulty = next;
    return next;
  }
}

/** Whole numbers for difficulties of 1 and more (what ASIC firmware expects), 3 significant digits below. */
export function roundDifficulty(d: number): number {
  if (d >= 1) return Math.floor(d);
  const p = 10 ** (2 - Math.floor(Math.log10(d)));
  return Math.round(d * p) / p;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

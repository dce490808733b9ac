// Change detectors on a 1 Hz series. Ours (BlockCusum) is calibrated for windowed counters: 1 Hz samples of a 5 s
// hashrate share 4 of their 5 seconds with the sample before, so a CUSUM on raw samples (the textbook one, kept here
// as the baseline with Page–Hinkley) sees the same noise five times and alarms every few minutes. Ours works on
// non-overlapping block means, scales them by a robust spread (median absolute block-to-block difference, which slow
// drift hardly moves) with a floor (changes smaller than the floor are not worth an alarm), and follows drift with a
// clipped running reference, so a step cannot drag the reference along before it is flagged.
import { Ring } from "./bits";

export interface BlockCusumOptions {
  /** Samples per block (5 at 1 Hz: one 5 s hashrate window per block). */
  block?: number;
  /** Slack and decision interval, in units of the block-mean spread. */
  k?: number;
  h?: number;
  /** Blocks that set the reference before the first test, and after an alarm. */
  warmup?: number;
  rewarm?: number;
  /** Reference follows the level at this rate per block, each step clipped to ±clip spreads. */
  alpha?: number;
  clip?: number;
  /** Each block's standardised deviation is clipped to ±zclip: one stalled block cannot carry an alarm alone. */
  zclip?: number;
  /** Block differences the spread is estimated from. */
  scaleWindow?: number;
  /** Spread floor: relative to the level, and absolute (units of the feature). */
  relFloor?: number;
  absFloor?: number;
}

export const BLOCK_CUSUM_DEFAULTS: Required<BlockCusumOptions> = {
  block: 5, k: 1, h: 6, warmup: 12, rewarm: 4, alpha: 0.05, clip: 1.5, zclip: 4, scaleWindow: 60, relFloor: 0.02, absFloor: 0,
};

export interface Detection {
  alarm: boolean;
  /** The CUSUM statistic (spreads); an alarm when it passes h. */
  stat: number;
}

export class BlockCusum {
  readonly o: Required<BlockCusumOptions>;
  private sum = 0;
  private n = 0;
  private warm: number[] = [];
  private warmNeeded: number;
  private diffs: Ring;
  private lastBlock: number | null = null;
  private ref: number | null = null;
  private up = 0;
  private down = 0;

  constructor(o: BlockCusumOptions = {}) {
    this.o = { ...BLOCK_CUSUM_DEFAULTS, ...o };
    this.diffs = new Ring(this.o.scaleWindow);
    this.warmNeeded = this.o.warmup;
  }

  /** The reference level (null while warming up). */
  get level(): number | null {
    return this.ref;
  }

  /** The spread of a block mean the statistic is measured in (robust estimate, floored). */
  get sigma(): number {
    const d = this.diffs.values().map(Math.abs).sort((a, b) => a - b);
    // The upper quartile of |difference| of two independent normals is 1.1503·√2·σ; the quartile rather than the
    // median because stalls give the block means heavier tails than a normal's, and it still ignores one step.
    const raw = d.length ? d[Math.floor(d.length * 0.75)]! / (1.1503 * Math.SQRT2) : 0;
    return Math.max(raw, this.o.relFloor * Math.abs(this.ref ?? 0), this.o.absFloor, 1e-12);
  }

  /** Feeds one sample; `change` is the relative level change on an alarm ((new − old) / |old|, 0 otherwise). */
  push(x: number): Detection & { change: number } {
    const stat = Math.max(this.up, this.down);
    if (!Number.isFinite(x)) return { alarm: false, stat, change: 0 };
    this.sum += x;
    if (++this.n < this.o.block) return { alarm: false, stat, change: 0 };
    const m = this.sum / this.n;
    this.sum = 0;
    this.n = 0;
    if (this.lastBlock !== null) this.diffs.push(m - this.lastBlock);
    this.lastBlock = m;
    if (this.ref === null) {
      this.warm.push(m);
      if (this.warm.length >= this.warmNeeded) {
        const s = [...this.warm].sort((a, b) => a - b);
        this.ref = s[s.length >> 1]!;
        this.warm = [];
      }
      return { alarm: false, stat: 0, change: 0 };
    }
    const sd = this.sigma;
    const z = Math.max(-this.o.zclip, Math.min(this.o.zclip, (m - this.ref) / sd));
    this.up = Math.max(0, this.up + z - this.o.k);
    this.down = Math.max(0, this.down - z - this.o.k);
    if (this.up > this.o.h || this.down > this.o.h) {
      const change = this.ref !== 0 ? (m - this.ref) / Math.abs(this.ref) : m;
      const s = Math.max(this.up, this.down);
      // The level moved: learn the new one (the spread estimate stays, the noise did not change with the level).
      this.ref = null;
      this.warmNeeded = this.o.rewarm;
      this.up = this.down = 0;
      return { alarm: true, stat: s, change };
    }
    this.ref += this.o.alpha * Math.max(-this.o.clip, Math.min(this.o.clip, z)) * sd;
    return { alarm: false, stat: Math.max(this.up, this.down), change: 0 };
  }

  reset(): void {
    this.sum = this.n = 0;
    this.warm = [];
    this.warmNeeded = this.o.warmup;
    this.diffs.clear();
    this.lastBlock = this.ref = null;
    this.up = this.down = 0;
  }
}

/** Mean and standard deviation learnt from the first `warmup` samples (the baselines' "known" in-control model). */
class WarmModel {
  private xs: number[] = [];
  mean = 0;
  sd = 1;
  ready = false;
  constructor(private readonly warmup: number) {}
  /** True once the model is set; the sample that completes it is not tested. */
  learn(x: number): boolean {
    if (this.ready) return true;
    this.xs.push(x);
    if (this.xs.length >= this.warmup) {
      this.mean = this.xs.reduce((a, b) => a + b, 0) / this.xs.length;
      const v = this.xs.reduce((a, b) => a + (b - this.mean) ** 2, 0) / (this.xs.length - 1);
      this.sd = Math.sqrt(v) || 1e-12;
      this.ready = true;
      this.xs = [];
    }
    return false;
  }
  clear(): void {
    this.xs = [];
    this.ready = false;
  }
}

/** Baseline: two-sided CUSUM on raw standardised samples (in-control ARL ≈ 465 for h = 5, k = 0.5, iid input). */
export class TextbookCusum {
  private model: WarmModel;
  private up = 0;
  private down = 0;
  constructor(readonly h = 5, readonly k = 0.5, warmup = 60) {
    this.model = new WarmModel(warmup);
  }
  push(x: number): Detection {
    if (!Number.isFinite(x) || !this.model.learn(x)) return { alarm: false, stat: 0 };
    const z = (x - this.model.mean) / this.model.sd;
    this.up = Math.max(0, this.up + z - this.k);
    this.down = Math.max(0, this.down - z - this.k);
    const stat = Math.max(this.up, this.down);
    if (stat > this.h) {
      this.reset();
      return { alarm: true, stat };
    }
    return { alarm: false, stat };
  }
  reset(): void {
    this.model.clear();
    this.up = this.down = 0;
  }
}

/** Baseline: two-sided Page–Hinkley on samples standardised by the warm-up spread (delta, lambda in spreads). */
export class PageHinkley {
  private model: WarmModel;
  private n = 0;
  private mean = 0;
  private mUp = 0;
  private minUp = 0;
  private mDown = 0;
  private minDown = 0;
  constructor(readonly delta = 0.1, readonly lambda = 50, warmup = 60) {
    this.model = new WarmModel(warmup);
  }
  push(x: number): Detection {
    if (!Number.isFinite(x) || !this.model.learn(x)) return { alarm: false, stat: 0 };
    const z = (x - this.model.mean) / this.model.sd;
    this.mean += (z - this.mean) / ++this.n;
    this.mUp += z - this.mean - this.delta;
    this.minUp = Math.min(this.minUp, this.mUp);
    this.mDown += this.mean - z - this.delta;
    this.minDown = Math.min(this.minDown, this.mDown);
    const stat = Math.max(this.mUp - this.minUp, this.mDown - this.minDown);
    if (stat > this.lambda) {
      this.reset();
      return { alarm: true, stat };
    }
    return { alarm: false, stat };
  }
  reset(): void {
    this.model.clear();
    this.n = 0;
    this.mean = this.mUp = this.minUp = this.mDown = this.minDown = 0;
  }
}

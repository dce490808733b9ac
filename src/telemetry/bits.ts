// The bit encoder: per feature, four structural bits over a short window of its previous values (up, accel, range,
// zpos), and the rings the scores read (values and 4-bit patterns). Null readings are skipped, not zero-filled:
// a sensor that cannot be read says nothing about the level.
import type { Bits } from "./types";

/** A fixed-size ring of numbers, oldest first when read. */
export class Ring {
  private buf: number[];
  private start = 0;
  private n = 0;
  constructor(readonly size: number) {
    this.buf = new Array<number>(size);
  }
  push(x: number): void {
    if (this.n < this.size) this.buf[(this.start + this.n++) % this.size] = x;
    else {
      this.buf[this.start] = x;
      this.start = (this.start + 1) % this.size;
    }
  }
  get length(): number {
    return this.n;
  }
  /** i-th from the newest (0 = newest). */
  back(i: number): number {
    return this.buf[(this.start + this.n - 1 - i + this.size) % this.size]!;
  }
  values(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.buf[(this.start + i) % this.size]!);
    return out;
  }
  clear(): void {
    this.start = 0;
    this.n = 0;
  }
}

/** The bits as one 4-bit pattern: up=8, accel=4, range=2, zpos=1. */
export function pattern(b: Bits): number {
  return (b.up ? 8 : 0) | (b.accel ? 4 : 0) | (b.range ? 2 : 0) | (b.zpos ? 1 : 0);
}

interface Track {
  values: Ring;
  patterns: Ring;
}

export class BitEncoder {
  private tracks = new Map<string, Track>();

  constructor(readonly window = 30) {
    if (!Number.isInteger(window) || window < 3) throw new RangeError(`bit encoder window must be an integer ≥ 3, got ${window}`);
  }

  /**
   * Encodes x against the feature's previous values and records it. Null (or a non-finite reading) is skipped and
   * gives null; so does the first reading of a feature, which has nothing to be compared with.
   */
  push(feature: string, x: number | null): Bits | null {
    if (x === null || !Number.isFinite(x)) return null;
    let tr = this.tracks.get(feature);
    if (!tr) this.tracks.set(feature, (tr = { values: new Ring(this.window), patterns: new Ring(this.window) }));
    const v = tr.values;
    if (v.length === 0) {
      v.push(x);
      return null;
    }
    const prev = v.back(0);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < v.length; i++) {
      const y = v.back(i);
      if (y < min) min = y;
      if (y > max) max = y;
      sum += y;
    }
    const bits: Bits = {
      up: x > prev,
      // The rise grew: the second difference is positive (needs two previous values).
      accel: v.length >= 2 && x - prev > prev - v.back(1),
      range: x > max || x < min,
      zpos: x > sum / v.length,
    };
    v.push(x);
    tr.patterns.push(pattern(bits));
    return bits;
  }

  /** The feature's last `window` readings, oldest first. */
  values(feature: string): number[] {
    return this.tracks.get(feature)?.values.values() ?? [];
  }

  /** The feature's last `window` 4-bit patterns, oldest first. */
  patterns(feature: string): number[] {
    return this.tracks.get(feature)?.patterns.values() ?? [];
  }

  reset(feature?: string): void {
    if (feature === undefined) this.tracks.clear();
    else this.tracks.delete(feature);
  }
}

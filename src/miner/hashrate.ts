/** Hashrate over sliding windows, from a cumulative hash counter sampled about once a second. */
export class HashrateMeter {
  private samples: { t: number; hashes: number }[] = [];

  constructor(private readonly horizonMs = 15 * 60_000 + 5_000) {}

  /** Records the cumulative count at time t (ms). */
  sample(t: number, hashes: number): void {
    this.samples.push({ t, hashes });
    const cutoff = t - this.horizonMs;
    let drop = 0;
    while (drop < this.samples.length - 2 && this.samples[drop + 1]!.t <= cutoff) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** Hashes per second over the last `windowMs` (or as much of it as has been sampled); 0 before two samples. */
  rate(windowMs: number): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    const last = this.samples[n - 1]!;
    let i = n - 2;
    while (i > 0 && last.t - this.samples[i]!.t < windowMs) i--;
    const first = this.samples[i]!;
    const dt = last.t - first.t;
    return dt > 0 ? ((last.hashes - first.hashes) * 1000) / dt : 0;
  }

  /** The three windows a rig operator reads: 10 s, 60 s and 15 min. */
  windows(): { "10s": number; "60s": number; "15m": number } {
    return { "10s": this.rate(10_000), "60s": this.rate(60_000), "15m": this.rate(15 * 60_000) };
  }
}

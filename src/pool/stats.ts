import { DIFF1 } from "./target";
import type { Algo } from "../core";

/** Share response latencies (ms) in a fixed ring: p50/p99 over the most recent samples, O(1) per share. */
export class LatencyRing {
  private readonly buf: Float64Array;
  private n = 0;
  private at = 0;

  constructor(size = 8192) {
    this.buf = new Float64Array(size);
  }

  add(ms: number): void {
    this.buf[this.at] = ms;
    this.at = (this.at + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }

  size(): number {
    return this.n;
  }

  /** p50 and p99 as Prometheus samples in seconds (none before the first sample). */
  secondsSamples(): { labels: { quantile: number }; value: number }[] {
    return [0.5, 0.99].flatMap((q) => {
      const v = this.quantile(q);
      return v === null ? [] : [{ labels: { quantile: q }, value: v / 1000 }];
    });
  }

  /** The q-quantile (0..1) of the samples, or null without any. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const s = Array.from(this.buf.subarray(0, this.n)).sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  }
}

/** Expected hashes behind one share of difficulty d: d x 2^256 / DIFF1 (2^32 for sha256d, 2^16 for scrypt). */
export function hashesPerShare(d: number, algo: Algo): number {
  return (d * 2 ** 256) / Number(DIFF1[algo]);
}

/** Hashrate from accepted difficulty over a sliding window of (time, difficulty) buckets, one per second. */
export class RateWindow {
  private readonly buckets = new Map<number, number>();

  constructor(private readonly seconds = 600) {}

  add(nowMs: number, difficulty: number): void {
    const s = Math.floor(nowMs / 1000);
    this.buckets.set(s, (this.buckets.get(s) ?? 0) + difficulty);
    if (this.buckets.size > this.seconds + 5) this.prune(s);
  }

  private prune(nowS: number): void {
    for (const k of this.buckets.keys()) if (k <= nowS - this.seconds) this.buckets.delete(k);
  }

  /** Hashes per second over the window (or since `since` when that is shorter). */
  hashrate(nowMs: number, algo: Algo, sinceMs: number): number {
    const nowS = Math.floor(nowMs / 1000);
    this.prune(nowS);
    let d = 0;
    for (const v of this.buckets.values()) d += v;
    const span = Math.max(1, Math.min(this.seconds, (nowMs - sinceMs) / 1000));
    return hashesPerShare(d, algo) / span;
  }
}

/** Per payout user (address[.worker]): what the pool saw of it. */
export interface WorkerStats {
  user: string;
  address: string;
  accepted: number;
  acceptedDifficulty: number;
  stale: number;
  rejected: Record<string, number>;
  lastShare: number | null;
  firstSeen: number;
  /** Milliseconds connected in total (closed connections), plus the open ones' time when reported. */
  connectedMs: number;
  openSince: number[];
  latencySumMs: number;
  latencyCount: number;
  rate: RateWindow;
  difficulty: number;
}

export function newWorkerStats(user: string, address: string, now: number): WorkerStats {
  return {
    user, address, accepted: 0, acceptedDifficulty: 0, stale: 0, rejected: {}, lastShare: null, firstSeen: now,
    connectedMs: 0, openSince: [], latencySumMs: 0, latencyCount: 0, rate: new RateWindow(), difficulty: 0,
  };
}

/**
 * The worker score (seed 003's weights), each part normalised to 0..1:
 * - quality 0.4: accepted / (accepted + rejected + stale);
 * - speed 0.3: 1 / (1 + mean share response latency in ms / 100): 1 for an instant answer, 0.5 at 100 ms;
 * - availability 0.2: time connected / time since the worker was first seen (capped at 1);
 * - participation 0.1: the worker's accepted shares / the most accepted by any worker.
 */
export function workerScore(w: WorkerStats, now: number, maxAccepted: number) {
  const total = w.accepted + w.stale + Object.values(w.rejected).reduce((a, b) => a + b, 0);
  const quality = total ? w.accepted / total : 0;
  const speed = w.latencyCount ? 1 / (1 + w.latencySumMs / w.latencyCount / 100) : 0;
  const connected = w.connectedMs + w.openSince.reduce((a, t) => a + (now - t), 0);
  const availability = Math.min(1, connected / Math.max(1, now - w.firstSeen));
  const participation = maxAccepted ? w.accepted / maxAccepted : 0;
  const score = 0.4 * quality + 0.3 * speed + 0.2 * availability + 0.1 * participation;
  return { score, quality, speed, availability, participation };
}

import type { Logger } from "../core";
import type { EngineStats } from "../miner";

// What `rignode worker` says while it mines: a periodic speed line (as XMRig's "speed 10s/60s/15m") and each
// rejected share with the pool's reason (as cpuminer), the rejects rate-limited so that a storm stays readable.

/** A hashrate for people: "12.3 MH/s". */
export function formatHashrate(hs: number): string {
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
  let v = hs;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) (v /= 1000), i++;
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** Share counts a worker keeps (what `rignode worker` reports and the API shows). */
export interface WorkerCounts {
  accepted: number;
  rejected: number;
  stale: number;
  /** Submitted but the connection went before an answer. */
  lost: number;
  found: number;
}

/** What the speed line reads from the running worker. */
export interface SpeedInput {
  hashrate: EngineStats["hashrate"];
  counts: WorkerCounts;
  /** HOST:PORT of the pool in use, or null while not connected. */
  pool: string | null;
  difficulty: number | null;
}

/** The fields of one `worker.speed` line: hashrates (H/s and in words), share totals, pool and difficulty. */
export function speedFields(s: SpeedInput): Record<string, unknown> {
  const h = s.hashrate;
  return {
    speed: `${formatHashrate(h["10s"])} ${formatHashrate(h["60s"])} ${formatHashrate(h["15m"])} (10s/60s/15m)`,
    hashrate_10s: Math.round(h["10s"]),
    hashrate_60s: Math.round(h["60s"]),
    hashrate_15m: Math.round(h["15m"]),
    accepted: s.counts.accepted,
    rejected: s.counts.rejected,
    stale: s.counts.stale,
    lost: s.counts.lost,
    pool: s.pool ?? "none (not connected)",
    difficulty: s.difficulty,
  };
}

export interface RejectLogOptions {
  /** Lines logged one by one per window; the rest are counted and summed up in one line. */
  lines: number;
  windowMs: number;
  now: () => number;
}

/**
 * Logs rejected shares with the pool's code and reason: the first `lines` of each window one by one, then a
 * summary when the window ends ("N more rejects in the last 10 s: reason ×count, …"). `flush()` is called by a timer
 * (and by the next reject) so that the summary comes even when the rejects stop.
 */
export class RejectLog {
  private readonly o: RejectLogOptions;
  private windowStart: number | null = null;
  private shown = 0;
  private suppressed = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    o: Partial<RejectLogOptions> = {},
  ) {
    this.o = { lines: 5, windowMs: 10_000, now: () => Date.now(), ...o };
  }

  /** One rejected share. */
  record(r: { code: number; reason: string; job: string }): void {
    const now = this.o.now();
    this.flush();
    if (this.windowStart === null) this.windowStart = now;
    if (this.shown < this.o.lines) {
      this.shown++;
      this.log.warn("worker.share_rejected", { job: r.job, code: r.code, reason: r.reason });
      return;
    }
    const key = `${r.code} ${r.reason}`;
    this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
  }

  /** Ends the window when it is over: the summary of what was not logged one by one, if anything. */
  flush(): void {
    if (this.windowStart === null || this.o.now() - this.windowStart < this.o.windowMs) return;
    const more = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
    if (more > 0) {
      const reasons = [...this.suppressed].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(", ");
      this.log.warn("worker.share_rejected_more", { message: `${more} more rejects in the last ${Math.round(this.o.windowMs / 1000)} s: ${reasons}`, more, reasons });
    }
    this.windowStart = null;
    this.shown = 0;
    this.suppressed.clear();
  }
}

// A follower cut off from its leader (the bus down, the leader stuck) would serve the last job for ever with a
// healthy face: this watch says when its job went stale, for /health (503) and the operator's log.
import type { JobRecord, PoolContext } from "./context";

/** How long a follower's source may stand on another tip than its job's parent before the job counts as stale. */
const OFF_TIP_MS = 5000;

export class StaleWatch {
  /** When the last job was adopted (pool clock). */
  adoptedAt = 0;
  private offTipSince: number | null = null;
  /** Why the follower's job is stale, or null. */
  problem: string | null = null;

  constructor(private readonly pool: Pick<PoolContext, "o">) {}

  /**
   * Once a second on a follower: its job is stale when no newer one came for twice the refresh interval (a leader
   * publishes at least once per interval), or when its own source's tip left the job's parent a few seconds ago (the
   * leader, or the bus, is not keeping up). Said once per episode.
   */
  check(following: boolean, cur: JobRecord | null, now: number): void {
    if (!following || !cur) {
      this.problem = this.offTipSince = null;
      return;
    }
    const refresh = this.pool.o.jobRefreshSeconds;
    const age = now - this.adoptedAt;
    let why = age > 2 * refresh * 1000 ? `no job from the leader for ${Math.round(age / 1000)} s (over twice the ${refresh} s refresh)` : null;
    const tip = this.pool.o.source.tip?.();
    if (tip && Buffer.compare(tip, cur.job.work.header.prevHash) !== 0) {
      this.offTipSince ??= now;
      const off = now - this.offTipSince;
      if (off > OFF_TIP_MS) why ??= `the source's tip is not the job's parent for ${Math.round(off / 1000)} s`;
    } else this.offTipSince = null;
    const log = this.pool.o.log;
    if (why && !this.problem) log.warn("pool.follower_stale", { job: cur.job.id, height: cur.job.work.height, reason: why });
    if (!why && this.problem) log.info("pool.follower_fresh", { job: cur.job.id, height: cur.job.work.height });
    this.problem = why && `stale job: ${why}`;
  }
}

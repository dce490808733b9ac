// What the pool shows: per-worker records, counters, hashrate and latency, the stats the API serves and the
// Prometheus series of /metrics.
import { leToDisplayHex, type MetricFamily } from "../core";
import { LatencyRing, RateWindow, newWorkerStats, workerScore, type WorkerStats } from "./stats";
import type { RejectReason } from "./shares";
import type { PoolContext } from "./context";
import { MAX_IDLE_WORKER_RECORDS } from "./options";

/** What this part uses of the pool. */
type Pool = Pick<PoolContext, "o" | "now" | "algo" | "guard" | "isRunning" | "health" | "sessions" | "jobs" | "shares">;

export type WorkerRow = ReturnType<PoolReport["localWorkers"]>[number];

/** The stratum shards of this process as its main thread sees them (shards.ts): their figures add to its own. */
export interface ShardsView {
  totals(): { connections: number; workers: number; hashrate: number; accepted: number; acceptedDifficulty: number; rejected: Record<string, number>; notifies: number; bans: number; blocks: number; storage: string | null };
  /** Per shard, shown under `shards`. */
  list(): Record<string, unknown>[];
  /** Every shard's workers, one row per user. */
  workers(): WorkerRow[];
  /** Share response latency and new tip -> last notify written by any shard (ms). */
  readonly latency: LatencyRing;
  readonly tipToNotify: LatencyRing;
}

export class PoolReport {
  readonly workers = new Map<string, WorkerStats>();
  readonly counters = { accepted: 0, acceptedDifficulty: 0, blocks: 0, blockCandidatesSkipped: 0, bans: 0, notifies: 0, jobs: 0 };
  private readonly rejected: Record<string, number> = {};
  private readonly latency = new LatencyRing();
  private readonly poolRate = new RateWindow();
  /** From a new tip to the last notify written for it (ms). */
  readonly tipToNotify = new LatencyRing(1024);
  /** Time to build the last job and write it to every connection (ms). */
  lastBroadcastMs = 0;
  private readonly startedAt: number;
  /** Set on the main thread of a process with stratum shards. */
  shards: ShardsView | null = null;
  /** A shard's: response latencies of accepted shares since its last report to the main thread. */
  latencyTap: number[] | null = null;

  constructor(private readonly pool: Pool) {
    this.startedAt = pool.now();
  }

  /** A worker authorized on a connection opened at `connectedAt`. */
  workerJoined(user: string, address: Uint8Array, connectedAt: number, now: number): void {
    let w = this.workers.get(user);
    if (!w) this.workers.set(user, (w = newWorkerStats(user, this.pool.o.source.display(address), now)));
    w.openSince.push(connectedAt);
  }

  /** A worker's connection opened at `connectedAt` closed. */
  workerLeft(user: string, connectedAt: number, now: number): void {
    const w = this.workers.get(user);
    if (!w) return;
    const i = w.openSince.indexOf(connectedAt);
    if (i >= 0) {
      w.connectedMs += now - w.openSince[i]!;
      w.openSince.splice(i, 1);
    }
    // A worker that never sent a share has nothing worth showing once it is gone: its record goes with it.
    if (!w.openSince.length && !hasShares(w)) this.workers.delete(user);
  }

  /** An accepted share of `credit` difficulty answered after `ms`. */
  accepted(w: WorkerStats, credit: number, difficulty: number, ms: number, done: number): void {
    w.accepted++;
    w.acceptedDifficulty += credit;
    w.lastShare = done;
    w.latencySumMs += ms;
    w.latencyCount++;
    w.rate.add(done, credit);
    w.difficulty = difficulty;
    this.poolRate.add(done, credit);
    this.latency.add(ms);
    if (this.latencyTap && this.latencyTap.length < 4096) this.latencyTap.push(ms);
    this.counters.accepted++;
    this.counters.acceptedDifficulty += credit;
  }

  /** A refused share, counted for its worker and the pool. */
  refused(w: WorkerStats, reason: RejectReason): void {
    w.rejected[reason] = (w.rejected[reason] ?? 0) + 1;
    if (reason === "stale") w.stale++;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  /** Workers gone for a day are forgotten; beyond MAX_IDLE_WORKER_RECORDS idle ones, the longest idle first. */
  sweep(now: number): void {
    let idle = 0;
    for (const [user, w] of this.workers) {
      if (w.openSince.length) continue;
      if (now - (w.lastShare ?? w.firstSeen) > 24 * 3600 * 1000) this.workers.delete(user);
      else idle++;
    }
    if (idle > MAX_IDLE_WORKER_RECORDS) {
      // Many workers came and went (each with shares): the longest idle are forgotten, the stats stay small.
      const gone = [...this.workers.values()].filter((w) => !w.openSince.length).sort((a, b) => (a.lastShare ?? a.firstSeen) - (b.lastShare ?? b.firstSeen));
      for (const w of gone.slice(0, idle - MAX_IDLE_WORKER_RECORDS)) this.workers.delete(w.user);
    }
  }

  /** Shares refused for any reason. */
  rejectedTotal(): number {
    let n = 0;
    for (const k in this.rejected) n += this.rejected[k]!;
    return n;
  }

  /** Workers with an open connection. */
  workersConnected(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.openSince.length) n++;
    return n;
  }

  /** Pool statistics: hashrate from shares, per-worker figures and scores (unless `withWorkers` is false), blocks, payouts, latency. */
  stats(withWorkers = true) {
    const now = this.pool.now();
    const { blocksFound, payouts } = this.paid();
    const sh = this.shards?.totals();
    const rejected = { ...this.rejected };
    for (const [k, v] of Object.entries(sh?.rejected ?? {})) rejected[k] = (rejected[k] ?? 0) + v;
    const latency = this.shards?.latency ?? this.latency;
    const tip = this.shards?.tipToNotify ?? this.tipToNotify;
    return {
      running: this.pool.isRunning(),
      source: this.pool.o.source.status(),
      job_problem: this.pool.jobs.problem,
      algo: this.pool.algo,
      connections: this.pool.sessions.conns.size + (sh?.connections ?? 0),
      workers_connected: this.workersConnected() + (sh?.workers ?? 0),
      hashrate_hs: this.hashrate(),
      shares: { accepted: this.counters.accepted + (sh?.accepted ?? 0), accepted_difficulty: this.counters.acceptedDifficulty + (sh?.acceptedDifficulty ?? 0), rejected, block_candidates_skipped: this.counters.blockCandidatesSkipped },
      health: this.pool.health(),
      bans: this.pool.guard.list().length,
      latency_ms: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) },
      tip_to_notify_ms: { p50: tip.quantile(0.5), p99: tip.quantile(0.99), samples: tip.size() },
      blocks_found: blocksFound,
      fee: { pool_bps: this.pool.o.poolFeeBps, foundation_percent: 1 },
      scheme: this.pool.o.scheme,
      job: this.pool.jobs.current
        ? { id: this.pool.jobs.current.job.id, height: this.pool.jobs.current.job.work.height, clean: this.pool.jobs.current.job.notify.cleanJobs, age_ms: now - this.pool.jobs.current.createdAt, outputs: this.pool.jobs.current.plan.outputs.length }
        : null,
      last_broadcast_ms: this.lastBroadcastMs,
      payouts,
      ...(withWorkers ? { workers: this.workerList() } : {}),
      ...(this.shards ? { shards: this.shards.list() } : {}),
    };
  }

  /**
   * Main-chain blocks among the last 1000 found and what they paid per address. Reading them parses every stored
   * plan, so the result is kept until the ledger's blocks change (a snapshot a second must not re-parse them).
   */
  private paid(): { blocksFound: number; payouts: { address: string; amount: string }[] } {
    const version = this.pool.o.ledger.blocksVersion;
    if (this.paidCache?.version === version) return this.paidCache.value;
    const blocks = this.pool.o.ledger.blocks(1000).filter((b) => b.status === "main");
    const paid = new Map<string, bigint>();
    for (const b of blocks) for (const o of b.plan.outputs) paid.set(o.to, (paid.get(o.to) ?? 0n) + BigInt(o.amount));
    const show = (k: string) => this.pool.o.source.display(Buffer.from(k, "hex"));
    const value = { blocksFound: blocks.length, payouts: [...paid].map(([k, v]) => ({ address: show(k), amount: v.toString() })) };
    this.paidCache = { version, value };
    return value;
  }
  private paidCache: { version: number; value: { blocksFound: number; payouts: { address: string; amount: string }[] } } | null = null;

  /** Every worker the pool knows (connected, or gone with shares in the last day): figures and score. */
  workerList(): WorkerRow[] {
    const own = this.localWorkers();
    return this.shards ? [...own, ...this.shards.workers()] : own;
  }

  /** The workers of this thread's own connections. */
  localWorkers() {
    const now = this.pool.now();
    const maxAccepted = Math.max(0, ...[...this.workers.values()].map((w) => w.accepted));
    return [...this.workers.values()].map((w) => ({
      user: w.user,
      address: w.address,
      connected: w.openSince.length > 0,
      hashrate_hs: w.rate.hashrate(now, this.pool.algo, w.firstSeen),
      difficulty: w.difficulty,
      accepted: w.accepted,
      accepted_difficulty: w.acceptedDifficulty,
      stale: w.stale,
      rejected: { ...w.rejected },
      last_share: w.lastShare,
      connected_since: w.openSince.length ? Math.min(...w.openSince) : null,
      ...workerScore(w, now, maxAccepted),
    }));
  }

  /** The pool's hashrate from accepted shares (10 min window): cheap enough to sample every second. */
  hashrate(): number {
    return this.poolRate.hashrate(this.pool.now(), this.pool.algo, this.startedAt) + (this.shards?.totals().hashrate ?? 0);
  }

  /** Blocks the pool found with their stored plans (addresses shown in the network's form). */
  blocks(limit = 100) {
    // Kept until the ledger's blocks change, like paid(): the panel asks every second.
    const version = this.pool.o.ledger.blocksVersion;
    if (this.blocksCache?.version === version && this.blocksCache.limit === limit) return this.blocksCache.value;
    const value = this.pool.o.ledger.blocks(limit).map((b) => this.showBlock(b));
    this.blocksCache = { version, limit, value };
    return value;
  }
  private blocksCache: { version: number; limit: number; value: ReturnType<PoolReport["showBlock"]>[] } | null = null;

  /** One block the pool found, by its hash in digest byte order, or null. */
  block(hash: Uint8Array) {
    const b = this.pool.o.ledger.block(hash);
    return b ? this.showBlock(b) : null;
  }

  private showBlock(b: ReturnType<PoolContext["o"]["ledger"]["blocks"]>[number]) {
    const addr = (k: string) => this.pool.o.source.display(Buffer.from(k, "hex"));
    return {
      hash: leToDisplayHex(Buffer.from(b.hash, "hex")),
      height: b.height,
      time: b.time,
      status: b.status,
      scheme: b.plan.scheme,
      total: b.plan.total,
      foundation: b.plan.foundation,
      pool_fee: b.plan.poolFee,
      outputs: b.plan.outputs.map((o) => ({ address: addr(o.to), amount: o.amount })),
      weights: Object.fromEntries(Object.entries(b.plan.weights).map(([k, v]) => [addr(k), v])),
      carried: Object.fromEntries(Object.entries(b.plan.carried).map(([k, v]) => [addr(k), v])),
      last_share: b.plan.lastShare,
      // "shares": weights from the window; "connected": the window was empty, the connected workers shared it.
      basis: b.plan.basis ?? "shares",
    };
  }

  /** Prometheus series of the pool. */
  metrics(): MetricFamily[] {
    // With stratum shards: the process's figures (the main thread's own plus every shard's).
    const st = this.stats(false);
    const reasons = Object.entries(st.shares.rejected).map(([reason, v]) => ({ labels: { result: reason }, value: v }));
    const sh = this.shards?.totals();
    const tip = this.shards?.tipToNotify ?? this.tipToNotify;
    return [
      { name: "rignode_pool_connections", help: "Open Stratum connections.", type: "gauge", samples: [{ value: st.connections }] },
      { name: "rignode_pool_workers", help: "Workers with an open connection.", type: "gauge", samples: [{ value: st.workers_connected }] },
      { name: "rignode_pool_shares_total", help: "Shares by result.", type: "counter", samples: [{ labels: { result: "accepted" }, value: st.shares.accepted }, ...reasons] },
      { name: "rignode_pool_accepted_difficulty_total", help: "Sum of the difficulty of accepted shares.", type: "counter", samples: [{ value: st.shares.accepted_difficulty }] },
      { name: "rignode_pool_hashrate_hashes_per_second", help: "Pool hashrate estimated from accepted shares (10 min).", type: "gauge", samples: [{ value: st.hashrate_hs }] },
      { name: "rignode_pool_blocks_found_total", help: "Blocks found by the pool and connected.", type: "counter", samples: [{ value: this.counters.blocks + (sh?.blocks ?? 0) }] },
      { name: "rignode_pool_jobs_total", help: "Jobs built.", type: "counter", samples: [{ value: this.counters.jobs }] },
      { name: "rignode_pool_notifies_total", help: "mining.notify messages written.", type: "counter", samples: [{ value: this.counters.notifies + (sh?.notifies ?? 0) }] },
      { name: "rignode_pool_bans_total", help: "Bans (of a worker or an IP) for invalid shares or protocol abuse.", type: "counter", samples: [{ value: this.counters.bans + (sh?.bans ?? 0) }] },
      { name: "rignode_pool_bans_active", help: "Bans in force.", type: "gauge", samples: [{ value: this.pool.guard.list().length }] },
      { name: "rignode_pool_storage_ok", help: "0 while the ledger fails to record shares.", type: "gauge", samples: [{ value: this.pool.shares.storageError || sh?.storage ? 0 : 1 }] },
      {
        name: "rignode_pool_share_latency_seconds",
        help: "Share response latency (receipt to acknowledgement, ledger commit included), recent shares.",
        type: "gauge",
        samples: (this.shards?.latency ?? this.latency).secondsSamples(),
      },
      {
        name: "rignode_pool_tip_to_notify_seconds",
        help: "From a new tip to the last mining.notify written for it (recent tips).",
        type: "gauge",
        samples: tip.secondsSamples(),
      },
      { name: "rignode_pool_last_job_broadcast_seconds", help: "Time to build the last job and write it to every connection.", type: "gauge", samples: [{ value: this.lastBroadcastMs / 1000 }] },
      // With stratum shards: each shard's own connections (the totals above are the whole process's).
      ...(this.shards
        ? [{ name: "rignode_pool_shard_connections", help: "Open Stratum connections per stratum shard (--stratum-threads).", type: "gauge" as const, samples: this.shards.list().map((x) => ({ labels: { shard: String(x.shard) }, value: Number(x.connections) })) }]
        : []),
    ];
  }
}

/** Whether a worker sent any share (accepted, stale or rejected). */
function hasShares(w: WorkerStats): boolean {
  if (w.accepted || w.stale) return true;
  for (const k in w.rejected) if (w.rejected[k]) return true;
  return false;
}

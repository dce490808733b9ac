// The share path (ckpool's stratifier): check a share against its job, hash it through the kernel's batch, record
// it in the ledger (group commit before the answer), count it, and hand blocks to the source. It never touches a
// socket: bans and difficulty changes go through the connections' side (sessions.ts), the answer is the session's.
import { leToDisplayHex, toHex } from "../core";
import { blockHash, type Header } from "../chain";
import { StratumError, STRATUM_ERROR, type SubmitParams } from "../stratum";
import type { PoolJob } from "./job";
import type { SubmitResult } from "./source";
import { BANNABLE, ShareChecker, ShareRejected, type RejectReason } from "./shares";
import { hashQueue, type TurnBatch } from "./batch";
import { isDuplicate } from "./ledger-backend";
import { banText } from "../core";
import type { PoolConn } from "./conn";
import type { WorkerStats } from "./stats";
import type { JobRecord, PoolContext } from "./context";

/** What this part uses of the pool. */
type Pool = Pick<PoolContext, "o" | "now" | "guard" | "sessions" | "jobs" | "report">;

export class SharePath {
  private readonly hasher: TurnBatch<Uint8Array, Uint8Array>;
  /** Previous blocks (hex) the pool submitted a block on, recent ones. */
  private readonly blocksOn = new Set<string>();
  /** Blocks handed to an asynchronous source, not answered yet: the next job's plan waits for them. */
  readonly pendingBlocks = new Set<Promise<void>>();
  private readonly storage = { error: null as string | null, since: 0, failed: 0, loggedAt: 0 };

  constructor(
    private readonly pool: Pool,
    /** The jobs shares are checked against: the pool's one cache of recent jobs, filled by the generator. */
    readonly checker: ShareChecker<JobRecord>,
    powHash: (header: Uint8Array) => Uint8Array,
    powHashMany?: (headers: Uint8Array, n: number) => Uint8Array,
  ) {
    this.hasher = hashQueue(
      powHashMany ??
        ((hs, n) => {
          const out = new Uint8Array(n * 32);
          for (let i = 0; i < n; i++) out.set(powHash(hs.subarray(i * 80, i * 80 + 80)), i * 32);
          return out;
        }),
    );
  }

  async submit(c: PoolConn, p: SubmitParams): Promise<void> {
    const pool = this.pool;
    const t0 = performance.now();
    const now = pool.now();
    const w = pool.report.workers.get(p.worker);
    const address = c.users.get(p.worker);
    if (!w || !address) throw new StratumError(STRATUM_ERROR.unauthorized, "Unauthorized worker");
    // Shares already in flight when a ban fell (same read, same batch): answered with the ban, not counted again.
    const ban = pool.guard.banned(c.link.ip, p.worker);
    if (ban) throw new StratumError(STRATUM_ERROR.other, banText(ban, now));
    const limit = pool.o.limits.sharesPerSecond;
    if (c.overRate(now, limit) > 0) {
      // Not the miner's fault: its difficulty is too low for its speed. Raise it (from the next job, where the
      // network's difficulty allows) and drop the excess without counting it against the miner.
      const raised = pool.sessions.raiseDifficulty(c, pool.jobs.seq);
      this.reject(c, w, "rate_limited");
      throw new ShareRejected("rate_limited", `Rate limited: more than ${limit} shares per second${raised ? " (difficulty raised)" : ""}`);
    }
    const rec = this.checker.meta(p.jobId);
    const difficulty = c.difficultyForJob(rec?.seq ?? pool.jobs.seq);
    let outcome;
    try {
      if (!rec && pool.jobs.issued(p.jobId)) throw new ShareRejected("stale", "Stale share (job expired)");
      const prep = this.checker.prepare(p, c.en1, c.session.versionMask);
      const digest = await this.hasher.push(prep.bytes);
      outcome = this.checker.finish(prep, digest, difficulty);
    } catch (e) {
      if (e instanceof ShareRejected) this.reject(c, w, e.reason);
      throw e;
    }
    if (outcome.block) this.foundBlock(outcome.block, rec, p.worker);
    if (outcome.stale) {
      this.reject(c, w, "stale");
      throw new ShareRejected("stale", "Stale share");
    }
    try {
      await pool.o.ledger.record({ worker: p.worker, address, job: p.jobId, difficulty: outcome.credit, hash: outcome.headerHash });
    } catch (e) {
      if (isDuplicate(e)) {
        // The UNIQUE hash: the same share again after a restart.
        this.reject(c, w, "duplicate");
        throw new ShareRejected("duplicate", "Duplicate share");
      }
      this.storageFault(e as Error);
      this.reject(c, w, "storage");
      throw new ShareRejected("storage", "Pool storage error: the share was not recorded (not your fault; the pool operator is told)");
    }
    this.storageOk();
    const done = pool.now();
    c.valid++;
    c.tally(p.worker).valid++;
    pool.report.accepted(w, outcome.credit, c.difficulty, performance.now() - t0, done);
    pool.sessions.retarget(c, done);
  }

  /** Counts a refused share; wrong work past the configured ratio bans the worker (the ban's error is thrown). */
  private reject(c: PoolConn, w: WorkerStats, reason: RejectReason): void {
    this.pool.report.refused(w, reason);
    if (!BANNABLE.has(reason)) return;
    c.invalid++;
    const t = c.tally(w.user);
    t.invalid++;
    const l = this.pool.o.limits;
    const total = t.valid + t.invalid;
    if (total < l.banMinShares || t.invalid / total <= l.banInvalidRatio) return;
    const ban = this.pool.guard.banWorker(c.link.ip, w.user, `${t.invalid} of ${total} shares invalid`);
    if (ban) throw this.pool.sessions.enforce(ban);
  }

  // ---- storage health ----

  get storageError(): string | null {
    return this.storage.error;
  }

  /** A line for /health while the ledger fails, else null. */
  storageProblem(): string | null {
    const s = this.storage;
    return s.error ? `storage: ${s.error} (since ${new Date(s.since).toISOString()}, ${s.failed} shares not recorded)` : null;
  }

  /** The ledger failed (disk full, I/O error): logged once per burst, /health degraded until a commit succeeds. */
  private storageFault(e: Error): void {
    const now = this.pool.now();
    if (!this.storage.error) this.storage.since = now;
    this.storage.error = e.message;
    this.storage.failed++;
    if (now - this.storage.loggedAt >= 10_000) {
      this.storage.loggedAt = now;
      this.pool.o.log.error("pool.storage_error", { error: e.message, shares_not_recorded: this.storage.failed });
    }
  }

  private storageOk(): void {
    if (!this.storage.error) return;
    this.pool.o.log.info("pool.storage_recovered", { after_ms: this.pool.now() - this.storage.since, shares_not_recorded: this.storage.failed });
    this.storage.error = null;
    this.storage.failed = 0;
    this.storage.loggedAt = 0;
  }

  // ---- blocks ----

  /** Fresh work on a parent means no block of ours stands on it (a reorganisation took it away): it may win again. */
  parentFree(prevHex: string): void {
    this.blocksOn.delete(prevHex);
  }

  /**
   * A share that is a block: handed to the source at once (connected and relayed, or submitted to the daemon) and,
   * once the source has it on its best chain, recorded with its plan (the round closes).
   */
  private foundBlock(found: { job: PoolJob; header: Header; coinbase: Uint8Array }, rec: JobRecord | undefined, worker: string): void {
    const { o, report } = this.pool;
    // One block per previous block: on a network where most hashes are blocks, the shares right behind the first
    // are blocks on the same parent too; they are credited as shares, never submitted (a side block helps nobody).
    const prev = toHex(found.header.prevHash);
    if (this.blocksOn.has(prev)) {
      report.counters.blockCandidatesSkipped++;
      return;
    }
    this.blocksOn.add(prev);
    if (this.blocksOn.size > 64) this.blocksOn.delete(this.blocksOn.values().next().value!);
    const done = (r: SubmitResult) => {
      const hash = leToDisplayHex(r.hash);
      if (r.status !== "accepted") this.blocksOn.delete(prev); // another candidate on this parent may still win
      if (r.status === "rejected") return o.log.warn("pool.block_rejected", { hash, height: r.height, reason: r.reason ?? "" });
      if (r.status !== "accepted") return o.log.debug("pool.block_not_main", { hash, status: r.reason ?? r.status });
      if (rec && !r.recorded) {
        // The block is on the chain; its plan could not be stored (disk full, database gone): said loudly, /health degraded.
        const fault = (e: Error) => {
          this.storageFault(e);
          o.log.error("pool.block_not_recorded", { height: r.height, hash, error: e.message });
        };
        try {
          o.ledger.recordBlock({ hash: r.hash, height: r.height, plan: rec.plan })?.catch(fault);
        } catch (e) {
          fault(e as Error);
        }
      }
      report.counters.blocks++;
      o.log.info("pool.block_found", { height: r.height, hash, worker, outputs: rec?.plan.outputs.length ?? 0 });
    };
    // A shared ledger keeps the plan first: a crash right after the chain takes the block cannot lose it.
    const kept = rec ? o.ledger.candidate({ hash: blockHash(found.header), height: found.job.work.height, plan: rec.plan }) : null;
    const r = kept
      ? kept.then(
          () => o.source.submit(found.job.work, found.header, found.coinbase),
          (e: Error) => {
            // Not kept: the block is still worth more submitted than not.
            o.log.error("pool.block_candidate_not_kept", { height: found.job.work.height, error: e.message });
            return o.source.submit(found.job.work, found.header, found.coinbase);
          },
        )
      : o.source.submit(found.job.work, found.header, found.coinbase);
    if (!(r instanceof Promise)) return done(r);
    const p = r.then(done, (e) => {
      this.blocksOn.delete(prev);
      o.log.warn("pool.block_submit_failed", { height: found.job.work.height, error: (e as Error).message });
    });
    this.pendingBlocks.add(p);
    void p.finally(() => this.pendingBlocks.delete(p)).catch(() => {});
  }
}

/** How long a new job waits for blocks still being submitted (one held for its parent may wait 30 s: jobs do not). */
export const BLOCK_WAIT_MS = 2000;

/**
 * Once every block being submitted is settled (its round closed before the next plan), or after `ms`: a block held
 * for a parent the source lacks (a follower that just became leader) is not on the chain the job builds on.
 */
export function blocksSettled(pending: ReadonlySet<Promise<void>>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((ok) => (timer = setTimeout(ok, ms)));
  return Promise.race([Promise.allSettled([...pending]).then(() => {}), late]).finally(() => clearTimeout(timer));
}

import { bigIntToLe, leLessOrEqual, toHex, type Algo } from "../core";
import { bitsToTarget, type Header } from "../chain";
import { StratumError, STRATUM_ERROR, type SubmitParams } from "../stratum";
import { shareHeader, parseU32, type PoolJob } from "./job";
import { difficultyToTarget } from "./target";

/**
 * Why a share was refused, as counted in stats and metrics. Only wrong work counts towards a ban; stale shares (a new
 * tip, an expired job), duplicates, shares over the rate and storage faults are the pool's or the network's doing.
 */
export type RejectReason = "stale" | "duplicate" | "low_difficulty" | "job_not_found" | "invalid" | "rate_limited" | "unauthorized" | "storage";

/** The reasons that count towards a worker's ban. */
export const BANNABLE: ReadonlySet<RejectReason> = new Set(["low_difficulty", "job_not_found", "invalid", "unauthorized"]);

/** Each reason's Stratum V1 error code: the one place a reason meets the wire. */
const STRATUM_CODE: Record<RejectReason, number> = {
  stale: STRATUM_ERROR.jobNotFound,
  job_not_found: STRATUM_ERROR.jobNotFound,
  duplicate: STRATUM_ERROR.duplicate,
  low_difficulty: STRATUM_ERROR.lowDifficulty,
  unauthorized: STRATUM_ERROR.unauthorized,
  invalid: STRATUM_ERROR.other,
  rate_limited: STRATUM_ERROR.other,
  storage: STRATUM_ERROR.other,
};

/** A refused share: the reason travels with the error; the session answers with the reason's Stratum code. */
export class ShareRejected extends StratumError {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(STRATUM_CODE[reason], message);
  }
}

export interface ShareOutcome {
  /** Difficulty credited (the one in force for this job on this connection). */
  credit: number;
  headerHash: string;
  /** Set when the share also meets the network target: the header and coinbase of a block, to submit at once. */
  block?: { job: PoolJob; header: Header; coinbase: Uint8Array };
  /** The job was replaced by a new tip: no credit (the caller answers "stale" after connecting any block). */
  stale: boolean;
}

interface JobEntry<M = unknown> {
  job: PoolJob;
  /** What the caller keeps with the job (the pool: its sequence and payout plan). */
  meta: M;
  current: boolean;
  /** Header hashes already submitted on this job: duplicates are found in O(1). */
  seen: HashSet96;
}

/** A submission that passed the checks that need no hashing: its header, ready for the kernel. */
export interface PreparedShare {
  entry: JobEntry<unknown>;
  header: Header;
  bytes: Uint8Array;
  coinbase: Uint8Array;
}

/**
 * A set of hashes by their first 96 bits (as unique as all 256 for any number of shares a job sees), kept as two
 * 48-bit numbers: no string per share, and integer keys hash fast however large the set grows.
 */
export class HashSet96 {
  private readonly m = new Map<number, number | number[]>();

  /** Adds the hash; false if it was there already. */
  add(h: Uint8Array): boolean {
    const a = (h[0]! | (h[1]! << 8) | (h[2]! << 16)) + (h[3]! | (h[4]! << 8) | (h[5]! << 16)) * 0x1000000;
    const b = (h[6]! | (h[7]! << 8) | (h[8]! << 16)) + (h[9]! | (h[10]! << 8) | (h[11]! << 16)) * 0x1000000;
    const v = this.m.get(a);
    if (v === undefined) {
      this.m.set(a, b);
      return true;
    }
    if (typeof v === "number") {
      if (v === b) return false;
      this.m.set(a, [v, b]);
      return true;
    }
    if (v.includes(b)) return false;
    v.push(b);
    return true;
  }

  get size(): number {
    return this.m.size;
  }
}

/** Most jobs kept for late shares (stale ones are still checked for a block); the pool's only job cache. */
export const KEEP_JOBS = 16;
/** ntime may run ahead of the pool's clock by at most this (as Bitcoin's future limit). */
const MAX_NTIME_AHEAD = 7200;

/**
 * Share checks in the order of the Stratum V1 reference: known job, ntime window, version mask, extranonce2 size,
 * duplicate (by header hash), block (even for a stale share), stale, then the share difficulty.
 */
export class ShareChecker<M = undefined> {
  private readonly jobs = new Map<string, JobEntry<M>>();

  constructor(
    private readonly algo: Algo,
    private readonly powHash: (header80: Uint8Array) => Uint8Array,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Registers a job; with clean = true (a new tip) every earlier job becomes stale. */
  addJob(job: PoolJob, clean: boolean, meta?: M): void {
    if (clean) for (const e of this.jobs.values()) e.current = false;
    this.jobs.set(job.id, { job, meta: meta as M, current: true, seen: new HashSet96() });
    while (this.jobs.size > KEEP_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
  }

  job(id: string): PoolJob | undefined {
    return this.jobs.get(id)?.job;
  }

  /** What was kept with a job still known (see addJob). */
  meta(id: string): M | undefined {
    return this.jobs.get(id)?.meta;
  }

  /** Checks one submission for a connection with extranonce1 `en1`; throws ShareRejected (a StratumError). */
  check(p: SubmitParams, en1: Uint8Array, versionMask: number, difficulty: number): ShareOutcome {
    const prep = this.prepare(p, en1, versionMask);
    return this.finish(prep, this.powHash(prep.bytes), difficulty);
  }

  /** The checks before hashing: known job, ntime window, sizes, version mask; builds the header. */
  prepare(p: SubmitParams, en1: Uint8Array, versionMask: number): PreparedShare {
    const entry = this.jobs.get(p.jobId);
    if (!entry) throw new ShareRejected("job_not_found", "Job not found");
    const { job } = entry;
    if (!/^[0-9a-fA-F]{8}$/.test(p.extranonce2)) throw new ShareRejected("invalid", "extranonce2 must be 4 bytes (8 hex digits)");
    let ntime: number;
    try {
      ntime = parseU32(p.ntime, "ntime");
      parseU32(p.nonce, "nonce");
    } catch (e) {
      throw new ShareRejected("invalid", (e as Error).message);
    }
    if (ntime < job.minTime || ntime > this.now() + MAX_NTIME_AHEAD) throw new ShareRejected("invalid", "ntime out of range");
    try {
      const built = shareHeader(job, en1, p, versionMask);
      return { entry, header: built.header, bytes: built.bytes, coinbase: built.coinbase };
    } catch (e) {
      throw new ShareRejected("invalid", (e as Error).message);
    }
  }

  /** The checks on the hash: duplicate, block (even for a stale job), stale, share difficulty. */
  finish(prep: PreparedShare, digest: Uint8Array, difficulty: number): ShareOutcome {
    const { entry } = prep;
    const { job } = entry;
    if (!entry.seen.add(digest)) throw new ShareRejected("duplicate", "Duplicate share");
    const outcome: ShareOutcome = { credit: difficulty, headerHash: toHex(digest), stale: !entry.current };
    if (leLessOrEqual(digest, this.networkTarget(job))) {
      // A block is a block, stale job or not, whatever the share difficulty.
      outcome.block = { job, header: prep.header, coinbase: prep.coinbase };
      return outcome;
    }
    if (outcome.stale) throw new ShareRejected("stale", "Stale share");
    if (!leLessOrEqual(digest, this.shareTarget(difficulty))) throw new ShareRejected("low_difficulty", "Low difficulty share");
    return outcome;
  }

  private readonly targets = new Map<number, Uint8Array>();
  private netTarget: { bits: number; target: Uint8Array } | null = null;

  /** The job's network target as 32 little-endian bytes (compared byte-wise with a hash). */
  private networkTarget(job: PoolJob): Uint8Array {
    const bits = job.work.header.bits;
    if (this.netTarget?.bits !== bits) this.netTarget = { bits, target: bigIntToLe(bitsToTarget(bits)) };
    return this.netTarget.target;
  }

  /** Share targets by difficulty, cached (a pool sees few distinct difficulties). */
  private shareTarget(d: number): Uint8Array {
    let t = this.targets.get(d);
    if (t === undefined) {
      if (this.targets.size > 4096) this.targets.clear();
      this.targets.set(d, (t = bigIntToLe(difficultyToTarget(d, this.algo))));
    }
    return t;
  }
}

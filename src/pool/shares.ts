import { leToBigInt, toHex, type Algo } from "../core";
import { bitsToTarget, decodeTx, type Block } from "../chain";
import { StratumError, STRATUM_ERROR, type SubmitParams } from "../stratum";
import { shareHeader, parseU32, type PoolJob } from "./job";
import { difficultyToTarget, hashDifficulty } from "./target";

export interface ShareOutcome {
  /** Difficulty credited (the one in force for this job on this connection). */
  credit: number;
  /** Difficulty the hash itself reached. */
  hashDifficulty: number;
  headerHash: string;
  /** Set when the share also meets the network target: the block to connect and relay at once. */
  block?: Block;
  /** The job was replaced by a new tip: no credit (the caller answers "stale" after connecting any block). */
  stale: boolean;
}

interface JobEntry {
  job: PoolJob;
  current: boolean;
  /** Header hashes already submitted on this job: duplicates are found in O(1). */
  seen: Set<string>;
}

/** Most jobs kept for late shares (stale ones are still checked for a block). */
const KEEP_JOBS = 16;
/** ntime may run ahead of the pool's clock by at most this (as Bitcoin's future limit). */
const MAX_NTIME_AHEAD = 7200;

/**
 * Share checks in the order of the Stratum V1 reference: known job, ntime window, version mask, extranonce2 size,
 * duplicate (by header hash), block (even for a stale share), stale, then the share difficulty.
 */
export class ShareChecker {
  private readonly jobs = new Map<string, JobEntry>();

  constructor(
    private readonly algo: Algo,
    private readonly powHash: (header80: Uint8Array) => Uint8Array,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Registers a job; with clean = true (a new tip) every earlier job becomes stale. */
  addJob(job: PoolJob, clean: boolean): void {
    if (clean) for (const e of this.jobs.values()) e.current = false;
    this.jobs.set(job.id, { job, current: true, seen: new Set() });
    while (this.jobs.size > KEEP_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
  }

  job(id: string): PoolJob | undefined {
    return this.jobs.get(id)?.job;
  }

  /** Checks one submission for a connection with extranonce1 `en1`; throws StratumError with the standard code. */
  check(p: SubmitParams, en1: Uint8Array, versionMask: number, difficulty: number): ShareOutcome {
    const entry = this.jobs.get(p.jobId);
    if (!entry) throw new StratumError(STRATUM_ERROR.jobNotFound, "Job not found");
    const { job } = entry;
    if (!/^[0-9a-fA-F]{8}$/.test(p.extranonce2)) throw new StratumError(STRATUM_ERROR.other, "extranonce2 must be 4 bytes (8 hex digits)");
    let ntime: number;
    try {
      ntime = parseU32(p.ntime, "ntime");
      parseU32(p.nonce, "nonce");
    } catch (e) {
      throw new StratumError(STRATUM_ERROR.other, (e as Error).message);
    }
    if (ntime < job.minTime || ntime > this.now() + MAX_NTIME_AHEAD) throw new StratumError(STRATUM_ERROR.other, "ntime out of range");
    let built;
    try {
      built = shareHeader(job, en1, p, versionMask);
    } catch (e) {
      throw new StratumError(STRATUM_ERROR.other, (e as Error).message);
    }
    const digest = this.powHash(built.bytes);
    const key = toHex(digest);
    if (entry.seen.has(key)) throw new StratumError(STRATUM_ERROR.duplicate, "Duplicate share");
    entry.seen.add(key);
    const h = leToBigInt(digest);
    const outcome: ShareOutcome = { credit: difficulty, hashDifficulty: hashDifficulty(h, this.algo), headerHash: key, stale: !entry.current };
    if (h <= bitsToTarget(job.template.header.bits)) {
      // A block is a block, stale job or not, whatever the share difficulty.
      outcome.block = { header: built.header, txs: [decodeTx(built.coinbase), ...job.template.txs.slice(1)] };
      return outcome;
    }
    if (outcome.stale) throw new StratumError(STRATUM_ERROR.jobNotFound, "Stale share");
    if (h > difficultyToTarget(difficulty, this.algo)) throw new StratumError(STRATUM_ERROR.lowDifficulty, "Low difficulty share");
    return outcome;
  }
}

// What the parts of the pool (sessions.ts, jobs.ts, stratifier.ts, report.ts) see of the pool and of each other:
// narrow views, nothing more. It imports none of the parts, so no part reaches another, or server.ts, through its
// imports (a circle even of types ties files together); server.ts wires the parts and satisfies these views.
import type { Algo, Ban, Guard } from "../core";
import type { StratumError } from "../stratum";
import type { ConnOwner, PoolConn } from "./conn";
import type { PoolJob } from "./job";
import type { StoredPlan } from "./ledger";
import type { PoolServerOptions } from "./options";
import type { ShareChecker, RejectReason } from "./shares";
import type { LatencyRing, WorkerStats } from "./stats";

/** A published job with what the pool keeps about it (kept with it in the share checker's cache). */
export interface JobRecord {
  job: PoolJob;
  seq: number;
  plan: StoredPlan;
  createdAt: number;
  /** The network's difficulty for this job: share difficulties are never set above it (no withheld blocks). */
  networkDifficulty: number;
}

/** Connections and their difficulty (sessions.ts), as the other parts use them. */
export interface SessionsView {
  readonly conns: ReadonlySet<PoolConn>;
  capDifficulty(c: PoolConn): boolean;
  raiseDifficulty(c: PoolConn, seq: number): boolean;
  retarget(c: PoolConn, nowMs: number): void;
  enforce(ban: Ban, restored?: boolean): StratumError;
  connectedPayees(): Map<string, bigint>;
}

/** Work (jobs.ts), as the other parts use it. */
export interface JobsView {
  readonly current: JobRecord | null;
  readonly seq: number;
  readonly problem: string | null;
  readonly networkDifficulty: number;
  issued(jobId: string): boolean;
  sendWork(c: PoolConn): void;
  payeeJoined(address: Uint8Array): void;
}

/** The share path (stratifier.ts), as the other parts use it. */
export interface SharesView {
  readonly checker: ShareChecker<JobRecord>;
  readonly pendingBlocks: ReadonlySet<Promise<void>>;
  readonly storageError: string | null;
  parentFree(prevHex: string): void;
}

/** The pool's counters (report.ts). */
export interface ReportCounters {
  accepted: number;
  acceptedDifficulty: number;
  blocks: number;
  blockCandidatesSkipped: number;
  bans: number;
  notifies: number;
  jobs: number;
}

/** What the pool shows (report.ts), as the other parts feed it. */
export interface ReportView {
  readonly counters: ReportCounters;
  readonly workers: ReadonlyMap<string, WorkerStats>;
  readonly tipToNotify: LatencyRing;
  lastBroadcastMs: number;
  workerJoined(user: string, address: Uint8Array, connectedAt: number, now: number): void;
  workerLeft(user: string, connectedAt: number, now: number): void;
  accepted(w: WorkerStats, credit: number, difficulty: number, ms: number, done: number): void;
  refused(w: WorkerStats, reason: RejectReason): void;
}

/** The pool as its parts see it: its options, clock and guard, the other parts through their views, and the owner
 * of every connection (what a session asks of the pool). */
export interface PoolContext extends ConnOwner {
  /** The options, as changed by configure(). */
  readonly o: PoolServerOptions;
  readonly now: () => number;
  readonly algo: Algo;
  readonly guard: Guard;
  readonly sessions: SessionsView;
  readonly jobs: JobsView;
  readonly shares: SharesView;
  readonly report: ReportView;
  isRunning(): boolean;
  health(): { ok: boolean; problems: string[] };
}

// The pool's settings: anti-abuse limits and what a PoolServer is built from.
import type { Logger } from "../core";
import { MAX_MINER_MESSAGE_BYTES } from "../stratum";
import type { Ledger } from "./ledger";
import type { WorkSource } from "./source";
import type { VardiffOptions } from "./vardiff";
import type { PoolBus } from "./bus";
import type { ConnSlots } from "./shard-conns";

/** Anti-abuse limits; 0 turns a limit off where that makes sense. */
export interface PoolLimits {
  /** Shares per second per connection: past it the difficulty is raised and excess shares are dropped (not invalid). */
  sharesPerSecond: number;
  /** Ban a worker whose connection has more than this fraction of invalid shares (wrong work, not stale)... */
  banInvalidRatio: number;
  /** ...once it has submitted at least this many valid and invalid ones. */
  banMinShares: number;
  /** Cap of a ban's duration (bans start at a minute and double per repeat); 0: no bans. */
  banSeconds: number;
  /** Seconds a connection may stay without an authorized worker. */
  authorizeSeconds: number;
  /** Seconds without any message after which an authorized connection is closed (a stale worker). */
  idleSeconds: number;
  /** Connections per IP (0: no cap). */
  maxPerIp: number;
  /** Line (JSON) and frame (native) size cap in bytes of what a miner sends (what the pool sends: MAX_POOL_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Workers (authorized user names) on one connection (0: no cap). */
  maxWorkersPerConn: number;
  /** Distinct workers authorized from one IP across its open connections (0: no cap). */
  maxWorkersPerIp: number;
}

export const DEFAULT_LIMITS: PoolLimits = {
  sharesPerSecond: 100,
  banInvalidRatio: 0.1,
  banMinShares: 100,
  banSeconds: 3600,
  authorizeSeconds: 30,
  idleSeconds: 900,
  maxPerIp: 256,
  maxMessageBytes: MAX_MINER_MESSAGE_BYTES,
  maxWorkersPerConn: 256,
  maxWorkersPerIp: 1024,
};

/**
 * Worker records of disconnected workers kept for the stats (the oldest beyond this are forgotten first); records
 * of workers that never sent a share go when their last connection closes.
 */
export const MAX_IDLE_WORKER_RECORDS = 10_000;

export interface PoolServerOptions {
  /** Where jobs come from and blocks go: the node's chain or an upstream daemon. */
  source: WorkSource;
  /** The proof-of-work hash of an 80-byte header (the kernel). */
  powHash: (header: Uint8Array) => Uint8Array;
  /** The same for n headers end to end (the kernel's batch call); without it, one powHash per share. */
  powHashMany?: (headers: Uint8Array, n: number) => Uint8Array;
  ledger: Ledger;
  log: Logger;
  /** Public key the pool fee is paid to. */
  poolAddress: Uint8Array;
  poolFeeBps: number;
  scheme: "pplns" | "prop";
  /** PPLNS window in difficulty units; "auto": twice the network difficulty at the time. */
  pplnsWindow: number | "auto";
  vardiff: VardiffOptions;
  startDifficulty: number;
  limits: PoolLimits;
  /** Seconds between job refreshes when the tip does not change (new transactions, new payout plan). */
  jobRefreshSeconds: number;
  /** First byte of every extranonce1: keeps them unique across pool instances. */
  instanceId: number;
  /**
   * leader (default): builds jobs from the source. follower: adopts the jobs a leader publishes (Jobs.adopt) and
   * never builds its own; switched at runtime by setRole (the bus's lease decides with several members).
   */
  role?: "leader" | "follower";
  /** Other members (instances, shards): per-IP counts and bans shared, jobs adopted or published, health. */
  bus?: PoolBus;
  /**
   * Stratum shards of one process: connections per IP (slots) and distinct workers per IP (workers) counted across
   * them in shared memory (the caps hold exactly), and this member's place (0: the main thread, 1..15: a shard) in
   * the second extranonce1 byte's high nibble.
   */
  shard?: { index: number; slots: ConnSlots; workers: ConnSlots };
  /** BIP310 bits miners may roll. */
  versionMask?: number;
  now?: () => number;
}

// Proof-of-sync (seed 002): the producer of each height is chosen deterministically from chain state, with six
// backups that take over slot by slot when the one before stays silent. Everything a block's validity depends on
// (the producer pool, the winners, the slot's opening time) is a function of the block's own branch, so every node
// with that branch reaches the same verdict; only "should I try to produce now" uses local observations.

/** The constants of DESIGN.md. */
export const SYNC = {
  tickMs: 250,
  snapshotMs: 1000,
  slotMs: 1200,
  backups: 6,
  jitterMinMs: 50,
  jitterSpanMs: 350,
  maxLag: 2,
  minReadyPeers: 1,
  streakRequired: 3,
  /** A producer that missed its primary slot sits out this many heights (then it is drawn again). */
  missedPrimaryPause: 100,
  /** A block stamped further ahead of the receiver's clock than this waits until it is not. */
  maxFutureMs: 2000,
} as const;

import type { ProducerRules } from "../core";

const enc = new TextEncoder();

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = new Bun.CryptoHasher("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** The first 8 bytes of a hash as a little-endian u64. */
export function u64(seed: Uint8Array): bigint {
  return new DataView(seed.buffer, seed.byteOffset, 8).getBigUint64(0, true);
}

/** epoch_salt = H(chain_id || "mining-epoch-v1"). */
export function epochSalt(chainId: string): Uint8Array {
  return sha256(enc.encode(chainId), enc.encode("mining-epoch-v1"));
}

/** seed = H(prev_hash || height as u64 LE || epoch_salt). */
export function slotSeed(prevHash: Uint8Array, height: number, salt: Uint8Array): Uint8Array {
  const h = new Uint8Array(8);
  new DataView(h.buffer).setBigUint64(0, BigInt(height), true);
  return sha256(prevHash, h, salt);
}

/**
 * The producers of one height, slot 0 (primary) first, then the backups: primary = pool[u64(seed) % n], backup i
 * from H(seed || "reroll" + i) the same way. A reroll that lands on a producer already listed is skipped (the next
 * reroll is tried), so the slots name distinct producers: min(n, 1 + backups) of them. `pool` must be sorted.
 */
export function winners(seed: Uint8Array, pool: readonly string[], backups: number = SYNC.backups): string[] {
  const n = pool.length;
  if (n === 0) return [];
  const out = [pool[Number(u64(seed) % BigInt(n))]!];
  const want = Math.min(n, 1 + backups);
  for (let i = 0; out.length < want; i++) {
    const id = pool[Number(u64(sha256(seed, enc.encode(`reroll${i}`))) % BigInt(n))]!;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** jitter = u64(H(seed || node_id)) % 350 + 50 ms: the same for a node and height everywhere. */
export function jitterMs(seed: Uint8Array, nodeId: Uint8Array): number {
  return Number(u64(sha256(seed, nodeId)) % BigInt(SYNC.jitterSpanMs)) + SYNC.jitterMinMs;
}

/**
 * The timestamp rule: the block of slot s may carry a time (ms) no earlier than its parent's time + s x slot length,
 * so a backup cannot claim a height before the slots ahead of it have had their time; and a receiver holds a block
 * stamped more than maxFutureMs ahead of its own clock until that is no longer so (not invalid, only early).
 */
export function slotOpensAt(parentTimeMs: number, slot: number): number {
  return parentTimeMs + slot * SYNC.slotMs;
}

export type SyncState = "AtTip" | "Behind" | "CatchingUp" | "TooFarAhead";

/** What a node sees of itself and its ready peers at one tick. */
export interface Observation {
  localHeight: number;
  /** Highest height a ready peer has proven (headers or blocks it sent; the local height if none). */
  networkHeight: number;
  readyPeers: number;
}

/**
 * Eligibility with hysteresis: AtTip (lag 0), Behind (lag 1..maxLag), CatchingUp (lag > maxLag), TooFarAhead
 * (ahead of every peer). A node may produce when it is AtTip, has a ready peer, and has been AtTip for 3 ticks.
 */
export class Eligibility {
  streak = 0;
  state: SyncState = "CatchingUp";
  lag = 0;
  eligible = false;

  tick(o: Observation): boolean {
    this.lag = o.networkHeight - o.localHeight;
    this.state = this.lag < 0 ? "TooFarAhead" : this.lag === 0 ? "AtTip" : this.lag <= SYNC.maxLag ? "Behind" : "CatchingUp";
    this.streak = this.state === "AtTip" ? this.streak + 1 : 0;
    this.eligible = this.state === "AtTip" && o.readyPeers >= SYNC.minReadyPeers && this.streak >= SYNC.streakRequired;
    return this.eligible;
  }
}

/** What fork choice needs of a branch's tip. */
export interface SyncBlockInfo {
  hash: Uint8Array;
  height: number;
  /** Sum of the slots of every block from genesis to this one. */
  slotSum: number;
}

/**
 * Fork choice between two tips: most blocks; at equal height, fewer backup slots since the fork (the branches share
 * what is before it, so the sums from genesis compare the same), then the lower hash. Negative: a wins. The chain
 * implements the same order as work: 2^20 - slot per block, equal work going to the lower hash.
 */
export function compareBranches(a: SyncBlockInfo, b: SyncBlockInfo): number {
  if (a.height !== b.height) return b.height - a.height;
  if (a.slotSum !== b.slotSum) return a.slotSum - b.slotSum;
  return compareBytes(a.hash, b.hash);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A block's claim as far as the producer rules go. */
export interface Claim {
  height: number;
  slot: number;
  producer: string;
  timeMs: number;
}

/**
 * The producer rules for one block on its parent: the slot exists, the producer holds it, and the slot's time had
 * come. `pool` is the producer pool of the block's branch at this height (see producerPool). Returns a reason, or
 * null when the claim is valid.
 */
export function checkClaim(c: Claim, parent: { hash: Uint8Array; timeMs: number }, pool: readonly string[], salt: Uint8Array): string | null {
  const w = winners(slotSeed(parent.hash, c.height, salt), pool);
  if (!Number.isInteger(c.slot) || c.slot < 0 || c.slot >= w.length) return `slot ${c.slot} does not exist (${w.length} slots)`;
  if (w[c.slot] !== c.producer) return `slot ${c.slot} of height ${c.height} belongs to ${w[c.slot]!.slice(0, 16)}, not ${c.producer.slice(0, 16)}`;
  if (c.timeMs < slotOpensAt(parent.timeMs, c.slot)) return `slot ${c.slot} opens at ${slotOpensAt(parent.timeMs, c.slot)}, block stamped ${c.timeMs}`;
  return null;
}

/**
 * The producer pool at a height, from the branch: the registered producers, less those that missed their primary
 * slot (a block at that height came from a backup) within the last missedPrimaryPause heights. Sorted. `recent`
 * lists the branch's last blocks (newest last) with the primary they had and the slot that produced them.
 */
export function producerPool(registered: readonly string[], recent: readonly { primary: string; slot: number }[]): string[] {
  const paused = new Set<string>();
  for (const b of recent.slice(-SYNC.missedPrimaryPause)) if (b.slot > 0) paused.add(b.primary);
  const pool = registered.filter((p) => !paused.has(p));
  return (pool.length ? pool : [...registered]).sort();
}

/** The chain's view of these rules for one network: its chain id (the salt) and its registered producers. */
export function producerRules(chainId: string, registered: readonly string[]): ProducerRules {
  const salt = epochSalt(chainId);
  const reg = [...registered].sort();
  return {
    slotMs: SYNC.slotMs,
    memory: SYNC.missedPrimaryPause,
    winners: (parentHash, height, recent) => winners(slotSeed(parentHash, height, salt), producerPool(reg, recent)),
    pool: (recent) => producerPool(reg, recent),
  };
}

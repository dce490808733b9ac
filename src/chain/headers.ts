import { leToBigInt } from "../core";
import { blockHash } from "./block";
import { bitsToTarget, encodeHeader, type Header } from "./header";
import type { NetworkParams } from "./params";

/** What the header checks need of the chain and the node. */
export interface HeaderCheckContext {
  params: NetworkParams;
  /** A stored block that is not invalid: its height and header time; null when unknown or invalid. */
  known: (hash: Uint8Array) => { height: number; time: number } | null;
  powHash: (header80: Uint8Array) => Uint8Array;
  /** Seconds since the epoch. */
  now: () => number;
}

/** Most seconds a proof-of-sync block may be stamped ahead of the receiver (the chain's rule, in whole seconds). */
const SYNC_MAX_FUTURE_S = 2;

/**
 * The height a run of headers proves: the first header must build on a block we hold, each next one on the one
 * before, and each must pass the checks a header allows without its body (proof-of-work networks: bits within the
 * limit and the hash meeting them; proof-of-sync: the network's fixed bits, a time not before its parent's; both: a
 * time not too far ahead of this node's clock). The run counts up to its last header that passes; null if the first
 * does not build on a block we hold (or fails). A peer's claimed height is worth only what this returns (see p2p).
 */
export function provenHeight(headers: readonly Header[], ctx: HeaderCheckContext): number | null {
  const p = ctx.params;
  const sync = p.consensus === "sync";
  const limit = bitsToTarget(p.powLimitBits);
  const maxTime = ctx.now() + (sync ? SYNC_MAX_FUTURE_S : p.maxFutureSeconds);
  let parent: { hash: Uint8Array; height: number; time: number } | null = null;
  let proven: number | null = null;
  for (const h of headers) {
    if (parent === null) {
      const k = ctx.known(h.prevHash);
      if (!k) return null;
      parent = { hash: h.prevHash, ...k };
    } else if (Buffer.compare(h.prevHash, parent.hash) !== 0) break;
    if (h.time > maxTime) break;
    if (sync) {
      if (h.bits !== p.powLimitBits || h.time < parent.time) break;
    } else {
      let target: bigint;
      try {
        target = bitsToTarget(h.bits);
      } catch {
        break;
      }
      if (target === 0n || target > limit || leToBigInt(ctx.powHash(encodeHeader(h))) > target) break;
    }
    parent = { hash: blockHash(h), height: parent.height + 1, time: h.time };
    proven = parent.height;
  }
  return proven;
}

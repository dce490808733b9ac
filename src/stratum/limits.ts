import { encodeLoose, type LooseValue } from "../core";
import { encodeLine } from "./jsonline";

// Message size caps, one pair for both ends of a Stratum link. A miner only sends small requests (subscribe,
// authorize, submit), so what a pool reads is capped small; what a pool sends is dominated by mining.notify, whose
// coinbase grows with the payout plan (about 88 hex characters per output), so what a pool writes and a worker reads
// is capped from the largest notify a network's coinbase rules allow.

/** Most bytes of one message a miner may send (a line or a frame): every request fits in far less. */
export const MAX_MINER_MESSAGE_BYTES = 16 * 1024;

/**
 * Most bytes of one message a pool may send and a worker accepts. The largest notify rignode can produce is for the
 * largest coinbase any network allows (10,000 outputs: about 880 KB, see notifyBytesBound); 1 MiB holds it.
 */
export const MAX_POOL_MESSAGE_BYTES = 1024 * 1024;

/** Most hashes in a merkle branch: 2^32 transactions, more than any block can hold. */
export const MAX_BRANCH_LENGTH = 32;

/**
 * The largest mining.notify (JSON line or native frame, whichever is longer) for a coinbase of at most
 * `coinbaseBytes` bytes and a branch of `branch` hashes. The whole coinbase goes into coinb1: coinb1 + coinb2 is 8
 * bytes shorter (the extranonce), which more than pays for coinb2's own string header.
 */
export function notifyBytesBound(coinbaseBytes: number, branch = MAX_BRANCH_LENGTH): number {
  const hash = "ff".repeat(32);
  const params = ["ffffffff", hash, "ff".repeat(coinbaseBytes), "", Array.from({ length: branch }, () => hash), "ffffffff", "ffffffff", "ffffffff", false];
  const m = { id: null, method: "mining.notify", params };
  return Math.max(encodeLine(m).length, 4 + encodeLoose(m as LooseValue).length);
}


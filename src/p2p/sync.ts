import { blockHash, decodeHeader, type Chain } from "../chain";
import { MAX_BLOCKS_PER_MSG, MAX_HEADERS, type Message } from "./messages";
import { hex, type Links, type PeerState } from "./peer";

/** Our main chain's hashes at the tip, then back in doubling steps to genesis: where a peer finds the fork. */
export function locator(chain: Chain, genesis: Uint8Array): Uint8Array[] {
  const tip = chain.tip();
  const out: Uint8Array[] = [];
  let step = 1;
  for (let h = tip.height; h > 0 && out.length < 60; h -= step) {
    out.push(chain.hashAt(h)!);
    if (out.length >= 10) step *= 2;
  }
  out.push(genesis);
  return out;
}

/** Up to MAX_HEADERS main-chain headers after the first locator hash that is on our main chain. */
export function headersAfter(chain: Chain, loc: Uint8Array[]): Uint8Array[] {
  let start = 0;
  for (const h of loc) {
    const b = chain.block(h);
    if (b && b.status === "main") {
      start = b.height;
      break;
    }
  }
  const tip = chain.tip().height;
  const out: Uint8Array[] = [];
  for (let h = start + 1; h <= tip && out.length < MAX_HEADERS; h++) out.push(chain.headerBytesAt(h)!);
  return out;
}

const MAX_INFLIGHT = 64;
/**
 * A peer asked for headers, or for blocks its headers or invs named, that sends nothing of them within this is
 * misbehaving: an honest peer answers from its store at once, and a claim it does not back must not linger.
 */
const PROOF_TIMEOUT_MS = 30_000;

/**
 * Headers-first sync over the links: asking for headers, queueing the blocks they name, keeping a capped number in
 * flight per peer, the deadlines for both, and handing what a dropped peer owed to another.
 */
export class Sync {
  constructor(private readonly l: Links) {
    l.onGone = (p) => this.rotate(p);
  }

  /** Asks for headers after our locator; the peer has PROOF_TIMEOUT_MS to send some (see overdue). */
  askHeaders(p: PeerState): void {
    if (!p.headersAskedAt) p.headersAskedAt = Date.now();
    this.l.send(p, { t: "getheaders", locator: locator(this.l.chain, this.l.genesis) });
  }

  /** A getheaders answer: our main-chain headers after its locator. */
  onGetHeaders(p: PeerState, m: Extract<Message, { t: "getheaders" }>): void {
    this.l.send(p, { t: "headers", headers: headersAfter(this.l.chain, m.locator) });
  }

  onHeaders(p: PeerState, m: Extract<Message, { t: "headers" }>): void {
    const chain = this.l.chain;
    p.headersAskedAt = 0;
    const headers = m.headers.map((h) => decodeHeader(h));
    // Headers answer our locator, so they build on a block we hold, each on the one before: others are made up
    // (or another chain's) and no block is asked for them.
    const hashes = headers.map((h) => blockHash(h));
    const first = headers.length ? chain.block(headers[0]!.prevHash) : null;
    if (headers.length && (!first || first.status === "invalid")) return this.l.misbehave(p, "headers that do not connect to our chain");
    for (let i = 1; i < headers.length; i++) {
      if (!Buffer.from(headers[i]!.prevHash).equals(hashes[i - 1]!)) return this.l.misbehave(p, `headers that do not chain (at ${i})`);
    }
    const proven = chain.provenHeight(headers);
    if (proven !== null && proven > p.height) p.height = proven;
    let dropped = false;
    for (const hash of hashes) {
      const key = hex(hash);
      if (p.inflight.has(key) || p.wanted.has(key) || chain.block(hash)) continue;
      if (!p.wanted.push(hash, key)) dropped = true;
    }
    // Headers beyond the queue's cap are asked again once it drains.
    p.lastHeadersFull = m.headers.length === MAX_HEADERS || dropped;
    return this.requestBlocks(p);
  }

  /** Asks for wanted blocks in order, keeping at most MAX_INFLIGHT outstanding; then more headers if there are. */
  requestBlocks(p: PeerState): void {
    while (p.wanted.size && p.inflight.size < MAX_INFLIGHT) {
      const batch: Uint8Array[] = [];
      while (p.wanted.size && batch.length < MAX_BLOCKS_PER_MSG && p.inflight.size + batch.length < MAX_INFLIGHT) {
        const h = p.wanted.shift()!;
        if (this.l.chain.block(h) || p.inflight.has(hex(h))) continue;
        batch.push(h);
      }
      if (!batch.length) break;
      if (!p.inflight.size) p.blocksAskedAt = Date.now();
      for (const h of batch) p.inflight.add(hex(h));
      this.l.send(p, { t: "getblocks", hashes: batch });
    }
    if (!p.wanted.size && !p.inflight.size && p.lastHeadersFull) {
      p.lastHeadersFull = false;
      this.askHeaders(p);
    }
  }

  /**
   * Blocks a dropped peer still owed us are asked of another: the ready peer that proved the most beyond our tip
   * is asked for headers, and its answer queues whichever of them it has.
   */
  rotate(gone: PeerState): void {
    if (this.l.stopped) return;
    const tip = this.l.chain.tip().height;
    let best: PeerState | null = null;
    for (const q of this.l.peers) if (q.ready && q !== gone && q.height > tip && (!best || q.height > best.height)) best = q;
    if (!best) return;
    this.l.log.info("p2p.rotate", { from: gone.address, to: best.address, owed: gone.inflight.size + gone.wanted.size });
    this.askHeaders(best);
  }

  /** Closes (or bans) a peer that owes headers or blocks past the deadline; true when it did. */
  overdue(p: PeerState, now: number): boolean {
    // Owed for 30 s with not a byte from the peer since we asked (a slow link that is still sending is fine).
    const owes = (askedAt: number) => askedAt > 0 && now - Math.max(askedAt, p.lastBytes) > PROOF_TIMEOUT_MS;
    if (owes(p.headersAskedAt)) {
      const why = `no headers within ${PROOF_TIMEOUT_MS / 1000} s of asking (its hello claimed height ${p.claimed}, it has proven ${p.height})`;
      // It claimed more than we have and will not show it: the lie that holds producers back. Banned. Otherwise (a
      // stuck link) only dropped, and another peer is asked.
      if (p.claimed > this.l.chain.tip().height) this.l.misbehave(p, why);
      else {
        this.l.log.info("p2p.timeout", { peer: p.address, reason: "no headers", claimed: p.claimed, proven: p.height });
        this.l.close(p, why);
      }
      return true;
    }
    if (owes(p.blocksAskedAt)) {
      const why = `none of ${p.inflight.size} blocks it announced came within ${PROOF_TIMEOUT_MS / 1000} s of asking, and nothing else`;
      // Headers that promise blocks beyond our tip and then silence: the lie that holds producers back. Banned.
      // Otherwise (a stalled link) only dropped.
      if (p.height > this.l.chain.tip().height) this.l.misbehave(p, `${why} (it proved headers up to ${p.height})`);
      else {
        this.l.log.info("p2p.timeout", { peer: p.address, reason: "blocks not delivered" });
        this.l.close(p, why);
      }
      return true;
    }
    return false;
  }
}

import { blockHash, decodeBlock, decodeTx, encodeBlock, encodeTx, ValidationError } from "../chain";
import type { Message } from "./messages";
import { hex, type Links, type PeerState } from "./peer";
import type { Sync } from "./sync";

/**
 * Block and transaction relay: our tip announced, blocks served and taken in, block invs queued for sync, and
 * transactions fetched, added to the mempool and announced on.
 */
export class Relay {
  private announceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly l: Links,
    private readonly sync: Sync,
  ) {
    l.chain.onTip(() => this.scheduleTipAnnounce());
  }

  stop(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
  }

  /**
   * Announces the tip at most every 50 ms: while syncing, hundreds of blocks connect per second and one inv
   * per block would look like flooding to the peers (and tell them nothing the last one does not).
   */
  private scheduleTipAnnounce(): void {
    if (this.announceTimer || this.l.stopped) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      const tip = this.l.chain.tip().hash;
      const key = hex(tip);
      for (const p of this.l.peers) if (p.ready && !p.knows.has(key)) this.l.send(p, { t: "inv", kind: "block", ids: [tip] });
    }, 50);
  }

  /** Announces a transaction this node accepted (from its API) to every peer. */
  relayTx(id: Uint8Array): void {
    this.l.broadcast({ t: "inv", kind: "tx", ids: [id] });
  }

  onGetBlocks(p: PeerState, m: Extract<Message, { t: "getblocks" }>): void {
    // Split across messages so that each fits a frame (16 full blocks do not): the asker times out missing blocks.
    let blocks: Uint8Array[] = [];
    let bytes = 0;
    for (const h of m.hashes) {
      const b = this.l.chain.block(h);
      if (!b || b.status === "invalid") continue;
      const raw = encodeBlock(b.block);
      if (blocks.length && bytes + raw.length + 64 > this.l.maxFrame) {
        this.l.send(p, { t: "blocks", blocks });
        blocks = [];
        bytes = 0;
      }
      blocks.push(raw);
      bytes += raw.length + 8;
    }
    return this.l.send(p, { t: "blocks", blocks });
  }

  onBlocks(p: PeerState, m: Extract<Message, { t: "blocks" }>): void {
    let asked = 0;
    for (const raw of m.blocks) {
      const b = decodeBlock(raw);
      const hash = blockHash(b.header);
      if (p.inflight.delete(hex(hash))) asked++;
      this.l.remember(p, hash);
      try {
        p.height = Math.max(p.height, this.l.chain.acceptBlock(b, `peer ${p.address}`).height);
      } catch (e) {
        if (e instanceof ValidationError && e.rule === "orphan") {
          // A block whose parent we lack: catch up from this peer first.
          this.sync.askHeaders(p);
          continue;
        }
        throw e;
      }
    }
    // The deadline restarts only for blocks we asked for: unasked ones (or an empty message) do not keep it off.
    if (!p.inflight.size) p.blocksAskedAt = 0;
    else if (asked) p.blocksAskedAt = Date.now();
    return this.sync.requestBlocks(p);
  }

  onInv(p: PeerState, m: Extract<Message, { t: "inv" }>): void {
    const chain = this.l.chain;
    if (m.kind === "block") {
      for (const id of m.ids) {
        const key = hex(id);
        // An id this peer named before costs a set lookup: a flood of repeats queues and looks up nothing.
        if (p.knows.has(key)) continue;
        this.l.remember(p, id, key);
        const h = chain.heightOf(id);
        if (h !== null) {
          if (h > p.height) p.height = h;
          continue;
        }
        // A full queue takes no more (the peer's headers name them again).
        if (p.inflight.has(key) || p.wanted.has(key) || chain.block(id)) continue;
        p.wanted.push(id, key);
      }
      return this.sync.requestBlocks(p);
    }
    const missing = m.ids.filter((id) => !chain.txLocation(id) && !chain.mempoolTx(id));
    if (missing.length) this.l.send(p, { t: "gettx", ids: missing });
  }

  onGetTx(p: PeerState, m: Extract<Message, { t: "gettx" }>): void {
    const txs = m.ids.map((id) => this.l.chain.mempoolTx(id)).filter((t) => t !== null).map((t) => encodeTx(t));
    return this.l.send(p, { t: "txs", txs });
  }

  onTxs(p: PeerState, m: Extract<Message, { t: "txs" }>): void {
    for (const raw of m.txs) {
      const t = decodeTx(raw);
      if (t.type !== "transfer") return this.l.misbehave(p, "a coinbase relayed as a transaction");
      try {
        const id = this.l.chain.addToMempool(t);
        this.l.broadcast({ t: "inv", kind: "tx", ids: [id] }, p);
      } catch (e) {
        if (e instanceof ValidationError && e.rule === "bad-signature") throw e;
        // Stale nonce, duplicate, full mempool: normal when transactions race; not the sender's fault.
      }
    }
  }
}

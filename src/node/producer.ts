import { randomBytes } from "node:crypto";
import { leToDisplayHex, toHex, type Logger, type MetricFamily } from "../core";
import { blockHash, EXTRANONCE_BYTES, sealBytes, signMessage, syncMemo, type Block, type Chain, type KeyPair } from "../chain";
import { Eligibility, jitterMs, slotSeed, epochSalt, SYNC, type Observation } from "../consensus";
import type { PeerInfo } from "../p2p";

/** A height this node was drawn for and tried to produce (recorded before proposing). */
export interface ClaimReceipt {
  height: number;
  slot: number;
  tip_hash: string;
  at: number;
  outcome: "pending" | "produced" | "superseded" | "failed";
  error?: string;
}

/**
 * The proof-of-sync producer loop (seed 002): a 1 s network snapshot (local height, best height ready peers have
 * proven — headers or blocks they sent, never a hello's claim, so one lying peer cannot hold every producer back), a
 * 250 ms tick that keeps eligibility (3 ticks at tip with a ready peer), and, for each new height this node holds a
 * slot in, a proposal after slot x 1200 ms + its jitter if no block for that height has come by then.
 */
export class Producer {
  private readonly elig = new Eligibility();
  private snap: Observation;
  private lastAttempt = 0;
  private timers: ReturnType<typeof setInterval>[] = [];
  private pending = new Set<ReturnType<typeof setTimeout>>();
  readonly receipts: ClaimReceipt[] = [];
  readonly myId: string;
  produced = 0;
  claims = 0;
  readonly slotsWon = Array.from({ length: 1 + SYNC.backups }, () => 0);
  private readonly salt: Uint8Array;
  private mySlot: number | null = null;

  constructor(
    private readonly o: { chain: Chain; peers: () => PeerInfo[]; nodeKey: KeyPair; payTo: Uint8Array; log: Logger },
  ) {
    this.myId = toHex(o.nodeKey.publicKey);
    this.salt = epochSalt(o.chain.params.chainId);
    this.snap = this.observe();
  }

  start(): void {
    this.timers.push(setInterval(() => (this.snap = this.observe()), SYNC.snapshotMs));
    this.timers.push(setInterval(() => this.tick(), SYNC.tickMs));
    if (!this.o.chain.params.producers.includes(this.myId)) {
      this.o.log.info("sync.not_a_producer", { node_id: this.myId.slice(0, 16), note: "this node follows the chain; its key is not registered as a producer" });
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const t of this.pending) clearTimeout(t);
    this.timers = [];
    this.pending.clear();
  }

  private observe(): Observation {
    const ready = this.o.peers().filter((p) => p.ready);
    const local = this.o.chain.tip().height;
    return { localHeight: local, networkHeight: Math.max(local, ...ready.map((p) => p.height ?? 0)), readyPeers: ready.length };
  }

  private tick(): void {
    // The local height and the ready links move between snapshots (a lost link stops production at once); the
    // network's height is the last snapshot's (or ours when ahead).
    const local = this.o.chain.tip().height;
    const ready = this.o.peers().filter((p) => p.ready).length;
    const obs = { localHeight: local, networkHeight: Math.max(this.snap.networkHeight, local), readyPeers: ready };
    if (!this.elig.tick(obs)) return;
    const tip = this.o.chain.tip();
    const h = tip.height + 1;
    if (h <= this.lastAttempt) return;
    this.lastAttempt = h;
    const w = this.o.chain.syncWinners(tip.hash);
    const slot = w.winners.indexOf(this.myId);
    this.mySlot = slot >= 0 ? slot : null;
    if (slot < 0) return;
    const jitter = jitterMs(slotSeed(tip.hash, h, this.salt), this.o.nodeKey.publicKey);
    const delay = slot * SYNC.slotMs + jitter;
    // Per height: debug lines; the block itself gets chain.tip at info (from="producer slot N").
    if (slot === 0) this.o.log.debug("sync.primary", { height: h, delay_ms: delay });
    else this.o.log.debug("sync.backup", { height: h, slot, delay_ms: delay });
    const t = setTimeout(() => {
      this.pending.delete(t);
      this.produce(tip.hash, h, slot, w.parentTimeMs);
    }, delay);
    this.pending.add(t);
  }

  private produce(parent: Uint8Array, height: number, slot: number, parentTimeMs: number): void {
    if (Buffer.compare(this.o.chain.tip().hash, parent) !== 0) return; // a block for this height came first
    if (!this.elig.eligible) return; // lost the network (or fell behind) while waiting for the slot
    const receipt: ClaimReceipt = { height, slot, tip_hash: leToDisplayHex(parent), at: Date.now(), outcome: "pending" };
    this.receipts.push(receipt);
    if (this.receipts.length > 100) this.receipts.shift();
    this.claims++;
    try {
      const timeMs = Math.max(Date.now(), parentTimeMs + slot * SYNC.slotMs);
      const extranonce = new Uint8Array(randomBytes(EXTRANONCE_BYTES));
      const t = this.o.chain.template((total) => [{ to: this.o.payTo, amount: total }], extranonce, syncMemo(this.myId, timeMs));
      const header = { ...t.header, nonce: slot, time: Math.floor(timeMs / 1000) };
      const hash = blockHash(header);
      const block: Block = { header, txs: t.txs, sig: signMessage(this.o.nodeKey.seed, sealBytes(this.o.chain.params.chainId, hash)) };
      const r = this.o.chain.acceptBlock(block, `producer slot ${slot}`);
      receipt.outcome = r.status === "side" ? "superseded" : "produced";
      if (receipt.outcome === "produced") {
        this.produced++;
        this.slotsWon[slot]!++;
        this.o.log.debug("sync.produced", { height, slot, hash: leToDisplayHex(hash), txs: block.txs.length });
      }
    } catch (e) {
      receipt.outcome = "failed";
      receipt.error = (e as Error).message;
      this.o.log.warn("sync.produce_failed", { height, slot, error: (e as Error).message });
    }
  }

  /** GET /api/mining/status: every field of seed 002. */
  status() {
    const tip = this.o.chain.tip();
    const w = this.o.chain.syncWinners(tip.hash);
    const slot = w.winners.indexOf(this.myId);
    const eligiblePool = w.pool.length;
    return {
      next_height: tip.height + 1,
      current_winner: w.winners[0] ?? null,
      backups: w.winners.slice(1),
      my_node_id: this.myId,
      my_slot: slot >= 0 ? slot : null,
      eligible: this.elig.eligible,
      sync_state: this.elig.state,
      local_height: tip.height,
      network_height: Math.max(this.snap.networkHeight, tip.height),
      lag_blocks: Math.max(0, this.snap.networkHeight - tip.height),
      eligible_pool_size: eligiblePool,
      ready_peers: this.snap.readyPeers,
      eligible_streak: this.elig.streak,
      recent_claims: this.receipts.slice(-10).map((r) => ({ ...r })),
      blocks_produced: this.produced,
    };
  }

  /** Prometheus series planned by the seed: eligible nodes, my slot, claims, blocks produced, slot distribution. */
  metrics(): MetricFamily[] {
    const s = this.status();
    return [
      { name: "rignode_sync_eligible_producers", help: "Producers in the pool for the next height.", type: "gauge", samples: [{ value: s.eligible_pool_size }] },
      { name: "rignode_sync_eligible", help: "1 when this node may produce (at tip, a ready peer, 3 ticks).", type: "gauge", samples: [{ value: s.eligible ? 1 : 0 }] },
      { name: "rignode_sync_my_slot", help: "This node's slot for the next height (0 = primary), -1 if none.", type: "gauge", samples: [{ value: s.my_slot ?? -1 }] },
      { name: "rignode_sync_claims_total", help: "Heights this node tried to produce.", type: "counter", samples: [{ value: this.claims }] },
      { name: "rignode_sync_blocks_produced_total", help: "Blocks this node produced that joined its main chain.", type: "counter", samples: [{ value: this.produced }] },
      {
        name: "rignode_sync_blocks_produced_by_slot_total",
        help: "Blocks this node produced, by the slot it held.",
        type: "counter",
        samples: this.slotsWon.map((v, slot) => ({ labels: { slot }, value: v })),
      },
    ];
  }
}

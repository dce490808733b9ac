import type { Database } from "bun:sqlite";
import { leToDisplayHex, RignodeError, type ProducerRules } from "../core";
import { decodeBlock, sealBytes, type Block } from "./block";
import { verifySignature } from "./keys";
import type { NetworkParams } from "./params";
import { ValidationError } from "./validate";

/** What a proof-of-sync block claims, parsed from its coinbase memo and header. */
export interface SyncClaim {
  producer: string;
  slot: number;
  timeMs: number;
}

const SYNC_MEMO = /^sync1:([0-9a-f]{64}):(\d{1,15})$/;

/** The coinbase memo of a proof-of-sync block: the producer and the block's time in ms (committed by the merkle root). */
export function syncMemo(producer: string, timeMs: number): string {
  return `sync1:${producer}:${timeMs}`;
}

/** A block's proof-of-sync claim, or null when its coinbase memo holds none. */
export function claimOf(b: Block): SyncClaim | null {
  const cb = b.txs[0];
  const m = cb?.type === "coinbase" ? SYNC_MEMO.exec(cb.memo) : null;
  return m ? { producer: m[1]!, slot: b.header.nonce, timeMs: Number(m[2]) } : null;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

type Info = { prev: string; primary: string; slot: number; timeMs: number };

/**
 * The proof-of-sync side of the chain: who may produce each height of a branch (the consensus rules, passed in as
 * ProducerRules), and the check of a block's claim against them. Each stored block's primary, slot and time are
 * computed once and cached by hash.
 */
export class SyncClaims {
  private readonly cache = new Map<string, Info>();

  constructor(
    private readonly db: Database,
    private readonly params: NetworkParams,
    private readonly rules: ProducerRules,
    /** Seconds since the epoch. */
    private readonly now: () => number,
  ) {}

  /**
   * The rules for a block on `parent`: its claim (coinbase memo, header nonce = slot, header time = the ms time in
   * seconds), the producer holding that slot for this branch, the slot's time come, not from the future, and the
   * producer's signature.
   */
  check(b: Block, hash: Uint8Array, height: number, parent: Uint8Array): SyncClaim {
    const claim = claimOf(b);
    if (!claim) throw new ValidationError("bad-claim", "a proof-of-sync block names its producer and time in the coinbase memo (sync1:PRODUCER:MS)");
    if (b.header.time !== Math.floor(claim.timeMs / 1000)) throw new ValidationError("bad-claim", `header time ${b.header.time} is not the claim's ${claim.timeMs} ms`);
    const p = this.info(parent);
    const w = this.rules.winners(parent, height, this.recent(parent, this.rules.memory));
    if (claim.slot >= w.length) throw new ValidationError("bad-slot", `slot ${claim.slot} does not exist (${w.length} slots)`);
    if (w[claim.slot] !== claim.producer) throw new ValidationError("wrong-producer", `slot ${claim.slot} of height ${height} is not ${claim.producer.slice(0, 16)}'s`);
    const opens = p.timeMs + claim.slot * this.rules.slotMs;
    if (claim.timeMs < opens) throw new ValidationError("slot-not-open", `slot ${claim.slot} opens at ${opens} ms, block stamped ${claim.timeMs}`);
    if (claim.timeMs > (this.now() + 2) * 1000) throw new ValidationError("time-too-new", `block stamped ${claim.timeMs} ms, ahead of this node's clock`);
    if (!b.sig || !verifySignature(Buffer.from(claim.producer, "hex"), sealBytes(this.params.chainId, hash), b.sig)) {
      throw new ValidationError("bad-signature", "the block is not signed by its producer");
    }
    this.cache.set(hex(hash), { prev: hex(parent), primary: w[0]!, slot: claim.slot, timeMs: claim.timeMs });
    return claim;
  }

  /** Primary, slot and ms time of a stored block (genesis: no primary, its time in ms), computed once per block. */
  private info(hash: Uint8Array): Info {
    const key = hex(hash);
    const hit = this.cache.get(key);
    if (hit) return hit;
    // Walk back to a known block, then fill forward: each primary needs the branch before it.
    const todo: { hash: Uint8Array; block: Block; height: number }[] = [];
    let cur: Uint8Array = hash;
    for (;;) {
      const r = this.db.query<{ body: Uint8Array; height: number }, [Uint8Array]>("SELECT body, height FROM blocks WHERE hash = ?").get(cur);
      if (!r) throw new RignodeError("internal", `block ${leToDisplayHex(cur)} is not stored`);
      const block = decodeBlock(r.body);
      if (r.height === 0) {
        this.cache.set(hex(cur), { prev: "", primary: "", slot: 0, timeMs: block.header.time * 1000 });
        break;
      }
      todo.push({ hash: cur, block, height: r.height });
      if (this.cache.has(hex(block.header.prevHash))) break;
      cur = block.header.prevHash;
    }
    for (let i = todo.length - 1; i >= 0; i--) {
      const t = todo[i]!;
      const claim = claimOf(t.block)!;
      const w = this.rules.winners(t.block.header.prevHash, t.height, this.recent(t.block.header.prevHash, this.rules.memory));
      this.cache.set(hex(t.hash), { prev: hex(t.block.header.prevHash), primary: w[0] ?? "", slot: claim.slot, timeMs: claim.timeMs });
    }
    return this.cache.get(key)!;
  }

  /** The last `n` blocks of the branch ending at `hash` (genesis excluded), oldest first: primary and slot. */
  recent(hash: Uint8Array, n: number): { primary: string; slot: number }[] {
    const out: { primary: string; slot: number }[] = [];
    let info = this.info(hash);
    while (info.prev && out.length < n) {
      out.push({ primary: info.primary, slot: info.slot });
      info = this.cache.get(info.prev) ?? this.info(Buffer.from(info.prev, "hex"));
    }
    return out.reverse();
  }

  /** The producers of the height after `parent` (slot 0 first), the producer pool, and the parent's ms time. */
  winners(parent: Uint8Array): { winners: string[]; pool: string[]; parentTimeMs: number; height: number } {
    const height = this.db.query<{ height: number }, [Uint8Array]>("SELECT height FROM blocks WHERE hash = ?").get(parent)!.height + 1;
    const recent = this.recent(parent, this.rules.memory);
    return { winners: this.rules.winners(parent, height, recent), pool: this.rules.pool(recent), parentTimeMs: this.info(parent).timeMs, height };
  }
}

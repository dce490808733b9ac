import type { Database } from "bun:sqlite";
import { decodeBlock, type Block } from "./block";
import { nextBits } from "./difficulty";
import { bitsToTarget, decodeHeader, type Header } from "./header";
import { provenHeight } from "./headers";
import type { NetworkParams } from "./params";
import { readAccount, type Account } from "./state";

export interface Tip {
  height: number;
  hash: Uint8Array;
  work: bigint;
  header: Header;
}

export interface BlockRow {
  hash: Uint8Array;
  height: number;
  prev: Uint8Array;
  header: Uint8Array;
  work: string;
  status: "main" | "side" | "invalid";
}

/**
 * The chain's stored blocks as read: the tip, blocks of any branch by hash, the main chain by height, the transaction
 * index, accounts at the tip, and what a child of a block must carry (bits, median time past). Chain adds the
 * writes (accept, reorganise) on top.
 */
export class ChainIndex {
  protected tipCache: Tip | null = null;

  constructor(
    readonly params: NetworkParams,
    protected readonly db: Database,
    /** Seconds since the epoch (tests move the clock). */
    protected readonly now: () => number,
    private readonly powHash: (header80: Uint8Array) => Uint8Array,
  ) {}

  /** The best block of the main chain. */
  tip(): Tip {
    if (this.tipCache) return this.tipCache;
    const r = this.db.query<BlockRow, []>("SELECT b.* FROM main_chain m JOIN blocks b ON b.hash = m.hash ORDER BY m.height DESC LIMIT 1").get()!;
    this.tipCache = { height: r.height, hash: r.hash, work: BigInt("0x" + r.work), header: decodeHeader(r.header) };
    return this.tipCache;
  }

  /** The height of a stored block of any branch, or null. */
  heightOf(hash: Uint8Array): number | null {
    return this.db.query<{ height: number }, [Uint8Array]>("SELECT height FROM blocks WHERE hash = ?").get(hash)?.height ?? null;
  }

  /**
   * The height a peer's run of headers proves (see provenHeight): it builds on a block we hold that is not invalid,
   * links up and passes the header-only checks. null when it does not build on anything we hold.
   */
  provenHeight(headers: readonly Header[]): number | null {
    return provenHeight(headers, {
      params: this.params,
      powHash: this.powHash,
      now: this.now,
      known: (hash) => {
        const r = this.db.query<{ height: number; header: Uint8Array; status: string }, [Uint8Array]>("SELECT height, header, status FROM blocks WHERE hash = ?").get(hash);
        return r && r.status !== "invalid" ? { height: r.height, time: decodeHeader(r.header).time } : null;
      },
    });
  }

  /** A block of any branch by hash, with its height and whether it is on the main chain. */
  block(hash: Uint8Array): { block: Block; height: number; status: string; work: bigint } | null {
    const r = this.db.query<BlockRow & { body: Uint8Array }, [Uint8Array]>("SELECT * FROM blocks WHERE hash = ?").get(hash);
    return r ? { block: decodeBlock(r.body), height: r.height, status: r.status, work: BigInt("0x" + r.work) } : null;
  }

  /** Hash of the main-chain block at a height. */
  hashAt(height: number): Uint8Array | null {
    return this.db.query<{ hash: Uint8Array }, [number]>("SELECT hash FROM main_chain WHERE height = ?").get(height)?.hash ?? null;
  }

  /** The 80 header bytes of the main-chain block at a height (no body decoded: what sync serves). */
  headerBytesAt(height: number): Uint8Array | null {
    return this.db.query<{ header: Uint8Array }, [number]>("SELECT b.header FROM main_chain m JOIN blocks b ON b.hash = m.hash WHERE m.height = ?").get(height)?.header ?? null;
  }

  /** Where a transaction was mined on the main chain. */
  txLocation(id: Uint8Array): { block: Uint8Array; height: number; index: number } | null {
    const r = this.db.query<{ block: Uint8Array; height: number; idx: number }, [Uint8Array]>("SELECT block, height, idx FROM txindex WHERE txid = ?").get(id);
    return r ? { block: r.block, height: r.height, index: r.idx } : null;
  }

  /** An account at the tip (zero balance and nonce if it never received anything). */
  account(address: Uint8Array): Account {
    return readAccount(this.db, address) ?? { balance: 0n, nonce: 0n };
  }

  /** Compact bits a child of `parent` must carry (LWMA over its own branch). */
  nextBitsAfter(parent: Uint8Array): number {
    if (this.params.consensus === "sync") return this.params.powLimitBits; // no proof of work to retarget
    const pts = this.ancestors(parent, this.params.lwmaWindow + 1).map((h) => ({ time: h.time, target: bitsToTarget(h.bits) }));
    return nextBits(pts, this.params.blockTime, this.params.lwmaWindow, this.params.powLimitBits);
  }

  /** Median time of the last mtpWindow blocks ending at `parent`: a child's time must be above it. */
  medianTimePast(parent: Uint8Array): number {
    const times = this.ancestors(parent, this.params.mtpWindow).map((h) => h.time).sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }

  /** Headers of the last `n` blocks ending at `hash` (inclusive), oldest first. */
  private ancestors(hash: Uint8Array, n: number): Header[] {
    const out: Header[] = [];
    let cur: Uint8Array | null = hash;
    while (cur && out.length < n) {
      const r: { header: Uint8Array; height: number } | null = this.db.query<{ header: Uint8Array; height: number }, [Uint8Array]>("SELECT header, height FROM blocks WHERE hash = ?").get(cur);
      if (!r) break;
      const h = decodeHeader(r.header);
      out.push(h);
      cur = r.height === 0 ? null : h.prevHash;
    }
    return out.reverse();
  }
}

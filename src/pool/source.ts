import { fromHex, leToDisplayHex, RignodeError, toHex, type Algo } from "../core";
import { OrphanHold, type SubmitResult } from "./orphan-hold";
import { blockHash, coinbaseBytesBound, decodeAddress, decodeBlock, encodeBlock, decodeTx, encodeAddress, EXTRANONCE_BYTES, splitCoinbase, txId, coinbaseBranch, ValidationError, type Block, type Chain, type Header } from "../chain";

export type { SubmitResult };

/** One coinbase output of a payout plan: the payee's key (as the source defines it) and the amount. */
export interface PayoutOutput {
  to: Uint8Array;
  amount: bigint;
}

/**
 * What miners work on, whatever the source: the header fields (merkle root and nonce are the miners'), the
 * coinbase around 8 bytes of extranonce, the coinbase's merkle branch, and the source's own data for assembling
 * the block of a winning share.
 */
export interface Work {
  height: number;
  header: Header;
  /** Lowest ntime a share may carry. */
  minTime: number;
  coinb1: Uint8Array;
  coinb2: Uint8Array;
  branch: Uint8Array[];
  readonly data: unknown;
}

/** New work is available: clean when the previous block changed (older jobs are void). */
export interface WorkEvent {
  clean: boolean;
  /** After a reorganisation: whether a block (internal-order hash) at a height is still on the main chain. */
  reorg?: { depth: number; onMain: (hash: Uint8Array, height: number) => boolean };
}

/**
 * Where the pool's work comes from: the node's own chain, or an upstream coin daemon (getblocktemplate). Payees are
 * the source's own bytes (a public key on rignode's chain, a scriptPubKey on a real coin); the pool stores and plans
 * with them and asks the source to show them.
 */
export interface WorkSource {
  readonly kind: "chain" | "upstream";
  readonly algo: Algo;
  /** Payee of the 1% foundation fee (hex of the source's payee bytes). */
  readonly foundation: string;
  readonly minOutput: bigint;
  /** Most coinbase outputs a block may have (the network's rule, or the pool's cap for a real coin). */
  readonly maxOutputs: number;
  /** Most bytes the coinbase of its work can take (maxOutputs outputs, a tag of up to MAX_TAG_BYTES): sizes the notify. */
  readonly maxCoinbaseBytes: number;
  onWork(cb: (e: WorkEvent) => void): void;
  /** Work on the current best block with the outputs `plan` gives for the coinbase value and the block's bits. */
  work(plan: (total: bigint, bits: number) => PayoutOutput[], tag: string): Work;
  /** Checks an assembled block before miners hash on it (a daemon's proposal mode); throws with the reason. */
  verify?(work: Work): Promise<void>;
  /**
   * Whether blocks are on the source's main chain now, for a source that reorganises out of the pool's sight (a
   * daemon); the chain source says so in its work events instead.
   */
  mainChain?(blocks: { hash: Uint8Array; height: number }[]): Promise<boolean[]>;
  /** The best block's hash (internal order) as the source sees it now: a follower's job should stand on it. */
  tip?(): Uint8Array | null;
  /** Work's `data` as text for a job sent to other pool members (job-wire.ts), and back; decodeData throws on bad input. */
  encodeData(data: unknown): string;
  decodeData(s: string): unknown;
  /** The block of a winning share, to the chain or the daemon. */
  submit(work: Work, header: Header, coinbase: Uint8Array): SubmitResult | Promise<SubmitResult>;
  /** A worker's payout address to payee bytes; null when it is not an address of this network. */
  payee(address: string): Uint8Array | null;
  display(payee: Uint8Array): string;
  status(): Record<string, unknown>;
  start?(): Promise<void>;
  stop?(): void;
}

/** Longest tag (coinbase memo) a pool may put in its work, in bytes. */
export const MAX_TAG_BYTES = 64;

/** Work from one of rignode's own block templates. */
export function chainWork(block: Block, minTime: number, height: number): Work {
  const cb = block.txs[0];
  if (!cb || cb.type !== "coinbase") throw new Error("template has no coinbase");
  const { coinb1, coinb2 } = splitCoinbase(cb);
  return { height, header: block.header, minTime, coinb1, coinb2, branch: coinbaseBranch(block.txs.map((t) => txId(t))), data: block };
}

/** The node's own chain as the pool's source: templates from its tip and mempool, blocks connected and relayed. */
export class ChainSource implements WorkSource {
  readonly kind = "chain";
  /** Blocks found on a job whose parent has not reached this node yet (a follower's job came before the block). */
  private readonly held = new OrphanHold();
  private watching = false;

  constructor(readonly chain: Chain) {}

  get algo(): Algo {
    return this.chain.params.algo;
  }
  get foundation(): string {
    return this.chain.params.foundation;
  }
  get minOutput(): bigint {
    return BigInt(this.chain.params.minOutput);
  }
  get maxOutputs(): number {
    return this.chain.params.maxCoinbaseOutputs;
  }
  get maxCoinbaseBytes(): number {
    return coinbaseBytesBound(this.chain.params.maxCoinbaseOutputs, MAX_TAG_BYTES);
  }

  onWork(cb: (e: WorkEvent) => void): void {
    const chain = this.chain;
    chain.onTip((_tip, result) =>
      cb({
        clean: true,
        reorg:
          result.status === "reorg"
            ? {
                depth: result.disconnected ?? 0,
                onMain: (hash, height) => {
                  const h = chain.hashAt(height);
                  return h !== null && Buffer.compare(h, hash) === 0;
                },
              }
            : undefined,
      }),
    );
  }

  work(plan: (total: bigint, bits: number) => PayoutOutput[], tag: string): Work {
    if (Buffer.byteLength(tag) > MAX_TAG_BYTES) throw new RignodeError("internal", `coinbase tag over ${MAX_TAG_BYTES} bytes`);
    const chain = this.chain;
    const tip = chain.tip();
    const bits = chain.nextBitsAfter(tip.hash);
    const block = chain.template((total) => plan(total, bits), new Uint8Array(EXTRANONCE_BYTES), tag);
    return chainWork(block, chain.medianTimePast(tip.hash) + 1, tip.height + 1);
  }

  tip(): Uint8Array {
    return this.chain.tip().hash;
  }

  /** The template block (its transactions go into a found block) as hex of its canonical bytes. */
  encodeData(data: unknown): string {
    return toHex(encodeBlock(data as Block));
  }

  decodeData(s: string): Block {
    const block = decodeBlock(fromHex(s, undefined, "template block"));
    if (block.txs[0]?.type !== "coinbase") throw new RignodeError("input", "template block has no coinbase");
    return block;
  }

  /**
   * A block of a winning share to the chain. One whose parent the chain lacks yet (a pool member adopted the job from
   * the bus before the parent came over P2P) is held and tried again on each new tip, for up to ORPHAN_HOLD.
   */
  submit(work: Work, header: Header, coinbase: Uint8Array): SubmitResult | Promise<SubmitResult> {
    const template = work.data as Block;
    const block: Block = { header, txs: [decodeTx(coinbase), ...template.txs.slice(1)] };
    const r = this.accept(block, work);
    if (r !== "orphan") return r;
    if (!this.watching) {
      this.watching = true;
      // After the tip's own handlers: its block is stored by then.
      this.chain.onTip(() => queueMicrotask(() => void this.held.tip()));
    }
    return this.held.hold({ height: work.height, hash: blockHash(header) }, () => this.accept(block, work));
  }

  private accept(block: Block, work: Work): SubmitResult | "orphan" {
    const hash = blockHash(block.header);
    try {
      const r = this.chain.acceptBlock(block);
      const ok = r.status === "connected" || r.status === "reorg";
      return { status: ok ? "accepted" : "not_best", height: r.height ?? work.height, hash, reason: ok ? undefined : r.status };
    } catch (e) {
      if (e instanceof ValidationError && e.rule === "orphan") return "orphan";
      return { status: "rejected", height: work.height, hash, reason: (e as Error).message };
    }
  }

  payee(address: string): Uint8Array | null {
    try {
      return decodeAddress(address, this.chain.params.addressVersion);
    } catch {
      return null;
    }
  }

  display(payee: Uint8Array): string {
    return encodeAddress(payee, this.chain.params.addressVersion);
  }

  status(): Record<string, unknown> {
    const tip = this.chain.tip();
    return { kind: "chain", network: this.chain.params.name, height: tip.height, tip: leToDisplayHex(tip.hash) };
  }
}

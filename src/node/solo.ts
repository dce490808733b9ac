import { randomBytes } from "node:crypto";
import { bigIntToLe, leToDisplayHex, type FoundNonce, type JobSource, type Logger, type MinerJob } from "../core";
import { bitsToTarget, blockHash, encodeHeader, EXTRANONCE_BYTES, type Block, type Chain } from "../chain";

/**
 * Work for the local miner from the node's own chain: a template on the tip paying `payTo`, refreshed when the
 * tip changes and given a new extranonce when the nonce space is used up. A found nonce becomes a block at once.
 */
export class SoloJobSource implements JobSource {
  private readonly prefix = randomBytes(4);
  private counter = 0;
  private jobs = new Map<string, Block>();
  private seq = 0;
  blocksFound = 0;

  constructor(
    private readonly chain: Chain,
    readonly payTo: Uint8Array,
    private readonly log?: Logger,
  ) {}

  get params() {
    return this.chain.params;
  }

  /** A fresh job on the current tip (at start and on every new tip). */
  job(): MinerJob {
    const extranonce = new Uint8Array(EXTRANONCE_BYTES);
    extranonce.set(this.prefix);
    new DataView(extranonce.buffer).setUint32(4, ++this.counter);
    const block = this.chain.template((total) => [{ to: this.payTo, amount: total }], extranonce, "rignode solo");
    const id = `solo-${++this.seq}`;
    // Only the current job's block can be completed; older ones are dropped with their job.
    this.jobs = new Map([[id, block]]);
    return { id, algo: this.chain.params.algo, header: encodeHeader(block.header), target: bigIntToLe(bitsToTarget(block.header.bits)) };
  }

  nextJob(): MinerJob {
    return this.job();
  }

  found(f: FoundNonce): void {
    const tmpl = this.jobs.get(f.jobId);
    if (!tmpl) return;
    const block: Block = { ...tmpl, header: { ...tmpl.header, nonce: f.nonce } };
    try {
      const r = this.chain.acceptBlock(block, "miner");
      if (r.status === "connected" || r.status === "reorg") {
        this.blocksFound++;
        // chain.tip is the block's info line (from=miner); this one is for debugging the miner.
        this.log?.debug("miner.block_found", { height: r.height, hash: leToDisplayHex(blockHash(block.header)), txs: block.txs.length });
      }
    } catch (e) {
      this.log?.warn("miner.block_rejected", { error: (e as Error).message });
    }
  }
}

// Blocks found on a job whose parent the source has not got yet: a pool member adopted the leader's job from the bus
// before its own node (P2P) or its own daemon had the leader's newest block. Such a block is held and tried again on
// each new tip of the source, within limits; whatever the source answers then (or the give-up) is its result.

/** What a source answers for a found block (here, not in source.ts, which imports this file). */
export interface SubmitResult {
  /** accepted: the block is on the source's best chain; not_best: valid but on a side branch; rejected. */
  status: "accepted" | "not_best" | "rejected";
  height: number;
  /** Block id (sha256d of the header, internal order). */
  hash: Uint8Array;
  reason?: string;
  /** Recorded with its plan by the source's owner already (a shard's main thread): the finder does not record it again. */
  recorded?: boolean;
}

/** How long, and over how many new tips, a block whose parent the source lacks yet is held; how many at once. */
export const ORPHAN_HOLD = { ms: 30_000, tips: 8, blocks: 16 };

/** One try of a held block: the source's result, or "orphan" while its parent is still unknown there. */
export type Attempt = SubmitResult | "orphan";

interface Held {
  height: number;
  hash: Uint8Array;
  retry: () => Attempt | Promise<Attempt>;
  tips: number;
  done: (r: SubmitResult) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class OrphanHold {
  private readonly held: Held[] = [];
  private trying = false;
  private again = false;

  constructor(private readonly limits: { ms: number; tips: number; blocks: number } = ORPHAN_HOLD) {}

  get size(): number {
    return this.held.length;
  }

  /**
   * Holds a block whose first try said "orphan": the result of a later try, or a rejection once the limits are
   * reached (at once when too many blocks are held already).
   */
  hold(block: { height: number; hash: Uint8Array }, retry: () => Attempt | Promise<Attempt>): SubmitResult | Promise<SubmitResult> {
    if (this.held.length >= this.limits.blocks) return rejected(block, "parent unknown (too many blocks held for their parent)");
    return new Promise((done) => {
      const h: Held = { ...block, retry, tips: 0, done, timer: setTimeout(() => this.release(h, rejected(h, `parent still unknown after ${this.limits.ms / 1000} s`)), this.limits.ms) };
      this.held.push(h);
    });
  }

  /**
   * The source has a new tip: every held block is tried again, one after the other. Tips that come while a round
   * runs make one more round after it (a try may itself make the tip a held child waits for).
   */
  async tip(): Promise<void> {
    if (this.trying) return void (this.again = true);
    this.trying = true;
    try {
      do {
        this.again = false;
        for (const h of [...this.held]) {
          if (!this.held.includes(h)) continue; // given up meanwhile
          let r: Attempt;
          try {
            r = await h.retry();
          } catch (e) {
            r = rejected(h, (e as Error).message);
          }
          if (r !== "orphan") this.release(h, r);
          else if (++h.tips >= this.limits.tips) this.release(h, rejected(h, `parent still unknown after ${h.tips} new tips`));
        }
      } while (this.again && this.held.length);
    } finally {
      this.trying = false;
    }
  }

  /** Every held block given up (the source stops). */
  drop(why: string): void {
    for (const h of [...this.held]) this.release(h, rejected(h, why));
  }

  private release(h: Held, r: SubmitResult): void {
    const i = this.held.indexOf(h);
    if (i < 0) return;
    this.held.splice(i, 1);
    clearTimeout(h.timer);
    h.done(r);
  }
}

function rejected(b: { height: number; hash: Uint8Array }, reason: string): SubmitResult {
  return { status: "rejected", height: b.height, hash: b.hash, reason };
}

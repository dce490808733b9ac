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

/**
 * How long, and over how many new tips, a block whose parent the source lacks yet is held; how many at once; how often
 * it is tried besides each new tip (a parent that arrived on a side branch makes no new tip).
 */
export const ORPHAN_HOLD = { ms: 30_000, tips: 8, blocks: 16, retryMs: 1000 };

/** One try of a held block: the source's result, or "orphan" while its parent is still unknown there. */
export type Attempt = SubmitResult | "orphan";

interface Held {
  height: number;
  hash: Uint8Array;
  retry: () => Attempt | Promise<Attempt>;
  tips: number;
  done: (r: SubmitResult) => void;
  timer: ReturnType<typeof setTimeout>;
  /** A try in flight: the give-up waits for its answer (a block the source takes then is taken, not refused). */
  trying: boolean;
  /** Given up while a try was in flight: the reason, used unless that try's answer is final. */
  expired: string | null;
}

export class OrphanHold {
  private readonly held: Held[] = [];
  private trying = false;
  private again = false;
  private againTip = false;
  private closed = false;
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly limits: typeof ORPHAN_HOLD = ORPHAN_HOLD) {}

  get size(): number {
    return this.held.length;
  }

  /**
   * Holds a block whose first try said "orphan": the result of a later try, or a rejection once the limits are
   * reached (at once when too many blocks are held already, or the source stopped).
   */
  hold(block: { height: number; hash: Uint8Array }, retry: () => Attempt | Promise<Attempt>): SubmitResult | Promise<SubmitResult> {
    if (this.closed) return rejected(block, "the source stopped");
    if (this.held.length >= this.limits.blocks) return rejected(block, "parent unknown (too many blocks held for their parent)");
    return new Promise((done) => {
      const h: Held = { ...block, retry, tips: 0, done, trying: false, expired: null, timer: setTimeout(() => this.expire(h, `parent still unknown after ${this.limits.ms / 1000} s`), this.limits.ms) };
      h.timer.unref?.();
      this.held.push(h);
      if (!this.ticker) {
        this.ticker = setInterval(() => void this.round(false), this.limits.retryMs);
        this.ticker.unref?.();
      }
    });
  }

  /** The source has a new tip: every held block is tried again (and this tip counts against each one's limit). */
  tip(): Promise<void> {
    return this.round(true);
  }

  /** Every held block given up, and none held from now on (the source stops). A try in flight keeps its answer. */
  drop(why: string): void {
    this.closed = true;
    for (const h of [...this.held]) this.expire(h, why);
  }

  /**
   * Every held block tried again, one after the other. Tips (or ticks) that come while a round runs make one more
   * round after it (a try may itself make the tip a held child waits for).
   */
  private async round(tip: boolean): Promise<void> {
    if (this.trying) {
      this.again = true;
      this.againTip ||= tip;
      return;
    }
    this.trying = true;
    try {
      let counts = tip;
      do {
        this.again = false;
        this.againTip = false;
        for (const h of [...this.held]) {
          if (!this.held.includes(h)) continue; // given up meanwhile
          let r: Attempt;
          h.trying = true;
          try {
            r = await h.retry();
          } catch (e) {
            r = rejected(h, (e as Error).message);
          } finally {
            h.trying = false;
          }
          if (r !== "orphan") this.release(h, r);
          else if (h.expired !== null) this.release(h, rejected(h, h.expired));
          else if (counts && ++h.tips >= this.limits.tips) this.release(h, rejected(h, `parent still unknown after ${h.tips} new tips`));
        }
        counts = this.againTip;
      } while (this.again && this.held.length);
    } finally {
      this.trying = false;
    }
  }

  /** The time is up (or the source stops): refused now, or, with a try in flight, once its answer says orphan. */
  private expire(h: Held, why: string): void {
    if (h.trying) h.expired ??= why;
    else this.release(h, rejected(h, why));
  }

  private release(h: Held, r: SubmitResult): void {
    const i = this.held.indexOf(h);
    if (i < 0) return;
    this.held.splice(i, 1);
    clearTimeout(h.timer);
    if (!this.held.length && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
    h.done(r);
  }
}

function rejected(b: { height: number; hash: Uint8Array }, reason: string): SubmitResult {
  return { status: "rejected", height: b.height, hash: b.hash, reason };
}

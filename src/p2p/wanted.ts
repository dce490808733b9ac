/**
 * Block hashes to ask one peer for, in the order it named them: each at most once (an inv repeated a thousand times
 * costs a lookup each, not a thousand entries), and at most `max` (the rest is asked again by headers later).
 */
export class WantedQueue {
  private readonly order: Uint8Array[] = [];
  private head = 0;
  private readonly keys = new Set<string>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Adds a hash not already queued; false when it was there or the queue is full. */
  push(hash: Uint8Array, key = Buffer.from(hash).toString("hex")): boolean {
    if (this.keys.has(key) || this.keys.size >= this.max) return false;
    this.keys.add(key);
    this.order.push(hash);
    return true;
  }

  /** The oldest hash, removed; null when empty. */
  shift(): Uint8Array | null {
    if (this.head >= this.order.length) return null;
    const h = this.order[this.head++]!;
    this.keys.delete(Buffer.from(h).toString("hex"));
    // Compact now and then rather than shifting the array on every take.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    return h;
  }

  clear(): void {
    this.order.length = 0;
    this.head = 0;
    this.keys.clear();
  }
}

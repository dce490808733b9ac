/**
 * Work handed in during one turn of the event loop, done together at the end of it: every caller gets its own
 * result (or error) once the whole batch is done. The ledger's group commit and the kernel's batch hashing both
 * run on it.
 */
export class TurnBatch<I, O> {
  private items: I[] = [];
  private waiters: { resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  /** Batches run so far. */
  batches = 0;

  /** A batch being done asynchronously: the next one waits for it (commits stay in order). */
  private running = false;

  /**
   * `run` gets the items in order and returns one result per item (an Error rejects that item alone), at once or
   * with a promise; while a promise is pending, items gather for the next batch.
   */
  constructor(private readonly run: (items: I[]) => (O | Error)[] | Promise<(O | Error)[]>) {}

  push(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (!this.scheduled && !this.running) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.items;
    const ws = this.waiters;
    this.items = [];
    this.waiters = [];
    if (!items.length) return;
    let out: (O | Error)[] | Promise<(O | Error)[]>;
    try {
      out = this.run(items);
      this.batches++;
    } catch (e) {
      for (const w of ws) w.reject(e);
      return;
    }
    if (!(out instanceof Promise)) return settle(ws, out);
    this.running = true;
    out.then(
      (o) => settle(ws, o),
      (e) => ws.forEach((w) => w.reject(e)),
    ).finally(() => {
      this.running = false;
      // What gathered meanwhile goes in the next batch.
      if (this.items.length && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }
}

function settle<O>(ws: { resolve: (o: O) => void; reject: (e: unknown) => void }[], out: (O | Error)[]): void {
  ws.forEach((w, i) => {
    const o = out[i]!;
    if (o instanceof Error) w.reject(o);
    else w.resolve(o);
  });
}

/** Share headers hashed in one kernel call per turn (scrypt then fills the SIMD lanes with distinct shares). */
export function hashQueue(hashMany: (headers: Uint8Array, n: number) => Uint8Array): TurnBatch<Uint8Array, Uint8Array> {
  return new TurnBatch((hs) => {
    const buf = new Uint8Array(hs.length * 80);
    hs.forEach((h, i) => buf.set(h, i * 80));
    const out = hashMany(buf, hs.length);
    return hs.map((_, i) => out.subarray(i * 32, i * 32 + 32));
  });
}

/**
 * Hashes share headers in batches: every header asked for during one turn of the event loop goes to the kernel in
 * one call (scrypt then fills the SIMD lanes with distinct shares), and each caller gets its digest back.
 */
export class HashQueue {
  private headers: Uint8Array[] = [];
  private waiters: ((d: Uint8Array) => void)[] = [];
  private fails: ((e: unknown) => void)[] = [];
  private scheduled = false;
  batches = 0;

  constructor(private readonly hashMany: (headers: Uint8Array, n: number) => Uint8Array) {}

  hash(header80: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.headers.push(header80);
      this.waiters.push(resolve);
      this.fails.push(reject);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const hs = this.headers;
    const ws = this.waiters;
    const fs = this.fails;
    this.headers = [];
    this.waiters = [];
    this.fails = [];
    const buf = new Uint8Array(hs.length * 80);
    hs.forEach((h, i) => buf.set(h, i * 80));
    let out: Uint8Array;
    try {
      out = this.hashMany(buf, hs.length);
    } catch (e) {
      fs.forEach((f) => f(e));
      return;
    }
    this.batches++;
    ws.forEach((w, i) => w(out.subarray(i * 32, i * 32 + 32)));
  }
}

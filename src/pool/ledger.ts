import type { Database } from "bun:sqlite";
import type { Store } from "../store";

export interface ShareRecord {
  worker: string;
  /** Payout public key (32 bytes). */
  address: Uint8Array;
  job: string;
  difficulty: number;
  /** Header hash (hex): unique, so a share can never be counted twice. */
  hash: string;
}

/** Difficulty as an exact integer weight: difficulty x 2^32, rounded (fractional difficulties add up exactly). */
export function shareWeight(difficulty: number): bigint {
  const scaled = difficulty * 2 ** 32;
  return BigInt(Math.round(Number.isFinite(scaled) ? scaled : 0));
}

/**
 * The pool's ledger in SQLite. Shares are written in group commits: every share handed in during one turn of the
 * event loop goes into one transaction, and each caller's promise resolves only after that transaction is
 * durable, so an acknowledgement sent after `await record()` is never for a share the ledger could lose.
 */
export class Ledger {
  private readonly db: Database;
  private queue: { s: ShareRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  commits = 0;

  constructor(store: Store) {
    this.db = store.db;
  }

  /** Resolves once the share is committed. */
  record(s: ShareRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ s, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    const now = Date.now();
    const insert = this.db.query("INSERT INTO shares (time, worker, address, job, difficulty, weight, hash) VALUES (?, ?, ?, ?, ?, ?, ?)");
    try {
      this.db.transaction(() => {
        for (const { s } of batch) insert.run(now, s.worker, s.address, s.job, s.difficulty, shareWeight(s.difficulty).toString(), s.hash);
      })();
      this.commits++;
      for (const b of batch) b.resolve();
    } catch {
      // One bad row (a duplicate hash) must not lose the others: retry them one by one.
      for (const b of batch) {
        try {
          insert.run(now, b.s.worker, b.s.address, b.s.job, b.s.difficulty, shareWeight(b.s.difficulty).toString(), b.s.hash);
          b.resolve();
        } catch (err) {
          b.reject(err);
        }
      }
    }
  }

  /** Shares recorded so far. */
  count(): number {
    return this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
  }

  /**
   * PPLNS: the weight per payout address over the most recent shares whose weights add up to `window`
   * (difficulty units x 2^32); the share that crosses the edge counts only for the part inside.
   */
  pplnsWeights(window: bigint): Map<string, bigint> {
    const out = new Map<string, bigint>();
    let left = window;
    const rows = this.db.query<{ address: Uint8Array; weight: string }, []>("SELECT address, weight FROM shares ORDER BY id DESC").iterate();
    for (const r of rows) {
      if (left <= 0n) break;
      const w = BigInt(r.weight);
      const take = w < left ? w : left;
      const k = Buffer.from(r.address).toString("hex");
      out.set(k, (out.get(k) ?? 0n) + take);
      left -= take;
    }
    return out;
  }
}

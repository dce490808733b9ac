// The ledger in the node's SQLite store: every call answers at once (the pool's synchronous paths read it directly).
import type { Database } from "bun:sqlite";
import { dialect, LEDGER_MIGRATIONS, MIGRATIONS_TABLE, type BanRow, type BlockRow, type LedgerBackend, type ShareRow, type StoredPlan, type StoredShare } from "./ledger-backend";

const ROWS_PER_INSERT = 100;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

type RawBlock = { hash: Uint8Array; height: number; time: number; status: "main" | "orphaned"; plan: string };
const toBlock = (r: RawBlock): BlockRow => ({ hash: Uint8Array.from(r.hash), height: r.height, time: r.time, status: r.status, plan: JSON.parse(r.plan) as StoredPlan });

export class SqliteLedger implements LedgerBackend {
  readonly kind = "sqlite" as const;
  private readonly statements = new Map<number, ReturnType<Database["query"]>>();

  constructor(readonly db: Database) {}

  migrate(): number {
    this.db.run(dialect(MIGRATIONS_TABLE, "sqlite"));
    const done = new Set(this.db.query<{ version: number }, []>("SELECT version FROM ledger_migrations").all().map((r) => r.version));
    let n = 0;
    for (const m of LEDGER_MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        for (const s of m.statements) this.db.run(dialect(s, "sqlite"));
        this.db.query("INSERT INTO ledger_migrations (version, name) VALUES (?, ?)").run(m.version, m.name);
      })();
      n++;
    }
    return n;
  }

  insertShares(rows: ShareRow[]): (number | Error)[] {
    const ids: number[] = [];
    try {
      this.db.transaction(() => {
        // Rows go in by the hundred: one statement per row costs more than checking the share did.
        for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
          const part = rows.slice(at, at + ROWS_PER_INSERT);
          const last = Number(this.insertRows(part.length).run(...part.flatMap(values)).lastInsertRowid);
          // One statement's rows take consecutive ids.
          part.forEach((_, k) => ids.push(last - part.length + 1 + k));
        }
      })();
      return ids;
    } catch {
      // One bad row (a duplicate hash) must not lose the others: retry them one by one.
      return rows.map((r) => {
        try {
          return Number(this.insertRows(1).run(...values(r)).lastInsertRowid);
        } catch (err) {
          return err as Error;
        }
      });
    }
  }

  /** INSERT of n rows, prepared once per n. */
  private insertRows(n: number) {
    let q = this.statements.get(n);
    if (!q) {
      const vs = Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?, ?)").join(", ");
      q = this.db.query(`INSERT INTO shares (time, worker, address, job, difficulty, weight, hash) VALUES ${vs}`);
      if (this.statements.size > 256) this.statements.clear();
      this.statements.set(n, q);
    }
    return q;
  }

  count(): number {
    return this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
  }

  lastShareId(): number {
    return this.db.query<{ n: number | null }, []>("SELECT max(id) AS n FROM shares").get()?.n ?? 0;
  }

  sharesBefore(before: number, limit: number): StoredShare[] {
    return [...this.iterateBefore(before, limit)];
  }

  /** Shares with id < before, newest first, read as they are iterated (a window may hold millions). */
  *iterateBefore(before: number, limit = -1): Generator<StoredShare> {
    const q = this.db.query<{ id: number; address: Uint8Array; weight: string }, [number, number]>("SELECT id, address, weight FROM shares WHERE id < ? ORDER BY id DESC LIMIT ?");
    for (const r of q.iterate(before, limit)) yield { id: r.id, address: hex(r.address), weight: r.weight };
  }

  sharesBetween(after: number, upTo: number): StoredShare[] {
    return [...this.iterateBetween(after, upTo)];
  }

  *iterateBetween(after: number, upTo: number): Generator<StoredShare> {
    const q = this.db.query<{ id: number; address: Uint8Array; weight: string }, [number, number]>("SELECT id, address, weight FROM shares WHERE id > ? AND id <= ? ORDER BY id");
    for (const r of q.iterate(after, upTo)) yield { id: r.id, address: hex(r.address), weight: r.weight };
  }

  roundStart(): number {
    return this.db.query<{ n: number | null }, []>("SELECT max(last_share) AS n FROM pool_blocks WHERE status = 'main'").get()?.n ?? 0;
  }

  carry(): Map<string, bigint> {
    const rows = this.db.query<{ address: Uint8Array; amount: string }, []>("SELECT address, amount FROM pool_carry").all();
    return new Map(rows.map((r) => [hex(r.address), BigInt(r.amount)]));
  }

  recordBlock(b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): boolean {
    return this.db.transaction(() => {
      const r = this.db.query("INSERT INTO pool_blocks (hash, height, time, plan, last_share) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING").run(b.hash, b.height, b.time, JSON.stringify(b.plan), b.plan.lastShare);
      // A known block (recorded twice) must not put its carry back over a later block's.
      if (r.changes > 0) this.putCarry(b.plan.carried);
      this.db.query("DELETE FROM pool_candidates WHERE hash = ?").run(b.hash);
      return r.changes > 0;
    })();
  }

  private putCarry(carried: Record<string, string>): void {
    this.db.query("DELETE FROM pool_carry").run();
    const put = this.db.query("INSERT INTO pool_carry (address, amount) VALUES (?, ?)");
    for (const [a, v] of Object.entries(carried)) put.run(Buffer.from(a, "hex"), v);
  }

  blocks(limit: number): BlockRow[] {
    return this.db.query<RawBlock, [number]>("SELECT hash, height, time, status, plan FROM pool_blocks ORDER BY time DESC, height DESC LIMIT ?").all(limit).map(toBlock);
  }

  recentBlocks(limit: number): BlockRow[] {
    return this.db.query<RawBlock, [number]>("SELECT hash, height, time, status, plan FROM pool_blocks ORDER BY height DESC LIMIT ?").all(limit).map(toBlock);
  }

  blockKeys(limit: number): string[] {
    return this.db
      .query<{ hash: Uint8Array; status: string }, [number]>("SELECT hash, status FROM pool_blocks ORDER BY time DESC, height DESC LIMIT ?")
      .all(limit)
      .map((r) => `${hex(r.hash)}:${r.status}`);
  }

  block(hash: Uint8Array): BlockRow | null {
    const r = this.db.query<RawBlock, [Uint8Array]>("SELECT hash, height, time, status, plan FROM pool_blocks WHERE hash = ?").get(hash);
    return r ? toBlock(r) : null;
  }

  setStatuses(changes: { hash: Uint8Array; status: "main" | "orphaned" }[]): void {
    this.db.transaction(() => {
      const set = this.db.query("UPDATE pool_blocks SET status = ? WHERE hash = ?");
      for (const c of changes) set.run(c.status, c.hash);
      const newest = this.db.query<{ plan: string }, []>("SELECT plan FROM pool_blocks WHERE status = 'main' ORDER BY height DESC, time DESC LIMIT 1").get();
      this.putCarry(newest ? (JSON.parse(newest.plan) as StoredPlan).carried : {});
    })();
  }

  putCandidate(b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): void {
    this.db.query("INSERT INTO pool_candidates (hash, height, time, plan) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING").run(b.hash, b.height, b.time, JSON.stringify(b.plan));
  }

  candidates(): { hash: Uint8Array; height: number; time: number; plan: StoredPlan }[] {
    return this.db.query<{ hash: Uint8Array; height: number; time: number; plan: string }, []>("SELECT hash, height, time, plan FROM pool_candidates ORDER BY height").all()
      .map((r) => ({ hash: Uint8Array.from(r.hash), height: r.height, time: r.time, plan: JSON.parse(r.plan) as StoredPlan }));
  }

  dropCandidate(hash: Uint8Array): void {
    this.db.query("DELETE FROM pool_candidates WHERE hash = ?").run(hash);
  }

  putBan(b: BanRow): void {
    this.db
      .query("INSERT INTO pool_bans (subject, ip, worker, until, reason) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET until = excluded.until, reason = excluded.reason")
      .run(b.subject, b.ip, b.worker, b.until, b.reason);
  }

  bans(now: number): BanRow[] {
    return this.db.query<BanRow, [number]>("SELECT subject, ip, worker, until, reason FROM pool_bans WHERE until > ? ORDER BY until, subject").all(now);
  }

  liftBans(ip: string): number {
    return this.db.query("DELETE FROM pool_bans WHERE ip = ?").run(ip).changes;
  }

  close(): void {
    // The store owns the database.
  }
}

function values(r: ShareRow): (string | number | Uint8Array)[] {
  return [r.time, r.worker, r.address, r.job, r.difficulty, r.weight, r.hash];
}

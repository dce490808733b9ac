// The ledger in PostgreSQL through Bun's built-in SQL client: several pool instances can share it. Every call
// answers with a promise; a group of shares is one transaction, and its promise settles once PostgreSQL has
// committed it (synchronous_commit as the server sets it: on by default, so durable on the server's disk).
import { SQL } from "bun";
import { dialect, LEDGER_MIGRATIONS, MIGRATIONS_TABLE, type BanRow, type BlockRow, type LedgerBackend, type ShareRow, type StoredPlan, type StoredShare } from "./ledger-backend";

/** 7 parameters a row: 500 rows stay far below PostgreSQL's 65,535 parameters a statement. */
const ROWS_PER_INSERT = 500;
/** Any constant: the lock that keeps two instances from migrating at once. */
const MIGRATION_LOCK = 7_141_851;
/**
 * Held by each share transaction until it commits: ids are then taken in commit order, so the shares a reader sees
 * are always every id up to the highest it sees. Without it, an instance's batch could commit a lower id after a
 * plan counted up to a higher one, and the next PROP round (ids after the plan's last share) would never pay it.
 */
const SHARES_LOCK = 7_141_852;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const num = (v: unknown) => Number(v ?? 0);

type Raw = { hash: Uint8Array; height: unknown; time: unknown; status: "main" | "orphaned"; plan: string };
const toBlock = (r: Raw): BlockRow => ({ hash: Uint8Array.from(r.hash), height: num(r.height), time: num(r.time), status: r.status, plan: JSON.parse(r.plan) as StoredPlan });
const toShare = (r: { id: unknown; address: Uint8Array; weight: string }): StoredShare => ({ id: num(r.id), address: hex(r.address), weight: r.weight });

export class PostgresLedger implements LedgerBackend {
  readonly kind = "postgres" as const;
  readonly sql: SQL;

  constructor(url: string, o: { max?: number } = {}) {
    this.sql = new SQL(url, { max: o.max ?? 4 });
  }

  async migrate(): Promise<number> {
    return await this.sql.begin(async (tx) => {
      await tx.unsafe("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await tx.unsafe(dialect(MIGRATIONS_TABLE, "postgres"));
      const done = new Set(((await tx.unsafe("SELECT version FROM ledger_migrations")) as { version: unknown }[]).map((r) => num(r.version)));
      let n = 0;
      for (const m of LEDGER_MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const s of m.statements) await tx.unsafe(dialect(s, "postgres"));
        await tx.unsafe("INSERT INTO ledger_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
        n++;
      }
      return n;
    });
  }

  async insertShares(rows: ShareRow[]): Promise<(number | Error)[]> {
    try {
      return await this.sql.begin(async (tx) => {
        await tx.unsafe("SELECT pg_advisory_xact_lock($1)", [SHARES_LOCK]);
        const ids: number[] = [];
        for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
          const part = rows.slice(at, at + ROWS_PER_INSERT);
          const got = (await tx.unsafe(insertSql(part.length), part.flatMap(values))) as { id: unknown }[];
          // RETURNING gives the rows in VALUES order; sorted to be sure (ids come from one sequence, ascending).
          ids.push(...got.map((r) => num(r.id)).sort((a, b) => a - b));
        }
        return ids;
      });
    } catch {
      // One bad row (a duplicate hash) aborts the transaction: the rows go in one by one, the bad one refused.
      const out: (number | Error)[] = [];
      for (const r of rows) {
        try {
          const got = await this.sql.begin(async (tx) => {
            await tx.unsafe("SELECT pg_advisory_xact_lock($1)", [SHARES_LOCK]);
            return (await tx.unsafe(insertSql(1), values(r))) as { id: unknown }[];
          });
          out.push(num(got[0]!.id));
        } catch (err) {
          out.push(err as Error);
        }
      }
      return out;
    }
  }

  async count(): Promise<number> {
    return num(((await this.sql.unsafe("SELECT count(*) AS n FROM shares")) as { n: unknown }[])[0]!.n);
  }

  async lastShareId(): Promise<number> {
    return num(((await this.sql.unsafe("SELECT max(id) AS n FROM shares")) as { n: unknown }[])[0]!.n);
  }

  async sharesBefore(before: number, limit: number): Promise<StoredShare[]> {
    const rows = (await this.sql.unsafe("SELECT id, address, weight FROM shares WHERE id < $1 ORDER BY id DESC LIMIT $2", [before, limit])) as Parameters<typeof toShare>[0][];
    return rows.map(toShare);
  }

  async sharesBetween(after: number, upTo: number): Promise<StoredShare[]> {
    const rows = (await this.sql.unsafe("SELECT id, address, weight FROM shares WHERE id > $1 AND id <= $2 ORDER BY id", [after, upTo])) as Parameters<typeof toShare>[0][];
    return rows.map(toShare);
  }

  async roundStart(): Promise<number> {
    return num(((await this.sql.unsafe("SELECT max(last_share) AS n FROM pool_blocks WHERE status = 'main'")) as { n: unknown }[])[0]!.n);
  }

  async carry(): Promise<Map<string, bigint>> {
    const rows = (await this.sql.unsafe("SELECT address, amount FROM pool_carry")) as { address: Uint8Array; amount: string }[];
    return new Map(rows.map((r) => [hex(r.address), BigInt(r.amount)]));
  }

  async recordBlock(b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): Promise<boolean> {
    return await this.sql.begin(async (tx) => {
      const rows = (await tx.unsafe("INSERT INTO pool_blocks (hash, height, time, plan, last_share) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING height", [Buffer.from(b.hash), b.height, b.time, JSON.stringify(b.plan), b.plan.lastShare])) as unknown[];
      // A known block (recorded twice, or by another instance) must not put its carry back over a later block's.
      if (rows.length) await putCarry(tx, b.plan.carried);
      await tx.unsafe("DELETE FROM pool_candidates WHERE hash = $1", [Buffer.from(b.hash)]);
      return rows.length > 0;
    });
  }

  async blocks(limit: number): Promise<BlockRow[]> {
    return ((await this.sql.unsafe("SELECT hash, height, time, status, plan FROM pool_blocks ORDER BY time DESC, height DESC LIMIT $1", [limit])) as Raw[]).map(toBlock);
  }

  async recentBlocks(limit: number): Promise<BlockRow[]> {
    return ((await this.sql.unsafe("SELECT hash, height, time, status, plan FROM pool_blocks ORDER BY height DESC LIMIT $1", [limit])) as Raw[]).map(toBlock);
  }

  async blockKeys(limit: number): Promise<string[]> {
    const rows = (await this.sql.unsafe("SELECT hash, status FROM pool_blocks ORDER BY time DESC, height DESC LIMIT $1", [limit])) as { hash: Uint8Array; status: string }[];
    return rows.map((r) => `${hex(r.hash)}:${r.status}`);
  }

  async block(hash: Uint8Array): Promise<BlockRow | null> {
    const r = (await this.sql.unsafe("SELECT hash, height, time, status, plan FROM pool_blocks WHERE hash = $1", [Buffer.from(hash)])) as Raw[];
    return r.length ? toBlock(r[0]!) : null;
  }

  async setStatuses(changes: { hash: Uint8Array; status: "main" | "orphaned" }[]): Promise<void> {
    await this.sql.begin(async (tx) => {
      for (const c of changes) await tx.unsafe("UPDATE pool_blocks SET status = $1 WHERE hash = $2", [c.status, Buffer.from(c.hash)]);
      const newest = (await tx.unsafe("SELECT plan FROM pool_blocks WHERE status = 'main' ORDER BY height DESC, time DESC LIMIT 1")) as { plan: string }[];
      await putCarry(tx, newest.length ? (JSON.parse(newest[0]!.plan) as StoredPlan).carried : {});
    });
  }

  async putCandidate(b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): Promise<void> {
    await this.sql.unsafe("INSERT INTO pool_candidates (hash, height, time, plan) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [Buffer.from(b.hash), b.height, b.time, JSON.stringify(b.plan)]);
  }

  async candidates(): Promise<{ hash: Uint8Array; height: number; time: number; plan: StoredPlan }[]> {
    const rows = (await this.sql.unsafe("SELECT hash, height, time, plan FROM pool_candidates ORDER BY height")) as { hash: Uint8Array; height: unknown; time: unknown; plan: string }[];
    return rows.map((r) => ({ hash: Uint8Array.from(r.hash), height: num(r.height), time: num(r.time), plan: JSON.parse(r.plan) as StoredPlan }));
  }

  async dropCandidate(hash: Uint8Array): Promise<void> {
    await this.sql.unsafe("DELETE FROM pool_candidates WHERE hash = $1", [Buffer.from(hash)]);
  }

  async putBan(b: BanRow): Promise<void> {
    await this.sql.unsafe(
      "INSERT INTO pool_bans (subject, ip, worker, until, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject) DO UPDATE SET until = excluded.until, reason = excluded.reason",
      [b.subject, b.ip, b.worker, b.until, b.reason],
    );
  }

  async bans(now: number): Promise<BanRow[]> {
    const rows = (await this.sql.unsafe("SELECT subject, ip, worker, until, reason FROM pool_bans WHERE until > $1 ORDER BY until, subject", [now])) as (Omit<BanRow, "until"> & { until: unknown })[];
    return rows.map((r) => ({ ...r, until: num(r.until) }));
  }

  async liftBans(ip: string): Promise<number> {
    return ((await this.sql.unsafe("DELETE FROM pool_bans WHERE ip = $1 RETURNING subject", [ip])) as unknown[]).length;
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

const insertSqls = new Map<number, string>();
/** INSERT of n rows returning their ids, built once per n. */
function insertSql(n: number): string {
  let s = insertSqls.get(n);
  if (!s) {
    const vs = Array.from({ length: n }, (_, i) => `($${i * 7 + 1}, $${i * 7 + 2}, $${i * 7 + 3}, $${i * 7 + 4}, $${i * 7 + 5}, $${i * 7 + 6}, $${i * 7 + 7})`).join(", ");
    s = `INSERT INTO shares (time, worker, address, job, difficulty, weight, hash) VALUES ${vs} RETURNING id`;
    if (insertSqls.size > 256) insertSqls.clear();
    insertSqls.set(n, s);
  }
  return s;
}

function values(r: ShareRow): (string | number | Buffer)[] {
  return [r.time, r.worker, Buffer.from(r.address), r.job, r.difficulty, r.weight, r.hash];
}

async function putCarry(tx: SQL, carried: Record<string, string>): Promise<void> {
  await tx.unsafe("DELETE FROM pool_carry");
  for (const [a, v] of Object.entries(carried)) await tx.unsafe("INSERT INTO pool_carry (address, amount) VALUES ($1, $2)", [Buffer.from(a, "hex"), v]);
}

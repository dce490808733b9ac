import type { Database } from "bun:sqlite";
import type { Store } from "../store";
import { TurnBatch } from "./batch";
import { RoundSums, WindowSums, type ShareEntry } from "./weights";

/** A found block's payout as stored (amounts as decimal strings, addresses as public-key hex). */
export interface StoredPlan {
  scheme: "pplns" | "prop";
  total: string;
  foundation: string;
  poolFee: string;
  poolFeeBps: number;
  outputs: { to: string; amount: string }[];
  weights: Record<string, string>;
  carried: Record<string, string>;
  lastShare: number;
  /** "connected": the window had no shares, so the workers connected when the job was made shared it equally. */
  basis?: "connected";
}

export interface ShareRecord {
  worker: string;
  /** Payout public key (32 bytes). */
  address: Uint8Array;
  job: string;
  difficulty: number;
  /** Header hash (hex): unique, so a share can never be counted twice. */
  hash: string;
}

const ROWS_PER_INSERT = 100;

const weightCache = new Map<number, { text: string; value: bigint }>();

/** shareWeight (and as decimal text), cached per difficulty (a pool sees few distinct ones). */
function weightOf(d: number): { text: string; value: bigint } {
  let w = weightCache.get(d);
  if (w === undefined) {
    if (weightCache.size > 4096) weightCache.clear();
    const value = shareWeight(d);
    weightCache.set(d, (w = { text: value.toString(), value }));
  }
  return w;
}

function row(now: number, s: ShareRecord): (string | number | Uint8Array)[] {
  return [now, s.worker, s.address, s.job, s.difficulty, weightOf(s.difficulty).text, s.hash];
}

function entry(id: number, s: ShareRecord): ShareEntry {
  return { id, key: Buffer.from(s.address).toString("hex"), weight: weightOf(s.difficulty).value };
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
 * It is the only writer of its shares: the weights a plan uses are running sums kept as shares are committed (the
 * table is read once, at the first plan), so building a job never scans the shares.
 */
export class Ledger {
  private readonly db: Database;
  private readonly batch = new TurnBatch<ShareRecord, void>((shares) => this.commit(shares));
  /** The highest share id, once read (kept as shares are committed). */
  private last: number | null = null;
  private window: WindowSums | null = null;
  private round: RoundSums | null = null;
  /** Where the PROP round starts, once read; cleared when pool blocks change. */
  private roundFrom: number | null = null;
  private carry: Map<string, bigint> | null = null;

  constructor(store: Store) {
    this.db = store.db;
  }

  /** Commits so far (one per turn that had shares). */
  get commits(): number {
    return this.batch.batches;
  }

  /** Resolves once the share is committed. */
  record(s: ShareRecord): Promise<void> {
    return this.batch.push(s);
  }

  private commit(shares: ShareRecord[]): (void | Error)[] {
    const now = Date.now();
    const entered: ShareEntry[] = [];
    try {
      this.db.transaction(() => {
        // Rows go in by the hundred: one statement per row costs more than checking the share did.
        for (let at = 0; at < shares.length; at += ROWS_PER_INSERT) {
          const part = shares.slice(at, at + ROWS_PER_INSERT);
          const last = Number(this.insertRows(part.length).run(...part.flatMap((s) => row(now, s))).lastInsertRowid);
          // One statement's rows take consecutive ids.
          part.forEach((s, k) => entered.push(entry(last - part.length + 1 + k, s)));
        }
      })();
      this.entered(entered);
      return shares.map(() => undefined);
    } catch {
      // One bad row (a duplicate hash) must not lose the others: retry them one by one.
      entered.length = 0;
      const out = shares.map((s) => {
        try {
          entered.push(entry(Number(this.insertRows(1).run(...row(now, s)).lastInsertRowid), s));
          return undefined;
        } catch (err) {
          return err as Error;
        }
      });
      this.entered(entered);
      return out;
    }
  }

  /** Committed shares into the running sums (only once they are durable). */
  private entered(shares: ShareEntry[]): void {
    if (this.last === null) return; // nothing read yet: the first plan reads the table
    for (const s of shares) {
      if (s.id > this.last) this.last = s.id;
      this.window?.add(s);
      this.round?.add(s.key, s.weight);
    }
  }

  private readonly statements = new Map<number, ReturnType<Database["query"]>>();

  /** INSERT of n rows, prepared once per n. */
  private insertRows(n: number) {
    let q = this.statements.get(n);
    if (!q) {
      const values = Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?, ?)").join(", ");
      q = this.db.query(`INSERT INTO shares (time, worker, address, job, difficulty, weight, hash) VALUES ${values}`);
      if (this.statements.size > 256) this.statements.clear();
      this.statements.set(n, q);
    }
    return q;
  }

  /** Shares recorded so far. */
  count(): number {
    return this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
  }

  /** The highest share id so far (0 without shares). */
  lastShareId(): number {
    return this.db.query<{ n: number | null }, []>("SELECT max(id) AS n FROM shares").get()?.n ?? 0;
  }

  /**
   * The weights a payout plan uses, with the last share they count: PPLNS over `window` difficulty units
   * (x 2^32), or, with window null, PROP: every share since the last block the pool found.
   */
  weights(window: bigint | null): { weights: Map<string, bigint>; lastShare: number } {
    const lastShare = (this.last ??= this.lastShareId());
    if (window !== null) {
      this.window ??= new WindowSums(this.db, window, lastShare);
      return { weights: this.window.weights(window), lastShare };
    }
    const from = (this.roundFrom ??= this.db.query<{ n: number | null }, []>("SELECT max(last_share) AS n FROM pool_blocks WHERE status = 'main'").get()?.n ?? 0);
    // A found block (or a reorganisation) moved the round's start: read the round again from there (rare).
    if (this.round?.from !== from) this.round = new RoundSums(this.db, from, lastShare);
    return { weights: new Map(this.round.sums), lastShare };
  }

  /** What each address is owed from earlier blocks (amounts that were too small for an output). */
  carried(): Map<string, bigint> {
    // Read once and kept until a block or a reorganisation rewrites it: with an output cap most payees are owed.
    if (!this.carry) {
      const rows = this.db.query<{ address: Uint8Array; amount: string }, []>("SELECT address, amount FROM pool_carry").all();
      this.carry = new Map(rows.map((r) => [Buffer.from(r.address).toString("hex"), BigInt(r.amount)]));
    }
    return new Map(this.carry);
  }

  /** Records a block the pool found with its plan, and the carry the plan leaves: one transaction. */
  recordBlock(b: { hash: Uint8Array; height: number; plan: StoredPlan }): void {
    this.db.transaction(() => {
      this.db.query("INSERT OR IGNORE INTO pool_blocks (hash, height, time, plan, last_share) VALUES (?, ?, ?, ?, ?)").run(
        b.hash, b.height, Date.now(), JSON.stringify(b.plan), b.plan.lastShare,
      );
      this.db.query("DELETE FROM pool_carry").run();
      const put = this.db.query("INSERT INTO pool_carry (address, amount) VALUES (?, ?)");
      for (const [a, v] of Object.entries(b.plan.carried)) put.run(Buffer.from(a, "hex"), v);
    })();
    this.roundFrom = null;
    this.carry = null;
    this.blocksGen++;
  }

  /** The blocks the pool found, newest first, with their plans and whether they are still on the main chain. */
  blocks(limit = 100): { hash: string; height: number; time: number; status: "main" | "orphaned"; plan: StoredPlan }[] {
    return this.db
      .query<{ hash: Uint8Array; height: number; time: number; status: "main" | "orphaned"; plan: string }, [number]>(
        "SELECT hash, height, time, status, plan FROM pool_blocks ORDER BY time DESC, height DESC LIMIT ?",
      )
      .all(limit)
      .map((r) => ({ hash: Buffer.from(r.hash).toString("hex"), height: r.height, time: r.time, status: r.status, plan: JSON.parse(r.plan) as StoredPlan }));
  }

  /** One block the pool found (by its hash, digest byte order), or null. */
  block(hash: Uint8Array): { hash: string; height: number; time: number; status: "main" | "orphaned"; plan: StoredPlan } | null {
    const r = this.db
      .query<{ hash: Uint8Array; height: number; time: number; status: "main" | "orphaned"; plan: string }, [Uint8Array]>("SELECT hash, height, time, status, plan FROM pool_blocks WHERE hash = ?")
      .get(hash);
    return r ? { hash: Buffer.from(r.hash).toString("hex"), height: r.height, time: r.time, status: r.status, plan: JSON.parse(r.plan) as StoredPlan } : null;
  }

  /** Counts up whenever this ledger records a block or changes one's status: what derived figures are cached by. */
  get blocksVersion(): number {
    return this.blocksGen;
  }
  private blocksGen = 0;

  /** The pool's most recent blocks by height, as reconcile() reads them. */
  recentBlocks(recent = 1000): { hash: Uint8Array; height: number; status: "main" | "orphaned" }[] {
    return this.db
      .query<{ hash: Uint8Array; height: number; status: "main" | "orphaned" }, [number]>("SELECT hash, height, status FROM pool_blocks ORDER BY height DESC LIMIT ?")
      .all(recent)
      .map((r) => ({ hash: Uint8Array.from(r.hash), height: r.height, status: r.status }));
  }

  /**
   * After a reorganisation: pool blocks that left the main chain are marked orphaned (and ones that came back,
   * main again), and the carry is rebuilt from the newest pool block still on the main chain, so amounts owed
   * are never lost with an orphaned coinbase nor paid twice. Returns how many blocks changed status.
   */
  reconcile(onMain: (hash: Uint8Array, height: number) => boolean, recent = 1000): number {
    const rows = this.db
      .query<{ hash: Uint8Array; height: number; status: string }, [number]>("SELECT hash, height, status FROM pool_blocks ORDER BY height DESC LIMIT ?")
      .all(recent);
    const changes = rows.filter((r) => (r.status === "main") !== onMain(r.hash, r.height));
    if (!changes.length) return 0;
    this.db.transaction(() => {
      const set = this.db.query("UPDATE pool_blocks SET status = ? WHERE hash = ?");
      for (const r of changes) set.run(r.status === "main" ? "orphaned" : "main", r.hash);
      const newest = this.db.query<{ plan: string }, []>("SELECT plan FROM pool_blocks WHERE status = 'main' ORDER BY height DESC, time DESC LIMIT 1").get();
      this.db.query("DELETE FROM pool_carry").run();
      const put = this.db.query("INSERT INTO pool_carry (address, amount) VALUES (?, ?)");
      if (newest) for (const [a, v] of Object.entries((JSON.parse(newest.plan) as StoredPlan).carried)) put.run(Buffer.from(a, "hex"), v);
    })();
    this.roundFrom = null;
    this.carry = null;
    this.blocksGen++;
    return changes.length;
  }

  /**
   * PPLNS read from the table (the running sums in weights() give the same): the weight per payout address over the most recent shares whose weights add up to `window`
   * (difficulty units x 2^32); the share that crosses the edge counts only for the part inside.
   */
  pplnsWeights(window: bigint, upTo = Number.MAX_SAFE_INTEGER): Map<string, bigint> {
    const out = new Map<string, bigint>();
    let left = window;
    const rows = this.db.query<{ address: Uint8Array; weight: string }, [number]>("SELECT address, weight FROM shares WHERE id <= ? ORDER BY id DESC").iterate(upTo);
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

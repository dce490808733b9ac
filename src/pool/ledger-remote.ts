// The ledger of a stratum shard (a Worker of the pool's process): every call is posted to the main thread, which
// runs it on the process's real ledger (SQLite or PostgreSQL) and posts the answer. A shard's insertShares batch
// (its Ledger's group commit: every share of one event-loop pass) is one call, so one transaction on the main
// thread, and the shard's acknowledgements wait for its answer: nothing is acknowledged before it is durable.
import type { BanRow, BlockRow, LedgerBackend, Maybe, ShareRow, StoredPlan, StoredShare } from "./ledger-backend";
import type { Ledger } from "./ledger";

/** The backend calls a shard may make (the LedgerBackend methods but close). */
export type LedgerOp = Exclude<keyof LedgerBackend, "kind" | "close">;

export interface LedgerCall {
  t: "ledger";
  id: number;
  op: LedgerOp;
  args: unknown[];
}

/** An error as it crosses threads: its message and the codes isDuplicate() reads. */
export interface CarriedError {
  message: string;
  code?: unknown;
  errno?: unknown;
}

export interface LedgerAnswer {
  t: "ledger-answer";
  id: number;
  ok: boolean;
  /** The result; per row, an insertShares result carries { error } where the row was refused. */
  value?: unknown;
  error?: CarriedError;
}

const carry = (e: unknown): CarriedError => {
  const x = e as { message?: unknown; code?: unknown; errno?: unknown } | null;
  return { message: typeof x?.message === "string" ? x.message : String(e), ...(x?.code !== undefined ? { code: x.code } : {}), ...(x?.errno !== undefined ? { errno: x.errno } : {}) };
};

const revive = (c: CarriedError): Error => Object.assign(new Error(c.message), c.code !== undefined ? { code: c.code } : {}, c.errno !== undefined ? { errno: c.errno } : {});

/** The shard's side: a LedgerBackend whose every call is answered by the main thread. */
export class RemoteLedger implements LedgerBackend {
  private next = 1;
  private readonly waiting = new Map<number, { op: LedgerOp; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private gone: string | null = null;

  /** `kind`: the main thread's backend (what the shard's Ledger and server decide by). */
  constructor(
    readonly kind: "sqlite" | "postgres",
    private readonly post: (m: LedgerCall) => void,
  ) {}

  /** Calls sent and not answered yet. */
  get pending(): number {
    return this.waiting.size;
  }

  /** An answer from the main thread (the shard's message handler hands it here). */
  answer(m: LedgerAnswer): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (!m.ok) return w.reject(revive(m.error ?? { message: "the ledger call failed" }));
    if (w.op === "insertShares") return w.resolve((m.value as (number | { error: CarriedError })[]).map((r) => (typeof r === "number" ? r : revive(r.error))));
    w.resolve(m.value);
  }

  /** The main thread will not answer (the shard is stopping): every call waiting, and every later one, fails. */
  fail(why: string): void {
    this.gone = why;
    for (const w of this.waiting.values()) w.reject(new Error(why));
    this.waiting.clear();
  }

  private call<T>(op: LedgerOp, args: unknown[]): Promise<T> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { op, resolve: resolve as (v: unknown) => void, reject });
      try {
        this.post({ t: "ledger", id, op, args });
      } catch (e) {
        this.waiting.delete(id);
        reject(new Error(`the ledger call could not be posted: ${(e as Error).message}`));
      }
    });
  }

  migrate = (): Promise<number> => this.call("migrate", []);
  insertShares = (rows: ShareRow[]): Promise<(number | Error)[]> => this.call("insertShares", [rows]);
  count = (): Promise<number> => this.call("count", []);
  lastShareId = (): Promise<number> => this.call("lastShareId", []);
  sharesBefore = (before: number, limit: number): Promise<StoredShare[]> => this.call("sharesBefore", [before, limit]);
  sharesBetween = (after: number, upTo: number): Promise<StoredShare[]> => this.call("sharesBetween", [after, upTo]);
  roundStart = (): Promise<number> => this.call("roundStart", []);
  carry = (): Promise<Map<string, bigint>> => this.call("carry", []);
  recordBlock = (b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): Promise<boolean> => this.call("recordBlock", [b]);
  blocks = (limit: number): Promise<BlockRow[]> => this.call("blocks", [limit]);
  recentBlocks = (limit: number): Promise<BlockRow[]> => this.call("recentBlocks", [limit]);
  block = (hash: Uint8Array): Promise<BlockRow | null> => this.call("block", [hash]);
  blockKeys = (limit: number): Promise<string[]> => this.call("blockKeys", [limit]);
  setStatuses = (changes: { hash: Uint8Array; status: "main" | "orphaned" }[]): Promise<void> => this.call("setStatuses", [changes]);
  putCandidate = (b: { hash: Uint8Array; height: number; time: number; plan: StoredPlan }): Promise<void> => this.call("putCandidate", [b]);
  candidates = (): Promise<{ hash: Uint8Array; height: number; time: number; plan: StoredPlan }[]> => this.call("candidates", []);
  dropCandidate = (hash: Uint8Array): Promise<void> => this.call("dropCandidate", [hash]);
  putBan = (b: BanRow): Promise<void> => this.call("putBan", [b]);
  bans = (now: number): Promise<BanRow[]> => this.call("bans", [now]);
  liftBans = (ip: string): Promise<number> => this.call("liftBans", [ip]);
  /** The main thread owns the real ledger: a shard closing lets nothing go. */
  close(): void {
    this.fail("the shard's ledger is closed");
  }
}

const OPS = new Set<string>(["migrate", "insertShares", "count", "lastShareId", "sharesBefore", "sharesBetween", "roundStart", "carry", "recordBlock", "blocks", "recentBlocks", "block", "blockKeys", "setStatuses", "putCandidate", "candidates", "dropCandidate", "putBan", "bans", "liftBans"]);

/** The shards' batches waiting for the next commit, by ledger. */
interface Group {
  rows: ShareRow[];
  parts: { at: number; n: number; ok: (ids: (number | Error)[]) => void; fail: (e: unknown) => void }[];
}
const groups = new WeakMap<Ledger, Group>();

/**
 * Group commit across shards: the batches that reach the main thread in one pass of its loop go into one transaction
 * (one commit, one fsync), as one thread's shares of a pass do. Each shard is answered with its own rows' ids.
 */
function insertGrouped(ledger: Ledger, rows: ShareRow[]): Promise<(number | Error)[]> {
  let g = groups.get(ledger);
  if (!g) {
    const group: Group = { rows: [], parts: [] };
    groups.set(ledger, group);
    setImmediate(async () => {
      groups.delete(ledger);
      try {
        const ids = await ledger.insertRows(group.rows);
        for (const p of group.parts) p.ok(ids.slice(p.at, p.at + p.n));
      } catch (e) {
        for (const p of group.parts) p.fail(e);
      }
    });
    g = group;
  }
  const into = g;
  return new Promise((ok, fail) => {
    into.parts.push({ at: into.rows.length, n: rows.length, ok, fail });
    for (const r of rows) into.rows.push(r);
  });
}

/**
 * The main thread's side: runs a shard's call on the process's ledger and gives the answer to post back. Shares
 * go through ledger.insertRows (one transaction, counted in the running sums the leader's plans read); a found
 * block through ledger.recordBlock (the leader closes the round at once); the rest straight to the backend.
 */
export async function serveLedger(ledger: Ledger, m: LedgerCall): Promise<LedgerAnswer> {
  try {
    if (!OPS.has(m.op) || !Array.isArray(m.args)) throw new Error(`unknown ledger call ${String(m.op)}`);
    let value: unknown;
    if (m.op === "insertShares") {
      const ids = await insertGrouped(ledger, m.args[0] as ShareRow[]);
      value = ids.map((r) => (r instanceof Error ? { error: carry(r) } : r));
    } else if (m.op === "recordBlock") {
      const b = m.args[0] as { hash: Uint8Array; height: number; plan: StoredPlan };
      // The shard's own record, when the main thread's (made as its source took the block) seemed to fail: known, no change.
      value = (await ledger.recordBlock({ hash: b.hash, height: b.height, plan: b.plan })) ?? false;
    } else {
      const fn = ledger.backend[m.op] as (...a: unknown[]) => Maybe<unknown>;
      value = await fn.apply(ledger.backend, m.args);
    }
    return { t: "ledger-answer", id: m.id, ok: true, value };
  } catch (e) {
    return { t: "ledger-answer", id: m.id, ok: false, error: carry(e) };
  }
}

import type { Store } from "../store";
import { TurnBatch } from "./batch";
import { shareWeight, type BanRow, type BlockRow, type LedgerBackend, type Maybe, type ShareRow, type StoredPlan, type StoredShare } from "./ledger-backend";
import { SqliteLedger } from "./ledger-sqlite";
import { pplnsFrom, SharedSums } from "./ledger-sums";
export { pplnsFrom, pplnsOf, propOf } from "./ledger-sums";
import { RoundSums, WindowSums, type ShareEntry } from "./weights";

export { shareWeight, type StoredPlan } from "./ledger-backend";

export interface ShareRecord {
  worker: string;
  /** Payout public key (32 bytes). */
  address: Uint8Array;
  job: string;
  difficulty: number;
  /** Header hash (hex): unique, so a share can never be counted twice. */
  hash: string;
}

export type LedgerBlock = { hash: string; height: number; time: number; status: "main" | "orphaned"; plan: StoredPlan };

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

const toRow = (now: number, s: ShareRecord): ShareRow => ({ time: now, worker: s.worker, address: s.address, job: s.job, difficulty: s.difficulty, weight: weightOf(s.difficulty).text, hash: s.hash });
const show = (b: BlockRow): LedgerBlock => ({ hash: Buffer.from(b.hash).toString("hex"), height: b.height, time: b.time, status: b.status, plan: b.plan });

/**
 * The pool's ledger on a backend (SQLite in the node's store, or PostgreSQL). Shares are written in group commits:
 * every share handed in during one turn of the event loop goes into one transaction, and each caller's promise
 * resolves only after that transaction is durable, so an acknowledgement sent after `await record()` is never for a
 * share the ledger could lose. With SQLite it is the only writer of its shares: the weights a plan uses are running
 * sums kept as shares are committed (the table is read once, at the first plan). With PostgreSQL other instances
 * write too: the weights, carry and blocks are read from the database by prepare() before each job is built.
 */
export class Ledger {
  readonly backend: LedgerBackend;
  /** The SQLite backend (answers at once), or null with an asynchronous one. */
  private readonly sync: SqliteLedger | null;
  private readonly batch = new TurnBatch<ShareRecord, void>((shares) => this.commit(shares));
  /** The highest share id, once read (kept as shares are committed). */
  private last: number | null = null;
  private window: WindowSums | null = null;
  private round: RoundSums | null = null;
  /** Where the PROP round starts, once read; cleared when pool blocks change. */
  private roundFrom: number | null = null;
  private carry: Map<string, bigint> | null = null;
  /** Asynchronous backend: the weights prepare() read, the blocks, and the writes not yet settled. */
  private snapshot: { window: bigint | null; weights: Map<string, bigint>; lastShare: number } | null = null;
  private mirror: BlockRow[] = [];
  private readonly sums: SharedSums | null;
  private reading: Promise<void> = Promise.resolve();
  private writes: Promise<void> = Promise.resolve();
  /** Called when a write to an asynchronous backend fails (the block is on the chain, its plan not stored). */
  onFault: (e: Error) => void = () => {};

  constructor(from: Store | LedgerBackend) {
    this.backend = "db" in from && !("kind" in from) ? new SqliteLedger(from.db) : (from as LedgerBackend);
    this.sync = this.backend instanceof SqliteLedger ? this.backend : null;
    this.sync?.migrate();
    this.sums = this.sync ? null : new SharedSums(this.backend);
  }

  /** A ledger on an asynchronous backend: migrated, its blocks and carry read. */
  static async open(backend: LedgerBackend): Promise<Ledger> {
    const l = new Ledger(backend);
    if (!l.sync) {
      await backend.migrate();
      l.mirror = await backend.blocks(1000);
      l.carry = await backend.carry();
      l.shared = await backend.bans(Date.now());
    }
    return l;
  }

  /** At shutdown: waits for the writes not yet settled (a found block's plan), then lets the backend go. */
  async close(): Promise<void> {
    await this.writes;
    await this.backend.close();
  }

  /** A ban, kept so that a restart and the other instances on this ledger apply it too. */
  saveBan(b: { ip: string; worker: string | null; reason: string; until: number }): void {
    const row = { subject: b.worker === null ? b.ip : `${b.ip}/${b.worker}`, ip: b.ip, worker: b.worker, until: b.until, reason: b.reason };
    try {
      const done = this.backend.putBan(row);
      if (done instanceof Promise) void this.track(done).catch(() => {});
    } catch (e) {
      this.onFault(e as Error); // a ban not kept is lost at a restart only: the pool goes on
    }
  }

  /** Lifts an IP's stored bans (its workers' too). */
  liftBans(ip: string): void {
    try {
      const done = this.backend.liftBans(ip);
      if (done instanceof Promise) void this.track(done.then(() => {})).catch(() => {});
      this.forgetBans(ip);
    } catch (e) {
      this.onFault(e as Error);
    }
  }

  /** An IP's bans lifted elsewhere (another instance; the main thread for a shard): not restored from what was read. */
  forgetBans(ip: string): void {
    this.shared = this.shared.filter((b) => b.ip !== ip);
  }

  /** Bans in force as stored: read now (SQLite), or as prepare() last read them (another backend). */
  storedBans(now = Date.now()): BanRow[] {
    return (this.sync ? this.sync.bans(now) : this.shared).filter((b) => b.until > now);
  }
  private shared: BanRow[] = [];

  /** Commits so far (one per turn that had shares). */
  get commits(): number {
    return this.batch.batches;
  }

  /** Resolves once the share is committed. */
  record(s: ShareRecord): Promise<void> {
    return this.batch.push(s);
  }

  private commit(shares: ShareRecord[]): (void | Error)[] | Promise<(void | Error)[]> {
    const now = Date.now();
    const ids = this.backend.insertShares(shares.map((s) => toRow(now, s)));
    const done = (ids: (number | Error)[]) =>
      ids.map((id, i) => {
        if (id instanceof Error) return id;
        this.entered({ id, key: Buffer.from(shares[i]!.address).toString("hex"), weight: weightOf(shares[i]!.difficulty).value });
        return undefined;
      });
    if (!(ids instanceof Promise)) return done(ids);
    // A database that stops answering must not hold every miner's acknowledgement (and the shares behind them) for
    // ever: past the deadline the batch is refused (those shares are not acknowledged; should the commit still land,
    // they are in the ledger unacknowledged, never the other way round).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${this.backend.kind} ledger did not commit within ${this.commitTimeoutMs} ms`)), this.commitTimeoutMs);
    });
    return Promise.race([ids.then(done), late]).finally(() => clearTimeout(timer));
  }

  /** A shard's batch (its rows of one event-loop pass): one transaction, then counted in the running sums. */
  insertRows(rows: ShareRow[]): Maybe<(number | Error)[]> {
    const done = (ids: (number | Error)[]) => (ids.forEach((id, i) => id instanceof Error || this.entered({ id, key: Buffer.from(rows[i]!.address).toString("hex"), weight: BigInt(rows[i]!.weight) })), ids);
    const ids = this.backend.insertShares(rows);
    return ids instanceof Promise ? ids.then(done) : done(ids);
  }

  /** How long a commit to an asynchronous backend may take before its shares are refused. */
  commitTimeoutMs = 10_000;

  /** A committed share into the running sums (only once it is durable). */
  private entered(s: ShareEntry): void {
    if (this.last === null || !this.sync) return; // nothing read yet: the first plan reads the table
    if (s.id > this.last) this.last = s.id;
    this.window?.add(s);
    this.round?.add(s.key, s.weight);
  }

  /** Shares recorded so far (SQLite; with another backend ask backend.count()). */
  count(): number {
    return this.need().count();
  }

  /** The highest share id so far (0 without shares; SQLite). */
  lastShareId(): number {
    return this.need().lastShareId();
  }

  private need(): SqliteLedger {
    if (!this.sync) throw new Error(`the ${this.backend.kind} ledger answers asynchronously: ask its backend`);
    return this.sync;
  }

  /**
   * Before a job is built: with an asynchronous backend, reads the weights for `window` (PPLNS, or null: PROP),
   * the carry and the blocks from the database (every instance's shares count). Null with SQLite: nothing to wait for.
   */
  prepare(window: bigint | null | undefined): Promise<void> | null {
    if (this.sync) return null;
    // One read at a time: the kept sums take each new share once.
    const p = this.reading.then(async () => {
      await this.writes;
      const b = this.backend;
      const lastShare = await b.lastShareId();
      // An unknown window (an "auto" PPLNS window before the first job): the one read last, if any.
      const w = window === undefined ? this.snapshot?.window : window;
      if (w !== undefined) this.snapshot = { window: w, weights: w !== null ? await this.sums!.pplns(w, lastShare) : await this.sums!.prop(lastShare), lastShare };
      this.carry = await b.carry();
      // The plans (up to a coinbase's outputs each) are read again only when the list changed: another instance found
      // a block or a reorganisation moved one (derived figures, the stats, are then read again too).
      const keys = await b.blockKeys(1000);
      const held = [...this.mirror].sort((x, y) => y.time - x.time || y.height - x.height).map((r) => `${Buffer.from(r.hash).toString("hex")}:${r.status}`);
      if (keys.join() !== held.join()) {
        this.mirror = await b.blocks(1000);
        this.blocksGen++;
      }
      this.shared = await b.bans(Date.now());
    });
    this.reading = p.catch(() => {});
    return p;
  }

  /** False when a plan for `window` would use weights read for another window (asynchronous backend): read again. */
  holds(window: bigint | null): boolean {
    return this.sync !== null || this.snapshot?.window === window;
  }

  /**
   * The weights a payout plan uses, with the last share they count: PPLNS over `window` difficulty units
   * (x 2^32), or, with window null, PROP: every share since the last block the pool found.
   */
  weights(window: bigint | null): { weights: Map<string, bigint>; lastShare: number } {
    if (!this.sync) {
      // As prepare() read them (for the window it was given: a changed window counts from the next job).
      const s = this.snapshot;
      return s ? { weights: new Map(s.weights), lastShare: s.lastShare } : { weights: new Map(), lastShare: 0 };
    }
    const db = this.sync;
    const lastShare = (this.last ??= db.lastShareId());
    if (window !== null) {
      this.window ??= new WindowSums((before) => db.iterateBefore(before), window, lastShare);
      return { weights: this.window.weights(window), lastShare };
    }
    const from = (this.roundFrom ??= db.roundStart());
    // A found block (or a reorganisation) moved the round's start: read the round again from there (rare).
    if (this.round?.from !== from) this.round = new RoundSums(from, db.iterateBetween(from, lastShare));
    return { weights: new Map(this.round.sums), lastShare };
  }

  /** What each address is owed from earlier blocks (amounts that were too small for an output). */
  carried(): Map<string, bigint> {
    // Read once and kept until a block or a reorganisation rewrites it: with an output cap most payees are owed.
    this.carry ??= this.sync ? this.sync.carry() : new Map();
    return new Map(this.carry);
  }

  /**
   * Records a block the pool found with its plan, and the carry the plan leaves: one transaction. With SQLite it
   * is done (or throws) on return; with another backend the promise says when it is stored.
   */
  recordBlock(b: { hash: Uint8Array; height: number; plan: StoredPlan }): void | Promise<boolean> {
    const row = { hash: b.hash, height: b.height, time: Date.now(), plan: b.plan };
    // A block recorded twice (a shard's try after the main thread's record seemed to fail, recover() after a crash)
    // changes nothing: its carry must not replace a later block's.
    const known = !this.sync && this.mirror.some((m) => Buffer.compare(m.hash, b.hash) === 0);
    const done = this.backend.recordBlock(row);
    this.roundFrom = null;
    this.blocksGen++;
    if (this.sync) return void (this.carry = null);
    if (known) return this.track(done as Promise<boolean>);
    // Seen at once by this instance: the next plan must not pay the closed round again.
    this.mirror.unshift({ ...row, status: "main" });
    this.carry = new Map(Object.entries(b.plan.carried).map(([k, v]) => [k, BigInt(v)]));
    if (this.snapshot?.window === null) this.snapshot = null; // the PROP round closed: prepare() reads the next
    // Recorded already (another instance, not yet in the mirror): the carry is the database's, not this plan's.
    return this.track((done as Promise<boolean>).then(async (inserted) => (inserted || (this.carry = await this.backend.carry()), inserted)));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const t = p.catch((e: Error) => {
      this.onFault(e);
      throw e;
    });
    this.writes = t.then(() => {}, () => {});
    return t;
  }

  /**
   * Before a found block is submitted, with a shared ledger: its plan, so that a crash between the chain taking the
   * block and recordBlock() loses nothing (recover() records it at the next start). Null with SQLite (recorded in
   * the same turn the chain takes the block).
   */
  candidate(b: { hash: Uint8Array; height: number; plan: StoredPlan }): Promise<void> | null {
    if (this.sync) return null;
    return this.track(this.backend.putCandidate({ ...b, time: Date.now() }) as Promise<void>);
  }

  /**
   * At start: candidates a crash left behind are recorded when the block is on the main chain (the round closes
   * then, the carry follows its plan), dropped otherwise (their shares stay in the round). How many were recorded.
   */
  async recover(mainChain: (blocks: { hash: Uint8Array; height: number }[]) => boolean[] | Promise<boolean[]>): Promise<number> {
    const rows = await this.backend.candidates();
    if (!rows.length) return 0;
    const on = await mainChain(rows);
    let n = 0;
    for (const [i, c] of rows.entries()) {
      if (on[i] && !(await this.backend.block(c.hash))) {
        await this.recordBlock({ hash: c.hash, height: c.height, plan: c.plan });
        n++;
      } else await this.backend.dropCandidate(c.hash);
    }
    return n;
  }

  /** The blocks the pool found, newest first, with their plans and whether they are still on the main chain. */
  blocks(limit = 100): LedgerBlock[] {
    if (this.sync) return this.sync.blocks(limit).map(show);
    return [...this.mirror].sort((a, b) => b.time - a.time || b.height - a.height).slice(0, limit).map(show);
  }

  /** One block the pool found (by its hash, digest byte order), or null. */
  block(hash: Uint8Array): LedgerBlock | null {
    const r = this.sync ? this.sync.block(hash) : (this.mirror.find((m) => Buffer.compare(m.hash, hash) === 0) ?? null);
    return r ? show(r) : null;
  }

  /** Counts up whenever this ledger records a block or changes one's status: what derived figures are cached by. */
  get blocksVersion(): number {
    return this.blocksGen;
  }
  private blocksGen = 0;

  /** The pool's most recent blocks by height, as reconcile() reads them. */
  recentBlocks(recent = 1000): { hash: Uint8Array; height: number; status: "main" | "orphaned" }[] {
    const rows = this.sync ? this.sync.recentBlocks(recent) : [...this.mirror].sort((a, b) => b.height - a.height).slice(0, recent);
    return rows.map((r) => ({ hash: Uint8Array.from(r.hash), height: r.height, status: r.status }));
  }

  /**
   * After a reorganisation: pool blocks that left the main chain are marked orphaned (and ones that came back,
   * main again), and the carry is rebuilt from the newest pool block still on the main chain, so amounts owed
   * are never lost with an orphaned coinbase nor paid twice. Returns how many blocks changed status.
   */
  reconcile(onMain: (hash: Uint8Array, height: number) => boolean, recent = 1000): number {
    const rows = this.sync ? this.sync.recentBlocks(recent) : [...this.mirror].sort((a, b) => b.height - a.height).slice(0, recent);
    const changes = rows.filter((r) => (r.status === "main") !== onMain(r.hash, r.height)).map((r) => ({ hash: r.hash, status: r.status === "main" ? ("orphaned" as const) : ("main" as const) }));
    if (!changes.length) return 0;
    const done = this.backend.setStatuses(changes);
    this.roundFrom = null;
    this.carry = null;
    this.blocksGen++;
    if (!this.sync) {
      for (const c of changes) for (const m of this.mirror) if (Buffer.compare(m.hash, c.hash) === 0) m.status = c.status;
      const newest = this.mirror.filter((m) => m.status === "main").sort((a, b) => b.height - a.height || b.time - a.time)[0];
      this.carry = new Map(Object.entries(newest?.plan.carried ?? {}).map(([k, v]) => [k, BigInt(v)]));
      this.snapshot = null;
      void this.track(done as Promise<void>).catch(() => {});
    }
    return changes.length;
  }

  /**
   * PPLNS read from the table (the running sums in weights() give the same; SQLite): the weight per payout address over the most recent
   * shares whose weights add up to `window` (difficulty units x 2^32); the share that crosses the edge counts only for the part inside.
   */
  pplnsWeights(window: bigint, upTo = Number.MAX_SAFE_INTEGER): Map<string, bigint> {
    return pplnsFrom(this.need().iterateBefore(upTo + 1), window);
  }
}

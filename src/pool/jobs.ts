// Work (ckpool's generator): jobs built from the source's tip with the payout plan in the coinbase, checked by the
// source where it can, coalesced (a burst of tips makes one job) and published to every connection with work.
import { toHex } from "../core";
import { bitsToTarget } from "../chain";
import type { Outgoing } from "../stratum";
import { makeJob } from "./job";
import type { WorkEvent } from "./source";
import { shareWeight, type StoredPlan } from "./ledger";
import { planPayout } from "./payout";
import { hashDifficulty } from "./target";
import { RunAgain } from "./rerun";
import type { PoolConn } from "./conn";
import type { JobRecord, PoolContext } from "./context";
import { fromWire, toWire, type WireJob } from "./job-wire";
import { StaleWatch } from "./stale";
import { blocksSettled, BLOCK_WAIT_MS } from "./stratifier";

/** What this part uses of the pool. */
type Pool = Pick<PoolContext, "o" | "now" | "algo" | "isRunning" | "sessions" | "shares" | "report">;

export class Jobs {
  /** The job being mined, and the sequence of the last one built (job ids are it in hex). */
  current: JobRecord | null = null;
  seq = 0;
  /** Why the last job could not be built or was refused, until one is published again. */
  problem: string | null = null;
  /** A clean job could not be published (the source refused it): the next one published is clean. */
  private cleanOwed = false;
  private refreshQueued = false;
  /** The window the last plan used (undefined before the first): what a shared ledger is read for. */
  private lastWindow: bigint | null | undefined = undefined;
  /** When the tip being answered changed (performance.now()). */
  private tipAt: number | null = null;
  private checkingChain = false;
  private freshQueued = false;
  /** One build at a time; refreshes asked for meanwhile make one more (clean if any of them was). */
  private readonly builder = new RunAgain<boolean>((clean) => this.build(clean), (a, b) => a || b, () => this.pool.isRunning());

  /** A follower adopts the jobs a leader publishes and never builds its own (no source.work(), no ledger reads). */
  following = false;
  /** The highest lease epoch seen (a follower) or held (the leader): jobs of an older one are dropped. */
  epoch = 0;
  /** Where a leader's job sequences come from (a counter shared by every leader); null: this server's own count. */
  nextSeq: (() => number) | null = null;
  private readonly published: ((w: WireJob) => void)[] = [];
  /** A follower's job gone stale (cut off from the leader): checked once a second by the server, shown in /health. */
  readonly stale: StaleWatch;

  constructor(private readonly pool: Pool) {
    this.stale = new StaleWatch(pool);
  }

  /** Called with every job this server makes current, built or adopted (a leader publishes it, a shard host relays it). */
  onPublished(cb: (w: WireJob) => void): void {
    this.published.push(cb);
  }

  /**
   * A follower takes a job the leader published: checked (fromWire), then the same publish path as a built job.
   * A job of an older lease epoch, or not newer than the current one, is dropped; a malformed one is refused and
   * logged (the last good job stays). Whether it became current.
   */
  adopt(w: WireJob): boolean {
    const t0 = performance.now();
    const log = this.pool.o.log;
    if (!this.following || !this.pool.isRunning()) return false;
    if (typeof w?.epoch === "number" && w.epoch < this.epoch) {
      log.debug("pool.job_dropped", { job: typeof w.seq === "number" ? w.seq.toString(16) : null, epoch: w.epoch, highest_epoch: this.epoch, reason: "older lease epoch" });
      return false;
    }
    let rec: JobRecord;
    try {
      rec = fromWire(w, this.pool.o.source, this.pool.algo);
    } catch (e) {
      log.warn("pool.job_refused", { reason: (e as Error).message, serving: this.current?.job.id ?? null });
      return false;
    }
    if (this.current && rec.seq <= this.current.seq) {
      log.debug("pool.job_dropped", { job: rec.job.id, current: this.current.job.id, reason: "not newer than the current job" });
      return false;
    }
    this.epoch = w.epoch;
    this.seq = Math.max(this.seq, rec.seq);
    this.stale.adoptedAt = this.pool.now();
    if (w.clean) this.tipAt = t0;
    this.tryPublish(rec, w.clean, t0, w);
    if (this.current === rec) log.debug("pool.job_adopted", { job: rec.job.id, epoch: w.epoch, height: rec.job.work.height, clean: w.clean });
    return this.current === rec;
  }

  /** The network's difficulty at the current job (Infinity before the first). */
  get networkDifficulty(): number {
    return this.current?.networkDifficulty ?? Infinity;
  }

  /** Whether a job id is one this pool issued (ids are the job sequence in hex): an unknown one was expired, not made up. */
  issued(jobId: string): boolean {
    if (!/^[0-9a-f]{1,8}$/.test(jobId)) return false;
    const n = parseInt(jobId, 16);
    return n >= 1 && n <= this.seq;
  }

  /** The first work of a connection once it is subscribed and authorized: its difficulty, then the current job. */
  sendWork(c: PoolConn): void {
    if (c.closed || !this.current || !c.session.subscribed || !c.users.size) return;
    if (c.workSent) return;
    c.workSent = true;
    this.pool.sessions.capDifficulty(c);
    c.tell(c.difficulty);
    c.noteDifficulty(this.current.seq, c.difficulty);
    let bytes: Uint8Array;
    try {
      bytes = c.link.encode(notifyMessage(this.current, true));
    } catch (e) {
      // Cannot happen within the caps (the job was encoded when published); a connection without work is useless.
      this.pool.o.log.error("pool.publish_failed", { ip: c.link.ip, codec: c.link.codec, job: this.current.job.id, reason: (e as Error).message });
      return c.link.close(`work could not be sent: ${(e as Error).message}`);
    }
    c.link.write(bytes);
  }

  onWork(e: WorkEvent): void {
    // A follower's work comes from the leader, which sees the same tips (and reorganisations) and reconciles.
    if (this.following) return;
    if (e.reorg) {
      const n = this.pool.o.ledger.reconcile(e.reorg.onMain);
      if (n) this.pool.o.log.warn("pool.blocks_reorganised", { changed: n, depth: e.reorg.depth });
    }
    if (!this.pool.isRunning()) return;
    if (!e.clean) return this.refresh(false);
    // After the current call stack: a block this pool found is recorded (its round closed) before the next job's
    // plan is made. Several tips in one stack (a reorg, a sync burst) make one job.
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    this.tipAt = performance.now();
    queueMicrotask(() => {
      this.refreshQueued = false;
      if (this.pool.isRunning()) this.refresh(true);
    });
  }

  /** The PPLNS window in weight units (difficulty x 2^32), or null for PROP. */
  private windowWeight(bits: number): bigint | null {
    if (this.pool.o.scheme === "prop") return null;
    if (this.pool.o.pplnsWindow !== "auto") return shareWeight(this.pool.o.pplnsWindow);
    const netDiff = hashDifficulty(bitsToTarget(bits), this.pool.algo);
    return shareWeight(Math.max(2 * netDiff, 1));
  }

  /**
   * A new job on the best block with the current payout plan; with clean, earlier jobs are void. The source may
   * check it first (an upstream daemon's proposal mode); a refused job is not sent, miners keep the last one.
   */
  refresh(clean: boolean): void {
    if (this.following) return;
    void this.builder.ask(clean);
  }

  /** One build: after any block still being submitted, so a found block's round is closed before the next plan. */
  private build(clean: boolean): Promise<void> | void {
    const pending = this.pool.shares.pendingBlocks;
    try {
      // A shared ledger (PostgreSQL) is read before the plan: every instance's shares, blocks and carry.
      // Before the first plan an "auto" PPLNS window is not known yet (it follows the network difficulty).
      const o = this.pool.o;
      const first = o.scheme === "prop" ? null : o.pplnsWindow !== "auto" ? shareWeight(o.pplnsWindow) : undefined;
      const read = (): Promise<void> | null => o.ledger.prepare(this.lastWindow === undefined ? first : this.lastWindow);
      const later = pending.size
        ? blocksSettled(pending, BLOCK_WAIT_MS).then(() => read()).then(() => this.makeJob(clean) ?? undefined)
        : (read()?.then(() => this.makeJob(clean) ?? undefined) ?? this.makeJob(clean));
      // The builder is free again whatever happened: a failure never stops the jobs that follow.
      return later?.catch((e) => this.jobFailed(clean, `internal: ${(e as Error).message}`));
    } catch (e) {
      this.jobFailed(clean, `internal: ${(e as Error).message}`);
    }
  }

  /** Builds one job and publishes it now, or after the source's check (the promise returned); failures are logged. */
  private makeJob(clean: boolean): Promise<void> | null {
    const t0 = performance.now();
    let rec: JobRecord;
    let check: Promise<void> | undefined;
    try {
      rec = this.buildJob();
      check = this.pool.o.source.verify?.(rec.job.work);
    } catch (e) {
      this.jobFailed(clean, (e as Error).message);
      return null;
    }
    if (!check) {
      this.tryPublish(rec, clean, t0);
      return null;
    }
    return check.then(
      () => void (this.pool.isRunning() && this.tryPublish(rec, clean, t0)),
      (e) => this.jobFailed(clean, `refused by the source: ${(e as Error).message}`),
    );
  }

  /** Publishes a job; one that cannot be (its notify does not encode) is logged and the last good job stays. */
  private tryPublish(rec: JobRecord, clean: boolean, t0: number, wire?: WireJob): void {
    // Built while this server led, done after it lost the lease: the new leader's jobs are the ones to serve.
    if (!wire && this.following) return void this.pool.o.log.debug("pool.job_dropped", { job: rec.job.id, reason: "built by a leader that follows now" });
    try {
      this.publish(rec, clean, t0, wire);
    } catch (e) {
      const why = `not published: ${(e as Error).message}`;
      if (clean) this.cleanOwed = true;
      if (this.problem !== why) {
        this.pool.o.log.error("pool.publish_failed", { job: rec.job.id, height: rec.job.work.height, outputs: rec.plan.outputs.length, reason: (e as Error).message, serving: this.current?.job.id ?? null });
      }
      this.problem = why;
      this.tipAt = null;
    }
  }

  private jobFailed(clean: boolean, why: string): void {
    if (clean) this.cleanOwed = true;
    if (this.problem !== why) this.pool.o.log.warn("pool.job_not_built", { reason: why, serving: this.current?.job.id ?? null });
    this.problem = why;
    this.tipAt = null;
  }

  /**
   * While the window has no shares, the job's plan pays the connected workers: a payee that is not in it yet gets a
   * new job (not clean: the others lose nothing) before its first work. Authorizations of one event-loop turn make
   * one rebuild, queued before their first work is sent.
   */
  payeeJoined(address: Uint8Array): void {
    const plan = this.current?.plan;
    if (this.following || !this.pool.isRunning() || !plan || plan.basis !== "connected" || toHex(address) in plan.weights || this.freshQueued) return;
    this.freshQueued = true;
    setImmediate(() => {
      this.freshQueued = false;
      if (this.pool.isRunning() && this.current?.plan.basis === "connected") this.refresh(false);
    });
  }

  /** The payees connected here and, with a bus, to the other members (what a plan by connection pays). */
  private connectedPayees(): Map<string, bigint> {
    const out = this.pool.sessions.connectedPayees();
    for (const m of this.pool.o.bus?.members() ?? []) for (const p of m.payees ?? []) if (/^(?:[0-9a-f]{2}){1,100}$/.test(p)) out.set(p, 1n);
    return out;
  }

  /** Once a second on a leader with a bus: a payee connected to another member but not in a plan by connection yet. */
  membersJoined(): void {
    const plan = this.current?.plan;
    if (this.following || !plan || plan.basis !== "connected" || this.freshQueued) return;
    for (const m of this.pool.o.bus?.members() ?? []) {
      if ((m.payees ?? []).some((p) => !(p in plan.weights))) return this.refresh(false);
    }
  }

  private buildJob(): JobRecord {
    const source = this.pool.o.source;
    let stored: StoredPlan | null = null;
    let bits = 0;
    const work = source.work((total, b) => {
      bits = b;
      this.lastWindow = this.windowWeight(b);
      // A shared ledger read for another window (the first job, or the network difficulty moved): the next job, at
      // once, reads it for this one.
      if (!this.pool.o.ledger.holds(this.lastWindow)) setImmediate(() => this.pool.isRunning() && this.refresh(false));
      let { weights, lastShare } = this.pool.o.ledger.weights(this.lastWindow);
      // A fresh pool has no shares in its window yet, and the first share of a fresh chain is usually a block: the
      // workers connected now share that block equally (by address), so whoever finds it is paid.
      const fresh = weights.size === 0;
      if (fresh) weights = this.connectedPayees();
      const plan = planPayout({
        total,
        foundation: source.foundation,
        pool: toHex(this.pool.o.poolAddress),
        poolFeeBps: this.pool.o.poolFeeBps,
        weights,
        carried: this.pool.o.ledger.carried(),
        minOutput: source.minOutput,
        maxOutputs: source.maxOutputs,
      });
      stored = {
        scheme: this.pool.o.scheme,
        total: total.toString(),
        foundation: plan.foundation.toString(),
        poolFee: plan.poolFee.toString(),
        poolFeeBps: this.pool.o.poolFeeBps,
        outputs: plan.outputs.map((x) => ({ to: x.to, amount: x.amount.toString() })),
        weights: Object.fromEntries([...weights].map(([k, v]) => [k, v.toString()])),
        carried: Object.fromEntries([...plan.carried].map(([k, v]) => [k, v.toString()])),
        lastShare,
        ...(fresh ? { basis: "connected" as const } : {}),
      };
      return plan.outputs.map((x) => ({ to: Buffer.from(x.to, "hex"), amount: x.amount }));
    }, "rignode pool");
    const seq = this.nextSeq ? this.nextSeq() : this.seq + 1;
    this.seq = Math.max(this.seq, seq);
    const id = seq.toString(16);
    return { job: makeJob(id, this.pool.algo, work, false), seq, plan: stored!, createdAt: this.pool.now(), networkDifficulty: hashDifficulty(bitsToTarget(bits), this.pool.algo) };
  }

  /**
   * With a source that reorganises out of sight (a daemon): after each new tip, the pool's blocks of the last 100
   * heights are checked against its main chain; one that left it is orphaned (its plan no longer counts as paid,
   * the carry goes back), one that came back is main again.
   */
  private checkMainChain(height: number): void {
    const ask = this.pool.o.source.mainChain?.bind(this.pool.o.source);
    if (!ask || this.checkingChain) return;
    const rows = this.pool.o.ledger.recentBlocks(100);
    const recent = rows.filter((b) => b.height > height - 101);
    if (!recent.length) return;
    this.checkingChain = true;
    ask(recent)
      .then((onMain) => {
        // Older rows keep their status; the recent ones take the source's answer.
        const by = new Map(rows.map((b) => [toHex(b.hash), b.status === "main"]));
        recent.forEach((b, i) => by.set(toHex(b.hash), onMain[i]!));
        const n = this.pool.o.ledger.reconcile((hash) => by.get(toHex(hash)) ?? false, 100);
        if (n) this.pool.o.log.warn("pool.blocks_reorganised", { changed: n });
      })
      .catch((e) => this.pool.o.log.debug("pool.chain_check_failed", { error: (e as Error).message }))
      .finally(() => (this.checkingChain = false));
  }

  private publish(rec: JobRecord, clean: boolean, t0: number, wire?: WireJob): void {
    clean = clean || this.cleanOwed;
    rec.job.notify.cleanJobs = clean;
    // Encoded before anything changes: a notify a codec cannot carry throws here, and the last job stays current.
    const encoded = this.encodeNotify(rec, clean);
    this.cleanOwed = false;
    this.problem = null;
    // Fresh work on a parent means no block of ours stands on it (a reorganisation took it away): it may win again.
    if (clean) this.pool.shares.parentFree(toHex(rec.job.work.header.prevHash));
    this.pool.shares.checker.addJob(rec.job, clean, rec);
    this.current = rec;
    this.pool.report.counters.jobs++;
    this.broadcast(rec, encoded);
    const end = performance.now();
    this.pool.report.lastBroadcastMs = end - t0;
    if (clean && this.tipAt !== null) this.pool.report.tipToNotify.add(end - this.tipAt);
    this.tipAt = null;
    if (clean && !this.following) this.checkMainChain(rec.job.work.height);
    if (!this.published.length) return;
    const w = wire ? (wire.clean === clean ? wire : { ...wire, clean }) : toWire(rec, clean, this.epoch, this.pool.o.source);
    for (const cb of this.published) {
      try {
        cb(w);
      } catch (e) {
        this.pool.o.log.warn("pool.bus_error", { job: rec.job.id, error: (e as Error).message });
      }
    }
  }

  /**
   * Writes the job to every connection that has work: a changed difficulty first (set_difficulty applies to the
   * next notify), then the notify, encoded once per codec.
   */
  private broadcast(r: JobRecord, encoded: Map<string, Uint8Array>): void {
    for (const c of this.pool.sessions.conns) { // one closed on the way is deleted from the set: iteration allows it
      // Authorized while the pool had no job (none built yet, or the last could not be sent): its first work now.
      if (!c.workSent) {
        if (c.session.subscribed && c.users.size) this.sendWork(c);
        continue;
      }
      const b = encoded.get(c.link.codec);
      if (!b) continue;
      try {
        if (this.pool.sessions.capDifficulty(c) || c.told !== c.difficulty) c.tell(c.difficulty);
        c.noteDifficulty(r.seq, c.difficulty);
        c.link.send(b); // "written" means handed to the kernel, not queued for the end of the pass
        if (!c.closed) this.pool.report.counters.notifies++; // not one its full backlog just closed
      } catch (e) {
        // One connection that cannot be written to loses its work, not the others theirs.
        this.pool.o.log.warn("pool.publish_failed", { ip: c.link.ip, job: r.job.id, reason: (e as Error).message });
        c.link.close(`work could not be sent: ${(e as Error).message}`);
      }
    }
  }

  /** The notify of a job in every codec a connection with work uses, encoded once each; throws when one cannot. */
  private encodeNotify(r: JobRecord, clean: boolean): Map<string, Uint8Array> {
    const msg = notifyMessage(r, clean);
    const out = new Map<string, Uint8Array>();
    for (const c of this.pool.sessions.conns) if (c.workSent && !out.has(c.link.codec)) out.set(c.link.codec, c.link.encode(msg));
    return out;
  }

  /** The job now being mined, as notify fields (for HTTP workers and the API). */
  currentJob(): { seq: number; params: unknown[] } | null {
    return this.current ? { seq: this.current.seq, params: notifyParams(this.current, false) } : null;
  }
}

function notifyMessage(r: JobRecord, clean: boolean): Outgoing {
  return { id: null, method: "mining.notify", params: notifyParams(r, clean) };
}

function notifyParams(r: JobRecord, clean: boolean): unknown[] {
  const n = r.job.notify;
  return [n.jobId, n.prevHash, n.coinb1, n.coinb2, n.merkleBranch, n.version, n.nbits, n.ntime, clean];
}

import { leToDisplayHex, toHex, RignodeError, type Logger, type MetricFamily } from "../core";
import { bitsToTarget, EXTRANONCE_BYTES, type Header } from "../chain";
import { MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES, notifyBytesBound, StratumError, StratumSession, STRATUM_ERROR, type Outgoing, type SessionHandler, type SubmitParams } from "../stratum";
import { makeJob, type PoolJob } from "./job";
import type { SubmitResult, WorkEvent, WorkSource } from "./source";
import { Ledger, shareWeight, type StoredPlan } from "./ledger";
import { planPayout } from "./payout";
import { ShareChecker } from "./shares";
import { hashQueue, type TurnBatch } from "./batch";
import { hashDifficulty } from "./target";
import { Vardiff, roundDifficulty, type VardiffOptions } from "./vardiff";
import { LatencyRing, RateWindow, newWorkerStats, workerScore, type WorkerStats } from "./stats";
import { Guard, banText, type Ban } from "./guard";

/** Anti-abuse limits; 0 turns a limit off where that makes sense. */
export interface PoolLimits {
  /** Shares per second per connection: past it the difficulty is raised and excess shares are dropped (not invalid). */
  sharesPerSecond: number;
  /** Ban a worker whose connection has more than this fraction of invalid shares (wrong work, not stale)... */
  banInvalidRatio: number;
  /** ...once it has submitted at least this many valid and invalid ones. */
  banMinShares: number;
  /** Cap of a ban's duration (bans start at a minute and double per repeat); 0: no bans. */
  banSeconds: number;
  /** Seconds a connection may stay without an authorized worker. */
  authorizeSeconds: number;
  /** Seconds without any message after which an authorized connection is closed (a stale worker). */
  idleSeconds: number;
  /** Connections per IP (0: no cap). */
  maxPerIp: number;
  /** Line (JSON) and frame (native) size cap in bytes of what a miner sends (what the pool sends: MAX_POOL_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Workers (authorized user names) on one connection (0: no cap). */
  maxWorkersPerConn: number;
  /** Distinct workers authorized from one IP across its open connections (0: no cap). */
  maxWorkersPerIp: number;
}

export const DEFAULT_LIMITS: PoolLimits = {
  sharesPerSecond: 100,
  banInvalidRatio: 0.1,
  banMinShares: 100,
  banSeconds: 3600,
  authorizeSeconds: 30,
  idleSeconds: 900,
  maxPerIp: 256,
  maxMessageBytes: MAX_MINER_MESSAGE_BYTES,
  maxWorkersPerConn: 256,
  maxWorkersPerIp: 1024,
};

/**
 * Worker records of disconnected workers kept for the stats (the oldest beyond this are forgotten first); records
 * of workers that never sent a share go when their last connection closes.
 */
export const MAX_IDLE_WORKER_RECORDS = 10_000;

export interface PoolServerOptions {
  /** Where jobs come from and blocks go: the node's chain or an upstream daemon. */
  source: WorkSource;
  /** The proof-of-work hash of an 80-byte header (the kernel). */
  powHash: (header: Uint8Array) => Uint8Array;
  /** The same for n headers end to end (the kernel's batch call); without it, one powHash per share. */
  powHashMany?: (headers: Uint8Array, n: number) => Uint8Array;
  ledger: Ledger;
  log: Logger;
  /** Public key the pool fee is paid to. */
  poolAddress: Uint8Array;
  poolFeeBps: number;
  scheme: "pplns" | "prop";
  /** PPLNS window in difficulty units; "auto": twice the network difficulty at the time. */
  pplnsWindow: number | "auto";
  vardiff: VardiffOptions;
  startDifficulty: number;
  limits: PoolLimits;
  /** Seconds between job refreshes when the tip does not change (new transactions, new payout plan). */
  jobRefreshSeconds: number;
  /** First byte of every extranonce1: keeps them unique across pool instances. */
  instanceId: number;
  /** BIP310 bits miners may roll. */
  versionMask?: number;
  now?: () => number;
}

/** Where a connection's messages go: a socket with its codec, or an HTTP worker. */
export interface Link {
  readonly ip: string;
  /** Messages are encoded once per codec for a broadcast. */
  readonly codec: string;
  encode(m: Outgoing): Uint8Array;
  /** Queues bytes; they leave at the end of the current pass of the event loop, or at flush(). */
  write(bytes: Uint8Array): void;
  /** Sends what write() queued now. */
  flush(): void;
  close(reason: string): void;
}

/** One connection's state: its session, extranonce1, difficulty history and counters. */
export class PoolConn implements SessionHandler {
  readonly session: StratumSession;
  en1 = new Uint8Array(4);
  en1Key = -1;
  difficulty: number;
  /** Difficulty changes: [first job sequence it applies to, difficulty], oldest first (a few kept). */
  private diffs: [number, number][] = [];
  vardiff: Vardiff | null = null;
  fixedDifficulty = false;
  readonly users = new Map<string, Uint8Array>();
  readonly connectedAt: number;
  lastMessage: number;
  valid = 0;
  invalid = 0;
  /** Valid and invalid shares per worker on this connection: a ban goes to the worker whose work is wrong. */
  private readonly tallies = new Map<string, { valid: number; invalid: number }>();
  /** The difficulty the miner was last told (set_difficulty), or null before the first. */
  told: number | null = null;
  /** The job sequence the rate limit last raised the difficulty at (once per job: it applies from the next one). */
  raisedAt = -1;
  private rateSecond = 0;
  private rateCount = 0;
  workSent = false;
  closed = false;
  /** An authorize over a worker cap was refused (logged once per connection). */
  capLogged = false;

  constructor(
    readonly server: PoolServer,
    readonly link: Link,
    now: number,
  ) {
    this.session = new StratumSession((m) => link.write(link.encode(m)), this);
    this.difficulty = server.startDifficulty;
    this.connectedAt = now;
    this.lastMessage = now;
  }

  get versionMask(): number {
    return this.server.versionMask;
  }

  subscribe(): { extranonce1: string; extranonce2Size: number } {
    return this.server.subscribe(this);
  }

  authorize(_s: StratumSession, user: string, password: string): boolean {
    return this.server.authorize(this, user, password);
  }

  submit(_s: StratumSession, p: SubmitParams): Promise<void> {
    return this.server.submit(this, p);
  }

  suggestDifficulty(_s: StratumSession, d: number): void {
    this.server.suggestDifficulty(this, d);
  }

  /** The share counts of one worker on this connection. */
  tally(worker: string): { valid: number; invalid: number } {
    let t = this.tallies.get(worker);
    if (!t) this.tallies.set(worker, (t = { valid: 0, invalid: 0 }));
    return t;
  }

  /** mining.set_difficulty, remembered: a job is never sent at a difficulty the miner was not told. */
  tell(d: number): void {
    this.told = d;
    this.session.setDifficulty(d);
  }

  /** Feeds one decoded message. */
  handle(msg: unknown, now: number): Promise<void> {
    this.lastMessage = now;
    return this.session.handle(msg);
  }

  /** Records that jobs from sequence `seq` on are sent at difficulty `d`. */
  noteDifficulty(seq: number, d: number): void {
    const last = this.diffs[this.diffs.length - 1];
    if (last && last[1] === d) return;
    if (last && last[0] === seq) last[1] = d;
    else this.diffs.push([seq, d]);
    if (this.diffs.length > 4) this.diffs.shift();
  }

  /**
   * The difficulty a share on job `seq` is checked and credited at: the one in force when the job was sent, or the
   * current one when that is lower (a miner that applies a lower set_difficulty at once is not penalised).
   */
  difficultyForJob(seq: number): number {
    let d = this.difficulty;
    for (const [from, v] of this.diffs) if (from <= seq) d = v;
    return Math.min(d, this.difficulty);
  }

  /** 0 when the share is within this second's allowance, else how many over it (1 for the first excess share). */
  overRate(nowMs: number, limit: number): number {
    if (limit <= 0) return 0;
    const s = Math.floor(nowMs / 1000);
    if (s !== this.rateSecond) {
      this.rateSecond = s;
      this.rateCount = 0;
    }
    return Math.max(0, ++this.rateCount - limit);
  }
}

/**
 * Rejection reasons as counted in stats and metrics. Only wrong work counts towards a ban; stale shares (a new tip,
 * an expired job), duplicates, shares over the rate and storage faults are the pool's or the network's doing.
 */
type Reason = "stale" | "duplicate" | "low_difficulty" | "job_not_found" | "invalid" | "rate_limited" | "unauthorized" | "storage";
const INVALID: ReadonlySet<Reason> = new Set(["low_difficulty", "job_not_found", "invalid", "unauthorized"]);

interface JobRecord {
  job: PoolJob;
  seq: number;
  plan: StoredPlan;
  createdAt: number;
  /** The network's difficulty for this job: share difficulties are never set above it (no withheld blocks). */
  networkDifficulty: number;
}

/**
 * The pool: jobs from the chain tip with the payout plan in the coinbase, one Stratum session per connection
 * behind any codec, share checks through the kernel, the ledger's group commit before every acknowledgement,
 * vardiff, anti-abuse, and the statistics the API and /metrics show.
 */
export class PoolServer {
  readonly conns = new Set<PoolConn>();
  readonly guard: Guard;
  private readonly en1InUse = new Set<number>();
  private en1Counter = 0;
  private readonly checker: ShareChecker;
  private readonly hasher: TurnBatch<Uint8Array, Uint8Array>;
  private readonly jobs = new Map<string, JobRecord>();
  private current: JobRecord | null = null;
  private seq = 0;
  readonly workers = new Map<string, WorkerStats>();
  /** Per IP: the workers authorized on its open connections, with how many of them each is open on. */
  private readonly ipWorkers = new Map<string, Map<string, number>>();
  private readonly latency = new LatencyRing();
  private readonly poolRate = new RateWindow();
  private readonly counters = { accepted: 0, acceptedDifficulty: 0, blocks: 0, blockCandidatesSkipped: 0, bans: 0, notifies: 0, jobs: 0 };
  /** Previous blocks (hex) the pool submitted a block on, recent ones. */
  private readonly blocksOn = new Set<string>();
  private readonly rejected: Record<string, number> = {};
  private lastBroadcastMs = 0;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly startedAt: number;
  readonly versionMask: number;
  readonly startDifficulty: number;
  private readonly now: () => number;
  private running = false;
  private refreshQueued = false;
  /** When the tip being answered changed (performance.now()), and how long from then to the last notify written. */
  private tipAt: number | null = null;
  private readonly tipToNotify = new LatencyRing(1024);
  /** A job being built (the source may check it asynchronously); a refresh asked for meanwhile runs after it. */
  private building = false;
  private again: boolean | null = null;
  /** A clean job could not be published (the source refused it): the next one published is clean. */
  private cleanOwed = false;
  /** Why the last job could not be built or was refused, until one is published again. */
  private jobProblem: string | null = null;
  /** Blocks handed to an asynchronous source, not answered yet: the next job's plan waits for them. */
  private readonly pendingBlocks = new Set<Promise<void>>();
  private checkingChain = false;
  private freshQueued = false;
  private readonly storage = { error: null as string | null, since: 0, failed: 0, loggedAt: 0 };
  /** The largest notify the source's coinbase rules allow, in bytes (checked against what workers accept). */
  readonly maxNotifyBytes: number;

  constructor(private readonly o: PoolServerOptions) {
    o.limits = { ...o.limits };
    this.now = o.now ?? Date.now;
    this.versionMask = o.versionMask ?? 0x1fffe000;
    this.startDifficulty = roundDifficulty(Math.min(o.vardiff.maxDifficulty, Math.max(o.vardiff.minDifficulty, o.startDifficulty)));
    this.checker = new ShareChecker(o.source.algo, o.powHash);
    this.hasher = hashQueue(
      o.powHashMany ??
        ((hs, n) => {
          const out = new Uint8Array(n * 32);
          for (let i = 0; i < n; i++) out.set(o.powHash(hs.subarray(i * 80, i * 80 + 80)), i * 32);
          return out;
        }),
    );
    this.startedAt = this.now();
    this.guard = new Guard({ maxPerIp: o.limits.maxPerIp, banSeconds: o.limits.banSeconds }, this.now);
    if (!Number.isInteger(o.instanceId) || o.instanceId < 0 || o.instanceId > 255) throw new RignodeError("config", "pool instance id must be 0..255");
    this.maxNotifyBytes = notifyBytesBound(o.source.maxCoinbaseBytes);
    if (this.maxNotifyBytes > MAX_POOL_MESSAGE_BYTES) {
      throw new RignodeError("config", `a coinbase of ${o.source.maxOutputs} outputs makes a notify of up to ${this.maxNotifyBytes} bytes, over the ${MAX_POOL_MESSAGE_BYTES} workers accept`);
    }
    o.source.onWork((e) => this.onWork(e));
  }

  get algo() {
    return this.o.source.algo;
  }

  get source(): WorkSource {
    return this.o.source;
  }

  /** Builds the first job and starts the refresh and sweep timers. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.refresh(true);
    this.refreshTimer = setInterval(() => this.refresh(false), this.o.jobRefreshSeconds * 1000);
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
  }

  /** Stops the timers and closes every connection. */
  stop(): void {
    this.running = false;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.refreshTimer = this.sweepTimer = null;
    for (const c of [...this.conns]) c.link.close("pool stopping");
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Changes settings at runtime; the fee applies from the next job, the share interval to the next retarget. */
  configure(p: { poolFeeBps?: number; shareInterval?: number; sharesPerSecond?: number; maxPerIp?: number; banSeconds?: number; maxWorkersPerConn?: number; maxWorkersPerIp?: number }): void {
    if (p.poolFeeBps !== undefined) {
      if (!Number.isInteger(p.poolFeeBps) || p.poolFeeBps < 0 || p.poolFeeBps > 1000) throw new RignodeError("input", "pool fee must be 0-10%");
      if (p.poolFeeBps > 0 && this.o.poolAddress.length === 0) throw new RignodeError("input", "a pool fee needs a pool address (--pool-address)");
      this.o.poolFeeBps = p.poolFeeBps;
    }
    if (p.shareInterval !== undefined) {
      this.o.vardiff = { ...this.o.vardiff, targetSeconds: p.shareInterval, retargetSeconds: Math.max(3 * p.shareInterval, 1) };
      for (const c of this.conns) if (c.vardiff) c.vardiff = new Vardiff(c.difficulty, this.o.vardiff, this.now() / 1000);
    }
    const l = this.o.limits;
    if (p.sharesPerSecond !== undefined) l.sharesPerSecond = p.sharesPerSecond;
    if (p.maxPerIp !== undefined) l.maxPerIp = this.guard.limits.maxPerIp = p.maxPerIp;
    if (p.maxWorkersPerConn !== undefined) l.maxWorkersPerConn = p.maxWorkersPerConn;
    if (p.maxWorkersPerIp !== undefined) l.maxWorkersPerIp = p.maxWorkersPerIp;
    if (p.banSeconds !== undefined) {
      l.banSeconds = p.banSeconds;
      this.guard.setBanSeconds(p.banSeconds);
    }
    this.o.log.info("pool.configured", { ...p });
  }

  settings() {
    const l = this.o.limits;
    return {
      pool_fee_percent: this.o.poolFeeBps / 100,
      foundation_percent: 1,
      scheme: this.o.scheme,
      pplns_window: this.o.pplnsWindow,
      share_interval_s: this.o.vardiff.targetSeconds,
      shares_per_second: l.sharesPerSecond,
      max_conns_per_ip: l.maxPerIp,
      max_workers_per_conn: l.maxWorkersPerConn,
      max_workers_per_ip: l.maxWorkersPerIp,
      ban_seconds: l.banSeconds,
      ban_invalid_ratio: l.banInvalidRatio,
      ban_min_shares: l.banMinShares,
      max_outputs: this.o.source.maxOutputs,
      max_notify_bytes: this.maxNotifyBytes,
    };
  }

  // ---- connections ----

  /** A new connection, or the reason it is refused (its IP is banned or over the cap), to be told to the miner. */
  open(link: Link): PoolConn | string {
    const refused = this.guard.admit(link.ip);
    if (refused !== null) return refused;
    const c = new PoolConn(this, link, this.now());
    this.conns.add(c);
    return c;
  }

  /** A connection went away (closed by either side). */
  closed(c: PoolConn): void {
    if (c.closed) return;
    c.closed = true;
    this.conns.delete(c);
    this.guard.release(c.link.ip);
    if (c.en1Key >= 0) this.en1InUse.delete(c.en1Key);
    const now = this.now();
    const mine = this.ipWorkers.get(c.link.ip);
    for (const user of c.users.keys()) {
      if (mine) {
        const n = (mine.get(user) ?? 1) - 1;
        if (n <= 0) mine.delete(user);
        else mine.set(user, n);
      }
      const w = this.workers.get(user);
      if (!w) continue;
      const i = w.openSince.indexOf(c.connectedAt);
      if (i >= 0) {
        w.connectedMs += now - w.openSince[i]!;
        w.openSince.splice(i, 1);
      }
      // A worker that never sent a share has nothing worth showing once it is gone: its record goes with it.
      if (!w.openSince.length && !hasShares(w)) this.workers.delete(user);
    }
    if (mine && !mine.size) this.ipWorkers.delete(c.link.ip);
  }

  subscribe(c: PoolConn): { extranonce1: string; extranonce2Size: number } {
    if (c.en1Key < 0) {
      // instance id in the first byte, a counter in the other three; never two live connections with one value.
      let key: number;
      do key = ((this.o.instanceId << 24) | (this.en1Counter++ & 0xffffff)) >>> 0;
      while (this.en1InUse.has(key));
      this.en1InUse.add(key);
      c.en1Key = key;
      new DataView(c.en1.buffer).setUint32(0, key);
    }
    if (c.users.size) setImmediate(() => this.sendWork(c));
    return { extranonce1: toHex(c.en1), extranonce2Size: EXTRANONCE_BYTES - 4 };
  }

  /** Authorizes `user` on a connection; refusals throw the reason the miner is told (code 24). */
  authorize(c: PoolConn, user: string, password: string): boolean {
    const address = this.parseUser(user);
    if (!address) {
      const dot = user.indexOf(".");
      const what = dot >= 0 && this.o.source.payee(user.slice(0, dot)) ? `worker name '${user.slice(dot + 1, dot + 65)}' must be 1-64 of A-Z a-z 0-9 _ -` : `'${user.slice(0, dot < 0 ? 100 : dot)}' is not a payout address of this pool's network`;
      throw new StratumError(STRATUM_ERROR.unauthorized, `${what} (user: ADDRESS[.NAME])`);
    }
    const ban = this.guard.banned(c.link.ip, user);
    if (ban) throw new StratumError(STRATUM_ERROR.unauthorized, banText(ban, this.now()));
    // Counted before anything about the connection changes: a refused worker leaves no trace on it.
    if (!c.users.has(user)) this.admitWorker(c, user);
    const m = /(?:^|,)\s*d=([0-9.eE+-]+)/.exec(password);
    if (m) {
      const d = Number(m[1]);
      if (Number.isFinite(d) && d > 0) {
        c.fixedDifficulty = true;
        c.difficulty = this.clampDifficulty(d);
      }
    }
    if (!c.users.has(user)) {
      c.users.set(user, address);
      const now = this.now();
      let w = this.workers.get(user);
      if (!w) this.workers.set(user, (w = newWorkerStats(user, this.o.source.display(address), now)));
      w.openSince.push(c.connectedAt);
    }
    if (!c.fixedDifficulty && !c.vardiff) c.vardiff = new Vardiff(c.difficulty, this.o.vardiff, this.now() / 1000);
    this.payeeJoined(address);
    if (c.session.subscribed) setImmediate(() => this.sendWork(c));
    return true;
  }

  /**
   * Counts a new worker of a connection against the caps per connection and per IP, or refuses it (code 24, not an
   * invalid share: nothing counts towards a ban). One connection cannot make the pool keep unbounded worker state.
   */
  private admitWorker(c: PoolConn, user: string): void {
    const l = this.o.limits;
    const ip = c.link.ip;
    let mine = this.ipWorkers.get(ip);
    let why: string | null = null;
    if (l.maxWorkersPerConn > 0 && c.users.size >= l.maxWorkersPerConn) why = `too many workers on this connection (${l.maxWorkersPerConn})`;
    else if (l.maxWorkersPerIp > 0 && !mine?.has(user) && (mine?.size ?? 0) >= l.maxWorkersPerIp) why = `too many workers from ${ip} (${l.maxWorkersPerIp})`;
    if (why) {
      if (!c.capLogged) {
        c.capLogged = true;
        this.o.log.warn("pool.workers_capped", { ip, reason: why, workers_on_conn: c.users.size, workers_on_ip: mine?.size ?? 0 });
      }
      throw new StratumError(STRATUM_ERROR.unauthorized, why);
    }
    if (!mine) this.ipWorkers.set(ip, (mine = new Map()));
    mine.set(user, (mine.get(user) ?? 0) + 1);
  }

  /** Distinct workers authorized on the open connections of `ip`. */
  workersFrom(ip: string): number {
    return this.ipWorkers.get(ip)?.size ?? 0;
  }

  /** A payout user: an address of the source's network, optionally ".worker" (1-64 of [A-Za-z0-9_-]). */
  parseUser(user: string): Uint8Array | null {
    const dot = user.indexOf(".");
    const addr = dot < 0 ? user : user.slice(0, dot);
    if (dot >= 0 && !/^[A-Za-z0-9_-]{1,64}$/.test(user.slice(dot + 1))) return null;
    return this.o.source.payee(addr);
  }

  suggestDifficulty(c: PoolConn, d: number): void {
    if (c.fixedDifficulty) return;
    c.difficulty = this.clampDifficulty(d);
    c.vardiff = new Vardiff(c.difficulty, this.o.vardiff, this.now() / 1000);
    if (c.workSent) c.tell(c.difficulty);
  }

  /** Within the configured range, and never above the network's difficulty (a share harder than a block would let
   * a miner sit on blocks it cannot tell are blocks). */
  private clampDifficulty(d: number): number {
    const r = roundDifficulty(Math.min(this.o.vardiff.maxDifficulty, Math.max(this.o.vardiff.minDifficulty, d)));
    const net = this.current?.networkDifficulty ?? Infinity;
    return r > net ? Math.max(net, this.o.vardiff.minDifficulty) : r;
  }

  /** Lowers a connection's difficulty to the network's when a job makes it too high; true when it changed. */
  private capDifficulty(c: PoolConn): boolean {
    const d = this.clampDifficulty(c.difficulty);
    if (d >= c.difficulty) return false;
    c.difficulty = d;
    // Vardiff starts again from here; what it asks for later is capped the same way, so it can rise with the network.
    if (c.vardiff) c.vardiff = new Vardiff(d, this.o.vardiff, this.now() / 1000);
    return true;
  }

  /** The first work of a connection once it is subscribed and authorized: its difficulty, then the current job. */
  private sendWork(c: PoolConn): void {
    if (c.closed || !this.current || !c.session.subscribed || !c.users.size) return;
    if (c.workSent) return;
    c.workSent = true;
    this.capDifficulty(c);
    c.tell(c.difficulty);
    c.noteDifficulty(this.current.seq, c.difficulty);
    let bytes: Uint8Array;
    try {
      bytes = c.link.encode(this.notifyMessage(this.current, true));
    } catch (e) {
      // Cannot happen within the caps (the job was encoded when published); a connection without work is useless.
      this.o.log.error("pool.publish_failed", { ip: c.link.ip, codec: c.link.codec, job: this.current.job.id, reason: (e as Error).message });
      return c.link.close(`work could not be sent: ${(e as Error).message}`);
    }
    c.link.write(bytes);
  }

  // ---- jobs ----

  private onWork(e: WorkEvent): void {
    if (e.reorg) {
      const n = this.o.ledger.reconcile(e.reorg.onMain);
      if (n) this.o.log.warn("pool.blocks_reorganised", { changed: n, depth: e.reorg.depth });
    }
    if (!this.running) return;
    if (!e.clean) return this.refresh(false);
    // After the current call stack: a block this pool found is recorded (its round closed) before the next job's
    // plan is made. Several tips in one stack (a reorg, a sync burst) make one job.
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    this.tipAt = performance.now();
    queueMicrotask(() => {
      this.refreshQueued = false;
      if (this.running) this.refresh(true);
    });
  }

  private notifyMessage(r: JobRecord, clean: boolean): Outgoing {
    return { id: null, method: "mining.notify", params: notifyParams(r, clean) };
  }

  /** The PPLNS window in weight units (difficulty x 2^32), or null for PROP. */
  private windowWeight(bits: number): bigint | null {
    if (this.o.scheme === "prop") return null;
    if (this.o.pplnsWindow !== "auto") return shareWeight(this.o.pplnsWindow);
    const netDiff = hashDifficulty(bitsToTarget(bits), this.algo);
    return shareWeight(Math.max(2 * netDiff, 1));
  }

  /**
   * A new job on the best block with the current payout plan; with clean, earlier jobs are void. The source may
   * check it first (an upstream daemon's proposal mode); a refused job is not sent, miners keep the last one.
   * Waits for blocks still being submitted, so a found block's round is closed before the next plan.
   */
  refresh(clean: boolean): void {
    if (this.building) {
      this.again = (this.again ?? false) || clean;
      return;
    }
    this.building = true;
    let later: Promise<void> | null = null;
    try {
      later = this.pendingBlocks.size ? Promise.allSettled([...this.pendingBlocks]).then(() => this.makeJob(clean) ?? undefined) : this.makeJob(clean);
    } catch (e) {
      this.jobFailed(clean, `internal: ${(e as Error).message}`);
    } finally {
      // The builder is free again whatever happened: a failure never stops the jobs that follow.
      if (later) void later.catch((e) => this.jobFailed(clean, `internal: ${(e as Error).message}`)).finally(() => this.built());
      else this.built();
    }
  }

  private built(): void {
    this.building = false;
    const next = this.again;
    this.again = null;
    if (next !== null && this.running) this.refresh(next);
  }

  /** Builds one job and publishes it now, or after the source's check (the promise returned); failures are logged. */
  private makeJob(clean: boolean): Promise<void> | null {
    const t0 = performance.now();
    let rec: JobRecord;
    let check: Promise<void> | undefined;
    try {
      rec = this.buildJob();
      check = this.o.source.verify?.(rec.job.work);
    } catch (e) {
      this.jobFailed(clean, (e as Error).message);
      return null;
    }
    if (!check) {
      this.tryPublish(rec, clean, t0);
      return null;
    }
    return check.then(
      () => void (this.running && this.tryPublish(rec, clean, t0)),
      (e) => this.jobFailed(clean, `refused by the source: ${(e as Error).message}`),
    );
  }

  /** Publishes a job; one that cannot be (its notify does not encode) is logged and the last good job stays. */
  private tryPublish(rec: JobRecord, clean: boolean, t0: number): void {
    try {
      this.publish(rec, clean, t0);
    } catch (e) {
      const why = `not published: ${(e as Error).message}`;
      if (clean) this.cleanOwed = true;
      if (this.jobProblem !== why) {
        this.o.log.error("pool.publish_failed", { job: rec.job.id, height: rec.job.work.height, outputs: rec.plan.outputs.length, reason: (e as Error).message, serving: this.current?.job.id ?? null });
      }
      this.jobProblem = why;
      this.tipAt = null;
    }
  }

  private jobFailed(clean: boolean, why: string): void {
    if (clean) this.cleanOwed = true;
    if (this.jobProblem !== why) this.o.log.warn("pool.job_not_built", { reason: why, serving: this.current?.job.id ?? null });
    this.jobProblem = why;
    this.tipAt = null;
  }

  /**
   * While the window has no shares, the job's plan pays the connected workers: a payee that is not in it yet gets a
   * new job (not clean: the others lose nothing) before its first work. Authorizations of one event-loop turn make
   * one rebuild, queued before their first work is sent.
   */
  private payeeJoined(address: Uint8Array): void {
    const plan = this.current?.plan;
    if (!this.running || !plan || plan.basis !== "connected" || toHex(address) in plan.weights || this.freshQueued) return;
    this.freshQueued = true;
    setImmediate(() => {
      this.freshQueued = false;
      if (this.running && this.current?.plan.basis === "connected") this.refresh(false);
    });
  }

  /** One unit of weight per authorized payout address with an open connection (the plan for an empty window). */
  private connectedPayees(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const c of this.conns) if (!c.closed) for (const a of c.users.values()) out.set(toHex(a), 1n);
    return out;
  }

  private buildJob(): JobRecord {
    const source = this.o.source;
    let stored: StoredPlan | null = null;
    let bits = 0;
    const work = source.work((total, b) => {
      bits = b;
      let { weights, lastShare } = this.o.ledger.weights(this.windowWeight(b));
      // A fresh pool has no shares in its window yet, and the first share of a fresh chain is usually a block: the
      // workers connected now share that block equally (by address), so whoever finds it is paid.
      const fresh = weights.size === 0;
      if (fresh) weights = this.connectedPayees();
      const plan = planPayout({
        total,
        foundation: source.foundation,
        pool: toHex(this.o.poolAddress),
        poolFeeBps: this.o.poolFeeBps,
        weights,
        carried: this.o.ledger.carried(),
        minOutput: source.minOutput,
        maxOutputs: source.maxOutputs,
      });
      stored = {
        scheme: this.o.scheme,
        total: total.toString(),
        foundation: plan.foundation.toString(),
        poolFee: plan.poolFee.toString(),
        poolFeeBps: this.o.poolFeeBps,
        outputs: plan.outputs.map((x) => ({ to: x.to, amount: x.amount.toString() })),
        weights: Object.fromEntries([...weights].map(([k, v]) => [k, v.toString()])),
        carried: Object.fromEntries([...plan.carried].map(([k, v]) => [k, v.toString()])),
        lastShare,
        ...(fresh ? { basis: "connected" as const } : {}),
      };
      return plan.outputs.map((x) => ({ to: Buffer.from(x.to, "hex"), amount: x.amount }));
    }, "rignode pool");
    const seq = ++this.seq;
    const id = seq.toString(16);
    return { job: makeJob(id, this.algo, work, false), seq, plan: stored!, createdAt: this.now(), networkDifficulty: hashDifficulty(bitsToTarget(bits), this.algo) };
  }

  /**
   * With a source that reorganises out of sight (a daemon): after each new tip, the pool's blocks of the last 100
   * heights are checked against its main chain; one that left it is orphaned (its plan no longer counts as paid,
   * the carry goes back), one that came back is main again.
   */
  private checkMainChain(height: number): void {
    const ask = this.o.source.mainChain?.bind(this.o.source);
    if (!ask || this.checkingChain) return;
    const rows = this.o.ledger.recentBlocks(100);
    const recent = rows.filter((b) => b.height > height - 101);
    if (!recent.length) return;
    this.checkingChain = true;
    ask(recent)
      .then((onMain) => {
        // Older rows keep their status; the recent ones take the source's answer.
        const by = new Map(rows.map((b) => [toHex(b.hash), b.status === "main"]));
        recent.forEach((b, i) => by.set(toHex(b.hash), onMain[i]!));
        const n = this.o.ledger.reconcile((hash) => by.get(toHex(hash)) ?? false, 100);
        if (n) this.o.log.warn("pool.blocks_reorganised", { changed: n });
      })
      .catch((e) => this.o.log.debug("pool.chain_check_failed", { error: (e as Error).message }))
      .finally(() => (this.checkingChain = false));
  }

  private publish(rec: JobRecord, clean: boolean, t0: number): void {
    clean = clean || this.cleanOwed;
    rec.job.notify.cleanJobs = clean;
    // Encoded before anything changes: a notify a codec cannot carry throws here, and the last job stays current.
    const encoded = this.encodeNotify(rec, clean);
    this.cleanOwed = false;
    this.jobProblem = null;
    // Fresh work on a parent means no block of ours stands on it (a reorganisation took it away): it may win again.
    if (clean) this.blocksOn.delete(toHex(rec.job.work.header.prevHash));
    this.checker.addJob(rec.job, clean);
    this.jobs.set(rec.job.id, rec);
    while (this.jobs.size > 16) this.jobs.delete(this.jobs.keys().next().value!);
    this.current = rec;
    this.counters.jobs++;
    this.broadcast(rec, encoded);
    const end = performance.now();
    this.lastBroadcastMs = end - t0;
    if (clean && this.tipAt !== null) this.tipToNotify.add(end - this.tipAt);
    this.tipAt = null;
    if (clean) this.checkMainChain(rec.job.work.height);
  }

  /**
   * Writes the job to every connection that has work: a changed difficulty first (set_difficulty applies to the
   * next notify), then the notify, encoded once per codec.
   */
  private broadcast(r: JobRecord, encoded: Map<string, Uint8Array>): void {
    for (const c of [...this.conns]) {
      // Authorized while the pool had no job (none built yet, or the last could not be sent): its first work now.
      if (!c.workSent) {
        if (c.session.subscribed && c.users.size) this.sendWork(c);
        continue;
      }
      const b = encoded.get(c.link.codec);
      if (!b) continue;
      try {
        if (this.capDifficulty(c) || c.told !== c.difficulty) c.tell(c.difficulty);
        c.noteDifficulty(r.seq, c.difficulty);
        c.link.write(b);
        c.link.flush(); // "written" means handed to the kernel when the loop ends
        this.counters.notifies++;
      } catch (e) {
        // One connection that cannot be written to loses its work, not the others theirs.
        this.o.log.warn("pool.publish_failed", { ip: c.link.ip, job: r.job.id, reason: (e as Error).message });
        c.link.close(`work could not be sent: ${(e as Error).message}`);
      }
    }
  }

  /** The notify of a job in every codec a connection with work uses, encoded once each; throws when one cannot. */
  private encodeNotify(r: JobRecord, clean: boolean): Map<string, Uint8Array> {
    const msg = this.notifyMessage(r, clean);
    const out = new Map<string, Uint8Array>();
    for (const c of this.conns) if (c.workSent && !out.has(c.link.codec)) out.set(c.link.codec, c.link.encode(msg));
    return out;
  }

  /** The job now being mined, as notify fields (for HTTP workers and the API). */
  currentJob(): { seq: number; params: unknown[] } | null {
    return this.current ? { seq: this.current.seq, params: notifyParams(this.current, false) } : null;
  }

  // ---- shares ----

  async submit(c: PoolConn, p: SubmitParams): Promise<void> {
    const t0 = performance.now();
    const now = this.now();
    const w = this.workers.get(p.worker);
    const address = c.users.get(p.worker);
    if (!w || !address) throw new StratumError(STRATUM_ERROR.unauthorized, "Unauthorized worker");
    // Shares already in flight when a ban fell (same read, same batch): answered with the ban, not counted again.
    const ban = this.guard.banned(c.link.ip, p.worker);
    if (ban) throw new StratumError(STRATUM_ERROR.other, banText(ban, now));
    const over = c.overRate(now, this.o.limits.sharesPerSecond);
    if (over > 0) {
      // Not the miner's fault: its difficulty is too low for its speed. Raise it (from the next job, where the
      // network's difficulty allows) and drop the excess without counting it against the miner.
      const raised = this.raiseDifficulty(c);
      this.reject(c, w, "rate_limited");
      throw new StratumError(STRATUM_ERROR.other, `Rate limited: more than ${this.o.limits.sharesPerSecond} shares per second${raised ? " (difficulty raised)" : ""}`);
    }
    const rec = this.jobs.get(p.jobId);
    const difficulty = c.difficultyForJob(rec?.seq ?? this.seq);
    let outcome;
    try {
      if (!rec && this.issued(p.jobId)) throw new StratumError(STRATUM_ERROR.jobNotFound, "Stale share (job expired)");
      const prep = this.checker.prepare(p, c.en1, c.session.versionMask);
      const digest = await this.hasher.push(prep.bytes);
      outcome = this.checker.finish(prep, digest, difficulty);
    } catch (e) {
      if (e instanceof StratumError) this.reject(c, w, reasonOf(e));
      throw e;
    }
    if (outcome.block) this.foundBlock(outcome.block, rec, p.worker);
    if (outcome.stale) {
      this.reject(c, w, "stale");
      throw new StratumError(STRATUM_ERROR.jobNotFound, "Stale share");
    }
    try {
      await this.o.ledger.record({ worker: p.worker, address, job: p.jobId, difficulty: outcome.credit, hash: outcome.headerHash });
    } catch (e) {
      if (isUniqueViolation(e)) {
        // The UNIQUE hash: the same share again after a restart.
        this.reject(c, w, "duplicate");
        throw new StratumError(STRATUM_ERROR.duplicate, "Duplicate share");
      }
      this.storageFault(e as Error);
      this.reject(c, w, "storage");
      throw new StratumError(STRATUM_ERROR.other, "Pool storage error: the share was not recorded (not your fault; the pool operator is told)");
    }
    this.storageOk();
    const done = this.now();
    const ms = performance.now() - t0;
    c.valid++;
    c.tally(p.worker).valid++;
    w.accepted++;
    w.acceptedDifficulty += outcome.credit;
    w.lastShare = done;
    w.latencySumMs += ms;
    w.latencyCount++;
    w.rate.add(done, outcome.credit);
    w.difficulty = c.difficulty;
    this.poolRate.add(done, outcome.credit);
    this.latency.add(ms);
    this.counters.accepted++;
    this.counters.acceptedDifficulty += outcome.credit;
    if (c.vardiff) {
      const v = c.vardiff.onShare(done / 1000);
      const next = v === null ? null : this.clampDifficulty(v);
      if (next !== null && next !== c.difficulty) {
        c.difficulty = next;
        // After the acknowledgement: the miner hears the new difficulty, which applies from the next notify.
        setImmediate(() => !c.closed && c.told !== c.difficulty && c.tell(c.difficulty));
      }
    }
  }

  /** Whether a job id is one this pool issued (ids are the job sequence in hex): an unknown one was expired, not made up. */
  private issued(jobId: string): boolean {
    if (!/^[0-9a-f]{1,8}$/.test(jobId)) return false;
    const n = parseInt(jobId, 16);
    return n >= 1 && n <= this.seq;
  }

  /** Over the share rate: four times the difficulty from the next job (within the network's cap), unless fixed. */
  private raiseDifficulty(c: PoolConn): boolean {
    if (c.fixedDifficulty) return false;
    if (c.raisedAt === this.seq) return true; // raised for the next job already
    const next = this.clampDifficulty(c.difficulty * 4);
    if (next <= c.difficulty) return false;
    c.raisedAt = this.seq;
    c.difficulty = next;
    c.vardiff = new Vardiff(next, this.o.vardiff, this.now() / 1000);
    setImmediate(() => !c.closed && c.told !== c.difficulty && c.tell(c.difficulty));
    return true;
  }

  private reject(c: PoolConn, w: WorkerStats, reason: Reason): void {
    w.rejected[reason] = (w.rejected[reason] ?? 0) + 1;
    if (reason === "stale") w.stale++;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    if (!INVALID.has(reason)) return;
    c.invalid++;
    const t = c.tally(w.user);
    t.invalid++;
    const l = this.o.limits;
    const total = t.valid + t.invalid;
    if (total < l.banMinShares || t.invalid / total <= l.banInvalidRatio) return;
    const ban = this.guard.banWorker(c.link.ip, w.user, `${t.invalid} of ${total} shares invalid`);
    if (ban) throw this.enforce(ban);
  }

  /**
   * Applies a ban: logged, and every connection it covers is told why (an error to the request in hand, which the
   * caller throws, and client.show_message) and closed after that answer is written.
   */
  private enforce(ban: Ban): StratumError {
    const text = banText(ban, this.now());
    this.counters.bans++;
    this.o.log.warn("pool.ban", { ip: ban.ip, worker: ban.worker, reason: ban.reason, seconds: Math.round((ban.until - ban.since) / 1000), strikes: ban.strikes });
    for (const c of [...this.conns]) {
      if (c.link.ip !== ban.ip || (ban.worker !== null && !c.users.has(ban.worker))) continue;
      setImmediate(() => {
        if (c.closed) return;
        c.link.write(c.link.encode({ id: null, method: "client.show_message", params: [text] }));
        c.link.flush();
        c.link.close(text);
      });
    }
    return new StratumError(STRATUM_ERROR.other, text);
  }

  /** Bans an IP (every worker on it) for the configured time and closes its connections. */
  ban(ip: string, why: string): void {
    const b = this.guard.banIp(ip, why);
    if (b) this.enforce(b);
  }

  /** Undecodable input on a connection (not another protocol): repeated from one IP, the IP is banned. */
  protocolAbuse(ip: string, why: string): void {
    const b = this.guard.protocolAbuse(ip, why);
    if (b) this.enforce(b);
  }

  /** Lifts the bans of an IP; how many. */
  unban(ip: string): number {
    const n = this.guard.lift(ip);
    if (n) this.o.log.info("pool.unban", { ip, bans: n });
    return n;
  }

  /** The ledger failed (disk full, I/O error): logged once per burst, /health degraded until a commit succeeds. */
  private storageFault(e: Error): void {
    const now = this.now();
    if (!this.storage.error) this.storage.since = now;
    this.storage.error = e.message;
    this.storage.failed++;
    if (now - this.storage.loggedAt >= 10_000) {
      this.storage.loggedAt = now;
      this.o.log.error("pool.storage_error", { error: e.message, shares_not_recorded: this.storage.failed });
    }
  }

  private storageOk(): void {
    if (!this.storage.error) return;
    this.o.log.info("pool.storage_recovered", { after_ms: this.now() - this.storage.since, shares_not_recorded: this.storage.failed });
    this.storage.error = null;
    this.storage.failed = 0;
    this.storage.loggedAt = 0;
  }

  /** Whether the pool can serve: a job to hand out and a ledger that writes. */
  health(): { ok: boolean; problems: string[] } {
    const problems: string[] = [];
    if (this.storage.error) problems.push(`storage: ${this.storage.error} (since ${new Date(this.storage.since).toISOString()}, ${this.storage.failed} shares not recorded)`);
    if (this.running && !this.current) problems.push(`no job${this.jobProblem ? `: ${this.jobProblem}` : ""}`);
    return { ok: problems.length === 0, problems };
  }

  /**
   * A share that is a block: handed to the source at once (connected and relayed, or submitted to the daemon) and,
   * once the source has it on its best chain, recorded with its plan (the round closes).
   */
  private foundBlock(found: { job: PoolJob; header: Header; coinbase: Uint8Array }, rec: JobRecord | undefined, worker: string): void {
    // One block per previous block: on a network where most hashes are blocks, the shares right behind the first
    // are blocks on the same parent too; they are credited as shares, never submitted (a side block helps nobody).
    const prev = toHex(found.header.prevHash);
    if (this.blocksOn.has(prev)) {
      this.counters.blockCandidatesSkipped++;
      return;
    }
    this.blocksOn.add(prev);
    if (this.blocksOn.size > 64) this.blocksOn.delete(this.blocksOn.values().next().value!);
    const done = (r: SubmitResult) => {
      const hash = leToDisplayHex(r.hash);
      if (r.status !== "accepted") this.blocksOn.delete(prev); // another candidate on this parent may still win
      if (r.status === "rejected") return this.o.log.warn("pool.block_rejected", { hash, height: r.height, reason: r.reason ?? "" });
      if (r.status !== "accepted") return this.o.log.debug("pool.block_not_main", { hash, status: r.reason ?? r.status });
      if (rec) {
        try {
          this.o.ledger.recordBlock({ hash: r.hash, height: r.height, plan: rec.plan });
        } catch (e) {
          // The block is on the chain; its plan could not be stored (disk full): said loudly, /health degraded.
          this.storageFault(e as Error);
          this.o.log.error("pool.block_not_recorded", { height: r.height, hash, error: (e as Error).message });
        }
      }
      this.counters.blocks++;
      this.o.log.info("pool.block_found", { height: r.height, hash, worker, outputs: rec?.plan.outputs.length ?? 0 });
    };
    const r = this.o.source.submit(found.job.work, found.header, found.coinbase);
    if (!(r instanceof Promise)) return done(r);
    const p = r.then(done, (e) => {
      this.blocksOn.delete(prev);
      this.o.log.warn("pool.block_submit_failed", { height: found.job.work.height, error: (e as Error).message });
    });
    this.pendingBlocks.add(p);
    void p.finally(() => this.pendingBlocks.delete(p)).catch(() => {});
  }

  /** Once a second: connections that never authorized or went silent are closed; long-gone workers forgotten. */
  private sweep(): void {
    const now = this.now();
    const l = this.o.limits;
    for (const c of [...this.conns]) {
      if (!c.users.size && now - c.connectedAt > l.authorizeSeconds * 1000) c.link.close("not authorized in time");
      else if (l.idleSeconds > 0 && now - c.lastMessage > l.idleSeconds * 1000) c.link.close("idle");
      else if (c.vardiff && !c.fixedDifficulty) {
        const v = c.vardiff.tick(now / 1000);
        const next = v === null ? null : this.clampDifficulty(v);
        if (next !== null && next !== c.difficulty) {
          c.difficulty = next;
          c.tell(next);
        }
      }
    }
    let idle = 0;
    for (const [user, w] of this.workers) {
      if (w.openSince.length) continue;
      if (now - (w.lastShare ?? w.firstSeen) > 24 * 3600 * 1000) this.workers.delete(user);
      else idle++;
    }
    if (idle > MAX_IDLE_WORKER_RECORDS) {
      // Many workers came and went (each with shares): the longest idle are forgotten, the stats stay small.
      const gone = [...this.workers.values()].filter((w) => !w.openSince.length).sort((a, b) => (a.lastShare ?? a.firstSeen) - (b.lastShare ?? b.firstSeen));
      for (const w of gone.slice(0, idle - MAX_IDLE_WORKER_RECORDS)) this.workers.delete(w.user);
    }
    this.guard.sweep();
  }

  // ---- views ----

  /** Bans in force (IP bans and worker bans), soonest to expire first. */
  bans(): Ban[] {
    return this.guard.list();
  }

  bannedIps(): { ip: string; until: number }[] {
    return this.guard.list().filter((b) => b.worker === null).map((b) => ({ ip: b.ip, until: b.until }));
  }

  /** Pool statistics: hashrate from shares, per-worker figures and scores, blocks, payouts, latency. */
  stats() {
    const now = this.now();
    const maxAccepted = Math.max(0, ...[...this.workers.values()].map((w) => w.accepted));
    const blocks = this.o.ledger.blocks(1000).filter((b) => b.status === "main");
    const paid = new Map<string, bigint>();
    for (const b of blocks) for (const o of b.plan.outputs) paid.set(o.to, (paid.get(o.to) ?? 0n) + BigInt(o.amount));
    const show = (k: string) => this.o.source.display(Buffer.from(k, "hex"));
    return {
      running: this.running,
      source: this.o.source.status(),
      job_problem: this.jobProblem,
      algo: this.algo,
      connections: this.conns.size,
      workers_connected: [...this.workers.values()].filter((w) => w.openSince.length).length,
      hashrate_hs: this.poolRate.hashrate(now, this.algo, this.startedAt),
      shares: { accepted: this.counters.accepted, accepted_difficulty: this.counters.acceptedDifficulty, rejected: { ...this.rejected }, block_candidates_skipped: this.counters.blockCandidatesSkipped },
      health: this.health(),
      bans: this.guard.list().length,
      latency_ms: { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99) },
      tip_to_notify_ms: { p50: this.tipToNotify.quantile(0.5), p99: this.tipToNotify.quantile(0.99), samples: this.tipToNotify.size() },
      blocks_found: blocks.length,
      fee: { pool_bps: this.o.poolFeeBps, foundation_percent: 1 },
      scheme: this.o.scheme,
      job: this.current
        ? { id: this.current.job.id, height: this.current.job.work.height, clean: this.current.job.notify.cleanJobs, age_ms: now - this.current.createdAt, outputs: this.current.plan.outputs.length }
        : null,
      last_broadcast_ms: this.lastBroadcastMs,
      payouts: [...paid].map(([k, v]) => ({ address: show(k), amount: v.toString() })),
      workers: [...this.workers.values()].map((w) => ({
        user: w.user,
        address: w.address,
        connected: w.openSince.length > 0,
        hashrate_hs: w.rate.hashrate(now, this.algo, w.firstSeen),
        difficulty: w.difficulty,
        accepted: w.accepted,
        accepted_difficulty: w.acceptedDifficulty,
        stale: w.stale,
        rejected: { ...w.rejected },
        last_share: w.lastShare,
        ...workerScore(w, now, maxAccepted),
      })),
    };
  }

  /** Blocks the pool found with their stored plans (addresses shown in the network's form). */
  blocks(limit = 100) {
    const addr = (k: string) => this.o.source.display(Buffer.from(k, "hex"));
    return this.o.ledger.blocks(limit).map((b) => ({
      hash: leToDisplayHex(Buffer.from(b.hash, "hex")),
      height: b.height,
      time: b.time,
      status: b.status,
      scheme: b.plan.scheme,
      total: b.plan.total,
      foundation: b.plan.foundation,
      pool_fee: b.plan.poolFee,
      outputs: b.plan.outputs.map((o) => ({ address: addr(o.to), amount: o.amount })),
      weights: Object.fromEntries(Object.entries(b.plan.weights).map(([k, v]) => [addr(k), v])),
      carried: Object.fromEntries(Object.entries(b.plan.carried).map(([k, v]) => [addr(k), v])),
      last_share: b.plan.lastShare,
      // "shares": weights from the window; "connected": the window was empty, the connected workers shared it.
      basis: b.plan.basis ?? "shares",
    }));
  }

  /** Prometheus series of the pool. */
  metrics(): MetricFamily[] {
    const reasons = Object.entries(this.rejected).map(([reason, v]) => ({ labels: { result: reason }, value: v }));
    return [
      { name: "rignode_pool_connections", help: "Open Stratum connections.", type: "gauge", samples: [{ value: this.conns.size }] },
      { name: "rignode_pool_workers", help: "Workers with an open connection.", type: "gauge", samples: [{ value: [...this.workers.values()].filter((w) => w.openSince.length).length }] },
      { name: "rignode_pool_shares_total", help: "Shares by result.", type: "counter", samples: [{ labels: { result: "accepted" }, value: this.counters.accepted }, ...reasons] },
      { name: "rignode_pool_accepted_difficulty_total", help: "Sum of the difficulty of accepted shares.", type: "counter", samples: [{ value: this.counters.acceptedDifficulty }] },
      { name: "rignode_pool_hashrate_hashes_per_second", help: "Pool hashrate estimated from accepted shares (10 min).", type: "gauge", samples: [{ value: this.poolRate.hashrate(this.now(), this.algo, this.startedAt) }] },
      { name: "rignode_pool_blocks_found_total", help: "Blocks found by the pool and connected.", type: "counter", samples: [{ value: this.counters.blocks }] },
      { name: "rignode_pool_jobs_total", help: "Jobs built.", type: "counter", samples: [{ value: this.counters.jobs }] },
      { name: "rignode_pool_notifies_total", help: "mining.notify messages written.", type: "counter", samples: [{ value: this.counters.notifies }] },
      { name: "rignode_pool_bans_total", help: "Bans (of a worker or an IP) for invalid shares or protocol abuse.", type: "counter", samples: [{ value: this.counters.bans }] },
      { name: "rignode_pool_bans_active", help: "Bans in force.", type: "gauge", samples: [{ value: this.guard.list().length }] },
      { name: "rignode_pool_storage_ok", help: "0 while the ledger fails to record shares.", type: "gauge", samples: [{ value: this.storage.error ? 0 : 1 }] },
      {
        name: "rignode_pool_share_latency_seconds",
        help: "Share response latency (receipt to acknowledgement, ledger commit included), recent shares.",
        type: "gauge",
        samples: this.latency.secondsSamples(),
      },
      {
        name: "rignode_pool_tip_to_notify_seconds",
        help: "From a new tip to the last mining.notify written for it (recent tips).",
        type: "gauge",
        samples: this.tipToNotify.secondsSamples(),
      },
      { name: "rignode_pool_last_job_broadcast_seconds", help: "Time to build the last job and write it to every connection.", type: "gauge", samples: [{ value: this.lastBroadcastMs / 1000 }] },
    ];
  }
}

/** Whether a worker sent any share (accepted, stale or rejected). */
function hasShares(w: WorkerStats): boolean {
  if (w.accepted || w.stale) return true;
  for (const k in w.rejected) if (w.rejected[k]) return true;
  return false;
}

function notifyParams(r: JobRecord, clean: boolean): unknown[] {
  const n = r.job.notify;
  return [n.jobId, n.prevHash, n.coinb1, n.coinb2, n.merkleBranch, n.version, n.nbits, n.ntime, clean];
}

/** A uniqueness violation of the ledger (the same share again); any other error is a storage fault. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || /UNIQUE constraint failed/.test((e as Error)?.message ?? "");
}

function reasonOf(e: StratumError): Reason {
  switch (e.code) {
    case STRATUM_ERROR.duplicate:
      return "duplicate";
    case STRATUM_ERROR.lowDifficulty:
      return "low_difficulty";
    case STRATUM_ERROR.jobNotFound:
      return /stale/i.test(e.message) ? "stale" : "job_not_found";
    case STRATUM_ERROR.unauthorized:
      return "unauthorized";
    default:
      return "invalid";
  }
}

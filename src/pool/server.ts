// The pool (ckpool's split): connections and sessions (sessions.ts, over the sockets of transport.ts and http.ts),
// work (jobs.ts: build, coalesce, publish), the share path (stratifier.ts: check, record, answer; no socket), what
// it shows (report.ts) and the guard (guard.ts). This file wires them and is the one face the node and the API use;
// the parts see it, and each other, only through the narrow views of context.ts (none of them imports this file).
import { Guard, RignodeError, type Ban, type MetricFamily } from "../core";
import { MAX_POOL_MESSAGE_BYTES, notifyBytesBound, type SubmitParams } from "../stratum";
import type { WorkSource } from "./source";
import { ShareChecker } from "./shares";
import { roundDifficulty } from "./vardiff";
import type { WorkerStats } from "./stats";
import type { PoolConn, Link } from "./conn";
import { Sessions } from "./sessions";
import { Jobs } from "./jobs";
import type { JobRecord } from "./context";
import { SharePath } from "./stratifier";
import { PoolReport } from "./report";
import type { PoolServerOptions } from "./options";
import type { MemberHealth, PoolBus } from "./bus";

export { DEFAULT_LIMITS, MAX_IDLE_WORKER_RECORDS, type PoolLimits, type PoolServerOptions } from "./options";
export { PoolConn, type Link } from "./conn";

/** Connected payees a member reports while the plan pays by connection (a fresh pool's first blocks). */
const MAX_MEMBER_PAYEES = 1000;

/**
 * The pool: jobs from the chain tip with the payout plan in the coinbase, one Stratum session per connection
 * behind any codec, share checks through the kernel, the ledger's group commit before every acknowledgement,
 * vardiff, anti-abuse, and the statistics the API and /metrics show.
 */
export class PoolServer {
  readonly guard: Guard;
  readonly sessions: Sessions;
  readonly jobs: Jobs;
  readonly shares: SharePath;
  readonly report: PoolReport;
  readonly versionMask: number;
  readonly startDifficulty: number;
  readonly now: () => number;
  /** The largest notify the source's coinbase rules allow, in bytes (checked against what workers accept). */
  readonly maxNotifyBytes: number;
  private running = false;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;

  /** The options, as changed by configure(); read by the parts, not by callers. */
  readonly o: PoolServerOptions;

  constructor(o: PoolServerOptions) {
    this.o = o;
    o.limits = { ...o.limits };
    this.now = o.now ?? Date.now;
    this.versionMask = o.versionMask ?? 0x1fffe000;
    this.startDifficulty = roundDifficulty(Math.min(o.vardiff.maxDifficulty, Math.max(o.vardiff.minDifficulty, o.startDifficulty)));
    this.report = new PoolReport(this);
    this.shares = new SharePath(this, new ShareChecker<JobRecord>(o.source.algo, o.powHash), o.powHash, o.powHashMany);
    this.sessions = new Sessions(this);
    this.jobs = new Jobs(this);
    this.guard = new Guard({ maxPerIp: o.limits.maxPerIp, banSeconds: o.limits.banSeconds }, this.now);
    if (!Number.isInteger(o.instanceId) || o.instanceId < 0 || o.instanceId > 255) throw new RignodeError("config", "pool instance id must be 0..255");
    this.maxNotifyBytes = notifyBytesBound(o.source.maxCoinbaseBytes);
    if (this.maxNotifyBytes > MAX_POOL_MESSAGE_BYTES) {
      throw new RignodeError("config", `a coinbase of ${o.source.maxOutputs} outputs makes a notify of up to ${this.maxNotifyBytes} bytes, over the ${MAX_POOL_MESSAGE_BYTES} workers accept`);
    }
    o.source.onWork((e) => this.jobs.onWork(e));
    this.role = o.role ?? "leader";
    this.jobs.following = this.role === "follower";
    if (o.bus) this.joinBus(o.bus);
  }

  /** leader: builds jobs; follower: adopts the leader's (see PoolServerOptions.role). */
  role: "leader" | "follower";

  /**
   * Leads (builds jobs from the source at once, then on its timer) or follows (adopts published jobs). A leader's
   * jobs carry the lease's fencing epoch and take their sequences from nextSeq (a counter every leader shares).
   */
  setRole(role: "leader" | "follower", lease: { epoch?: number; nextSeq?: () => number } = {}): void {
    const was = this.role;
    this.role = role;
    const jobs = this.jobs;
    const renewed = lease.epoch !== undefined && lease.epoch > jobs.epoch;
    if (lease.epoch !== undefined) jobs.epoch = Math.max(jobs.epoch, lease.epoch);
    jobs.following = role === "follower";
    jobs.nextSeq = role === "leader" ? (lease.nextSeq ?? null) : null;
    if (role === "leader" && was !== "leader") this.o.log.info("pool.leader_elected", { instance: this.o.instanceId, epoch: jobs.epoch });
    if (role === "follower" && was === "leader") this.o.log.warn("pool.leader_lost", { instance: this.o.instanceId, epoch: jobs.epoch });
    if (!this.running) return;
    if (role === "leader") {
      if (!this.refreshTimer) this.refreshTimer = setInterval(() => this.refresh(false), this.o.jobRefreshSeconds * 1000);
      // A new leader builds at once (clean: the followers' last job may be old); one that led on without publishing
      // (cut off from the bus) publishes a job of its new lease at once.
      if (was !== "leader") this.refresh(true);
      else if (renewed) this.refresh(false);
    } else if (this.refreshTimer) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  /** The bus's lease decides the role; jobs go out (leader) or come in (follower); bans decided elsewhere hold here. */
  private joinBus(bus: PoolBus): void {
    bus.onLeadership((leading, epoch) => this.setRole(leading ? "leader" : "follower", { epoch, nextSeq: bus.nextSeq?.bind(bus) }));
    bus.onJob((w) => this.role === "follower" && this.jobs.adopt(w));
    this.jobs.onPublished((w) => {
      if (this.role === "leader") bus.publishJob(w).catch((e) => this.o.log.warn("pool.bus_error", { op: "publish_job", job: w.seq.toString(16), error: (e as Error).message }));
    });
    bus.onBan((b) => {
      const ban = this.guard.restore(b);
      if (ban) this.sessions.enforce(ban, true);
    });
    bus.onUnban?.((ip) => this.unbanned(ip)); // not published again; relayed to the shards (they wrap unbanned)
  }

  /** This member's health for the others (the bus stamps its name and the time). */
  memberHealth(): MemberHealth {
    const cur = this.jobs.current;
    const r = this.report;
    return {
      member: "", instance: this.o.instanceId, leader: this.role === "leader", at: this.now(), connections: this.conns.size, workers: r.workersConnected(),
      hashrate: this.hashrate(), accepted: r.counters.accepted, rejected: r.rejectedTotal(),
      job: cur?.job.id ?? null, height: cur?.job.work.height ?? null, problems: this.health().problems,
      ...(cur?.plan.basis === "connected" ? { payees: [...this.sessions.connectedPayees().keys()].slice(0, MAX_MEMBER_PAYEES) } : {}),
    };
  }

  get algo() {
    return this.o.source.algo;
  }

  get source(): WorkSource {
    return this.o.source;
  }

  get conns(): Set<PoolConn> {
    return this.sessions.conns;
  }

  get workers(): Map<string, WorkerStats> {
    return this.report.workers;
  }

  /** The job being mined with what the pool keeps about it (its payout plan), or null before the first. */
  get current(): JobRecord | null {
    return this.jobs.current;
  }

  /** Builds the first job and starts the refresh and sweep timers. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.restoreBans();
    if (this.role === "leader") {
      this.refresh(true);
      this.refreshTimer = setInterval(() => this.refresh(false), this.o.jobRefreshSeconds * 1000);
    }
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
      this.sessions.restartVardiff();
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

  // ---- connections (sessions.ts) ----

  /** A new connection, or the reason it is refused (its IP is banned or over the cap), to be told to the miner. */
  open(link: Link): PoolConn | string {
    return this.sessions.open(link);
  }

  /** A connection went away (closed by either side). */
  closed(c: PoolConn): void {
    this.sessions.closed(c);
  }

  subscribe(c: PoolConn): { extranonce1: string; extranonce2Size: number } {
    return this.sessions.subscribe(c);
  }

  /** Authorizes `user` on a connection; refusals throw the reason the miner is told (code 24). */
  authorize(c: PoolConn, user: string, password: string): boolean {
    return this.sessions.authorize(c, user, password);
  }

  suggestDifficulty(c: PoolConn, d: number): void {
    this.sessions.suggestDifficulty(c, d);
  }

  /** Distinct workers authorized on the open connections of `ip`. */
  workersFrom(ip: string): number {
    return this.sessions.workersFrom(ip);
  }

  /** A payout user: an address of the source's network, optionally ".worker" (1-64 of [A-Za-z0-9_-]). */
  parseUser(user: string): Uint8Array | null {
    return this.sessions.parseUser(user);
  }

  // ---- work (jobs.ts) and shares (stratifier.ts) ----

  /** A new job on the best block with the current payout plan (see Jobs.refresh). */
  refresh(clean: boolean): void {
    this.jobs.refresh(clean);
  }

  /** The job now being mined, as notify fields (for HTTP workers and the API). */
  currentJob(): { seq: number; params: unknown[] } | null {
    return this.jobs.currentJob();
  }

  submit(c: PoolConn, p: SubmitParams): Promise<void> {
    return this.shares.submit(c, p);
  }

  // ---- the guard ----

  /** Bans an IP (every worker on it) for the configured time and closes its connections. */
  ban(ip: string, why: string): void {
    const b = this.guard.banIp(ip, why);
    if (b) this.sessions.enforce(b);
  }

  /** Undecodable input on a connection (not another protocol): repeated from one IP, the IP is banned. */
  protocolAbuse(ip: string, why: string): void {
    const b = this.guard.protocolAbuse(ip, why);
    if (b) this.sessions.enforce(b);
  }

  /** Lifts the bans of an IP; how many. */
  unban(ip: string): number {
    const n = this.unbanned(ip);
    this.o.ledger.liftBans(ip);
    if (n) this.o.log.info("pool.unban", { ip, bans: n });
    this.o.bus?.publishUnban?.(ip);
    return n;
  }

  /** An IP's bans lifted here, as decided here or elsewhere: the ledger's view forgets them too (or a sweep restores them). */
  unbanned(ip: string): number {
    this.o.ledger.forgetBans(ip);
    return this.guard.lift(ip);
  }

  /** Bans in force (IP bans and worker bans), soonest to expire first. */
  bans(): Ban[] {
    return this.guard.list();
  }

  bannedIps(): { ip: string; until: number }[] {
    return this.guard.list().filter((b) => b.worker === null).map((b) => ({ ip: b.ip, until: b.until }));
  }

  /** Bans the ledger holds that this instance does not (decided before a restart, or by another instance). */
  private restoreBans(): void {
    // SQLite has one writer: read at start only. A shared ledger is re-read before each job (prepare()).
    if (this.o.ledger.backend.kind === "sqlite" && this.bansRestored) return;
    this.bansRestored = true;
    for (const b of this.o.ledger.storedBans(this.now())) {
      const ban = this.guard.restore(b);
      if (ban) this.sessions.enforce(ban, true);
    }
  }
  private bansRestored = false;
  private followerReadAt = 0;

  /** Once a second: connections that never authorized or went silent are closed; long-gone workers forgotten. */
  private sweep(): void {
    const now = this.now();
    this.sessions.sweep(now);
    this.report.sweep(now);
    this.guard.sweep();
    this.restoreBans();
    this.jobs.stale.check(this.role === "follower", this.jobs.current, now);
    // A follower builds no job, so nothing reads the shared ledger before one: its found blocks (stats, payouts) and
    // bans are read every 10 s instead (the plans only when the block list changed).
    if (this.role === "follower" && this.o.ledger.backend.kind !== "sqlite" && now - this.followerReadAt >= 10_000) {
      this.followerReadAt = now;
      this.o.ledger.prepare(undefined)?.catch((e: Error) => this.o.log.debug("pool.ledger_read_failed", { error: e.message }));
    }
    if (this.o.bus) {
      if (this.role === "leader") this.jobs.membersJoined();
      try {
        this.o.bus.publishHealth(this.memberHealth());
      } catch (e) {
        this.o.log.warn("pool.bus_error", { op: "health", error: (e as Error).message });
      }
    }
  }

  // ---- views (report.ts) ----

  /** Whether the pool can serve: a job to hand out and a ledger that writes. */
  health(): { ok: boolean; problems: string[] } {
    const problems: string[] = [];
    const storage = this.shares.storageProblem();
    if (storage) problems.push(storage);
    if (this.running && !this.jobs.current) problems.push(`no job${this.jobs.problem ? `: ${this.jobs.problem}` : ""}`);
    if (this.running && this.jobs.stale.problem) problems.push(this.jobs.stale.problem);
    return { ok: problems.length === 0, problems };
  }

  /** Pool statistics: hashrate from shares, per-worker figures and scores, blocks, payouts, latency. */
  stats(withWorkers = true) {
    return this.report.stats(withWorkers);
  }

  /** Every worker the pool knows, with its figures and score. */
  workerList() {
    return this.report.workerList();
  }

  /** Hashes per second from accepted shares (10 min). */
  hashrate(): number {
    return this.report.hashrate();
  }

  /** Blocks the pool found with their stored plans (addresses shown in the network's form). */
  blocks(limit = 100) {
    return this.report.blocks(limit);
  }

  /** One block the pool found, by hash (digest byte order), or null. */
  block(hash: Uint8Array) {
    return this.report.block(hash);
  }

  /** Prometheus series of the pool (this instance's; with a bus, whether it leads). */
  metrics(): MetricFamily[] {
    const m = this.report.metrics();
    if (this.o.bus) m.push({ name: "rignode_pool_leader", help: "1 while this instance leads the pool's members (makes the jobs).", type: "gauge", samples: [{ value: this.role === "leader" ? 1 : 0 }] });
    return m;
  }

  /** With a bus: every live member's health and the pool-wide sums (null without one: nothing changes). */
  cluster(): { instances: MemberHealth[]; pool_wide: Record<string, unknown> } | null {
    if (!this.o.bus) return null;
    // Without the payees a member reports for the leader's plan (long, and nobody's business on the API).
    const instances = this.o.bus.members().map(({ payees: _, ...h }) => h);
    const sum = (f: (h: MemberHealth) => number) => instances.reduce((n, h) => n + f(h), 0);
    return {
      instances,
      pool_wide: {
        members: instances.length, connections: sum((h) => h.connections), workers: sum((h) => h.workers), hashrate_hs: sum((h) => h.hashrate),
        accepted: sum((h) => h.accepted), rejected: sum((h) => h.rejected), leader: instances.find((h) => h.leader)?.member ?? null,
      },
    };
  }
}

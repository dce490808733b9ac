// Several pool instances on one Redis (or Valkey) through Bun's built-in client: a leader lease with expiry and a
// fencing epoch, jobs published on a channel and kept as the current job, per-IP counts (connections, distinct
// workers: bus-redis-counts.ts) and member health written every second with an expiry, bans published to every member.
// Why a lease in Redis and not a PostgreSQL advisory lock: an advisory lock belongs to a database session, and when
// the leader's machine dies or is cut off the server releases it only when TCP notices (keepalive: minutes), so
// failover would not be bounded. A lease's expiry bounds it: TTL (3 s) + one try interval (0.5 s) after a kill -9.
import { RedisClient } from "bun";
import { hostname } from "node:os";
import { RignodeError } from "../core";
import type { BanRow } from "./ledger-backend";
import type { MemberHealth, PoolBus, WireJob } from "./bus";
import { ACQUIRE, CLAIM, checkBusUrl, EXTEND, parseBanMessage, PUBLISH, RELEASE, saneJob, SEQ_BLOCK, type RedisBusOptions } from "./bus-redis-scripts";
import { exchangeRecords, IpCounts } from "./bus-redis-counts";

export { checkBusUrl, type RedisBusOptions } from "./bus-redis-scripts";

export class RedisBus implements PoolBus {
  readonly member: string;
  readonly shown: string;
  private readonly k: { lease: string; epoch: string; seq: string; job: string; jobSeq: string; jobs: string; bans: string; members: string; instance: string; health: (m: string) => string; conns: (m: string) => string; workers: (m: string) => string };
  private readonly o: Required<Omit<RedisBusOptions, "log" | "url" | "namespace" | "instance">>;
  private readonly cmd: RedisClient;
  private sub: RedisClient | null = null;
  private readonly leadership: ((leading: boolean, epoch: number) => void)[] = [];
  private readonly jobListeners: ((w: WireJob) => boolean | void)[] = [];
  private readonly banListeners: ((b: BanRow) => void)[] = [];
  private readonly unbanListeners: ((ip: string) => void)[] = [];
  private leading = false;
  /** Was leading, cut off from Redis past the lease: builds for its own miners, publishes nothing (see checkLease). */
  private adrift = false;
  epoch = 0;
  /** ms (performance.now) until which the lease is surely ours: the start of the last successful renewal + TTL. */
  private leaseUntil = 0;
  private seqs: [number, number][] = [];
  private reserving = false;
  private lastJobSeq = 0;
  private health: MemberHealth | null = null;
  /** Per IP: open connections and distinct workers, this member's and the others' (read back each tick). */
  private readonly conns: IpCounts;
  private readonly workers: IpCounts;
  private membersSeen: MemberHealth[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  private claimTimer: ReturnType<typeof setInterval> | null = null;
  private started = false;
  private errorLoggedAt = 0;

  constructor(private readonly opts: RedisBusOptions) {
    this.shown = checkBusUrl(opts.url);
    this.member = `${hostname()}:${process.pid}:${opts.instance}:${Math.random().toString(16).slice(2, 8)}`;
    const p = `rignode:pool:${opts.namespace}:`;
    this.k = {
      lease: p + "leader", epoch: p + "epoch", seq: p + "seq", job: p + "job", jobSeq: p + "job:seq", jobs: p + "jobs", bans: p + "bans", members: p + "members",
      instance: p + `instance:${opts.instance}`, health: (m) => p + `health:${m}`, conns: (m) => p + `conns:${m}`, workers: (m) => p + `workers:${m}`,
    };
    this.o = { leaseMs: opts.leaseMs ?? 3000, renewMs: opts.renewMs ?? 1000, tryMs: opts.tryMs ?? 500, tickMs: opts.tickMs ?? 1000, healthTtlMs: opts.healthTtlMs ?? 5000, timeoutMs: opts.timeoutMs ?? 1000, connectMs: opts.connectMs ?? 5000 };
    this.conns = new IpCounts(this.k.conns, this.o.healthTtlMs);
    this.workers = new IpCounts(this.k.workers, this.o.healthTtlMs);
    this.cmd = new RedisClient(opts.url, { connectionTimeout: 2000, autoReconnect: true, maxRetries: 1_000_000, enableOfflineQueue: false });
  }

  /** One command, abandoned after timeoutMs. */
  private send<T = unknown>(cmd: string, args: string[]): Promise<T> {
    return this.within(this.cmd.send(cmd, args), `redis ${cmd}`) as Promise<T>;
  }

  private async within<T>(p: Promise<T>, what: string, ms = this.o.timeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, no) => (timer = setTimeout(() => no(new Error(`${what} took over ${ms} ms`)), ms)));
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private fault(op: string, e: unknown): void {
    const now = Date.now();
    if (now - this.errorLoggedAt < 10_000) return;
    this.errorLoggedAt = now;
    this.opts.log.warn("pool.bus_error", { op, bus: this.shown, error: (e as Error).message });
  }

  /**
   * Connects and claims this instance id: a live member holding it is refused (it would hand out the same
   * extranonce1 space). A claim left by a member that died expires within healthTtlMs: waited for, once.
   */
  async open(): Promise<void> {
    // The client reconnects for ever: a Redis that is down at start would hold the start silently, so it is raced.
    try {
      await this.within(this.cmd.connect(), "connecting", this.o.connectMs);
    } catch (e) {
      throw new RignodeError("config", `--bus: the Redis at ${this.shown} could not be reached: ${(e as Error).message}`);
    }
    const end = Date.now() + this.o.healthTtlMs + 1000;
    for (;;) {
      const ok = await this.send("SET", [this.k.instance, this.member, "NX", "PX", String(this.o.healthTtlMs)]);
      if (ok === "OK") break;
      const holder = await this.send<string | null>("GET", [this.k.instance]);
      if (Date.now() >= end) {
        throw new RignodeError("config", `--pool-instance ${this.opts.instance} is already a live member of the pool at ${this.shown} (${holder}): each instance needs its own id (its extranonce1 space)`);
      }
      await Bun.sleep(250);
    }
    this.claimTimer = setInterval(() => {
      this.send("EVAL", [CLAIM, "1", this.k.instance, this.member, String(this.o.healthTtlMs)])
        .then((r) => {
          if (Number(r) !== 1) this.opts.log.error("pool.bus_error", { op: "instance_claim", instance: this.opts.instance, error: "another member holds this --pool-instance now" });
        })
        .catch((e) => this.fault("instance_claim", e));
    }, Math.min(this.o.tickMs, this.o.healthTtlMs / 3));
  }

  /** Joins: subscribes to jobs and bans, takes the current job, then tries for the lease and ticks health. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.subscribe().catch((e) => this.fault("subscribe", e));
    await this.pollJob().catch((e) => this.fault("job", e));
    this.timers.push(setInterval(() => void this.leaseStep(), this.o.tryMs));
    this.timers.push(setInterval(() => void this.tick(), this.o.tickMs));
    void this.leaseStep();
    void this.tick();
  }

  /** Leaves: the lease is released (a follower takes over at its next try, not after the TTL). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A lease won by a try still in flight is released too; a tick in flight writes its records before they go.
    await this.leaseRun;
    await this.ticking;
    const held = this.leading;
    this.stepDown("stopping");
    if (held) await this.send("EVAL", [RELEASE, "1", this.k.lease, this.member]).catch(() => {});
    await this.send("DEL", [this.k.health(this.member), this.k.conns(this.member), this.k.workers(this.member)]).catch(() => {});
    await this.send("ZREM", [this.k.members, this.member]).catch(() => {});
    this.sub?.close();
    this.sub = null;
  }

  /** Stops and lets go of the instance claim and the connections. */
  async close(): Promise<void> {
    await this.stop();
    if (this.claimTimer) clearInterval(this.claimTimer);
    this.claimTimer = null;
    await this.send("EVAL", [RELEASE, "1", this.k.instance, this.member]).catch(() => {});
    this.cmd.close();
  }

  /**
   * The subscriber: its own connection that never reconnects by itself (Bun's client would reconnect without its
   * subscriptions, and the channel would go silent); when it closes, the next tick makes a new one and subscribes.
   */
  private async subscribe(): Promise<void> {
    if (this.sub?.connected) return;
    this.sub?.close();
    const sub = new RedisClient(this.opts.url, { connectionTimeout: 2000, autoReconnect: false, enableOfflineQueue: false });
    this.sub = sub;
    sub.onclose = () => {
      if (this.sub === sub) this.sub = null;
    };
    try {
      await this.within(sub.connect(), "subscriber connect");
      await sub.subscribe(this.k.jobs, (m) => this.jobMessage(m, "channel"));
      await sub.subscribe(this.k.bans, (m) => this.banMessage(m));
    } catch (e) {
      if (this.sub === sub) this.sub = null;
      sub.close();
      throw e;
    }
    this.opts.log.debug("pool.bus_subscribed", { member: this.member });
  }

  /**
   * A job from the channel or the current-job key. Its seq and epoch count (for a later ACQUIRE) only once a
   * listener took it (fromWire checked it): junk on the channel cannot push them out of reach.
   */
  private jobMessage(m: string, via: "channel" | "poll"): void {
    let w: WireJob;
    try {
      w = JSON.parse(m) as WireJob;
    } catch {
      return this.fault("job", new Error("a job on the bus is not JSON"));
    }
    if (!saneJob(w)) return this.fault("job", new Error("a job on the bus has no valid seq/epoch"));
    let taken = false;
    for (const cb of this.jobListeners) if (cb(w) === true) taken = true;
    this.opts.log.debug("pool.bus_job", { job: w.seq.toString(16), epoch: w.epoch, via, taken });
    if (taken) this.noteJob(w);
  }

  private noteJob(w: WireJob): void {
    this.lastJobSeq = Math.max(this.lastJobSeq, w.seq);
    this.epoch = Math.max(this.epoch, w.epoch);
  }

  private banMessage(m: string): void {
    const x = parseBanMessage(m, this.member);
    if (x && "unban" in x) for (const cb of this.unbanListeners) cb(x.unban);
    else if (x) for (const cb of this.banListeners) cb(x.ban);
  }

  /** The seq of the current job last fetched by pollJob (fetched once, even when not taken). */
  private polledSeq = 0;
  /**
   * The current job key: what a joining member starts with, and the net under a missed message. Its small seq key
   * is read first; the job (an upstream template can be megabytes) only when it is newer than what this member has.
   */
  private async pollJob(): Promise<void> {
    const seq = Number(await this.send<string | null>("GET", [this.k.jobSeq]));
    if (!(seq > this.lastJobSeq) || seq === this.polledSeq) return;
    const s = await this.send<string | null>("GET", [this.k.job]);
    this.polledSeq = seq;
    if (s) this.jobMessage(s, "poll");
  }

  private leaseRun: Promise<void> | null = null;

  private leaseStep(): Promise<void> {
    if (!this.started || this.leaseRun) return this.leaseRun ?? Promise.resolve();
    this.leaseRun = (this.leading ? this.renew() : this.tryLead()).finally(() => (this.leaseRun = null));
    return this.leaseRun;
  }

  private lastRenew = 0;

  private async renew(): Promise<void> {
    const t0 = performance.now();
    if (t0 - this.lastRenew < this.o.renewMs - this.o.tryMs / 2) return this.checkLease();
    try {
      const r = await this.send("EVAL", [EXTEND, "1", this.k.lease, this.member, String(this.o.leaseMs)]);
      if (Number(r) !== 1) return this.stepDown("the lease is no longer this member's (expired, taken, or Redis restarted empty)");
      this.lastRenew = t0;
      this.leaseUntil = t0 + this.o.leaseMs;
      if (this.seqLeft() < SEQ_BLOCK / 4) void this.reserve();
    } catch (e) {
      this.fault("lease", e);
      this.checkLease();
    }
  }

  /**
   * A leader that could not renew for the lease's lifetime stops publishing: another member may hold the lease now.
   * Cut off from Redis it is "adrift": it goes on building jobs for its own miners (ids from the block it reserved,
   * unique still), and once Redis answers it leads again or follows whoever does.
   */
  private checkLease(): void {
    if (!this.leading || performance.now() < this.leaseUntil - this.o.tryMs / 2) return;
    this.leading = false;
    this.adrift = true;
    this.opts.log.warn("pool.bus_adrift", { member: this.member, epoch: this.epoch, note: "the lease could not be renewed in time: jobs for this instance's own miners only, none published, until Redis answers" });
  }

  private stepDown(why: string): void {
    if (!this.leading && !this.adrift) return;
    this.leading = false;
    this.adrift = false;
    this.seqs = [];
    this.opts.log.warn("pool.bus_lease_lost", { member: this.member, epoch: this.epoch, reason: why });
    for (const cb of this.leadership) cb(false, this.epoch);
    // The new leader's job may have come while this member still led (and ignored it): the current job again.
    this.polledSeq = 0;
    if (this.started) this.pollJob().catch((e) => this.fault("job", e));
  }

  private async tryLead(): Promise<void> {
    const t0 = performance.now();
    let r: unknown;
    try {
      const seen = [String(this.epoch), String(this.lastJobSeq)];
      r = await this.send("EVAL", [ACQUIRE, "3", this.k.lease, this.k.epoch, this.k.seq, this.member, String(this.o.leaseMs), String(SEQ_BLOCK), ...seen]);
    } catch (e) {
      return this.fault("lease", e);
    }
    if (!Array.isArray(r)) {
      if (this.adrift) this.stepDown("Redis answers again and another member holds the lease");
      return;
    }
    const epoch = Number(r[0]);
    const end = Number(r[1]);
    this.epoch = epoch;
    this.seqs = [[end - SEQ_BLOCK + 1, end]];
    this.lastRenew = t0;
    this.leaseUntil = t0 + this.o.leaseMs;
    this.leading = true;
    this.adrift = false;
    this.opts.log.info("pool.bus_lease_won", { member: this.member, epoch });
    if (!this.started) return; // stopped while this try was in flight: stop() releases it
    for (const cb of this.leadership) cb(true, epoch);
  }

  private seqLeft(): number {
    return this.seqs.reduce((n, [a, b]) => n + (b - a + 1), 0);
  }

  /** Another block of sequences before this one runs out (taken while renewing, off the job path). */
  private async reserve(): Promise<void> {
    if (this.reserving) return;
    this.reserving = true;
    try {
      const end = Number(await this.send("INCRBY", [this.k.seq, String(SEQ_BLOCK)]));
      if (this.leading) this.seqs.push([end - SEQ_BLOCK + 1, end]);
    } catch (e) {
      this.fault("seq", e);
    } finally {
      this.reserving = false;
    }
  }

  nextSeq(): number {
    const r = this.seqs[0];
    if ((!this.leading && !this.adrift) || !r) throw new RignodeError("unavailable", "no job ids reserved from the bus (not the leader, or Redis unreachable and the reserved ones used up)");
    const n = r[0]++;
    if (r[0] > r[1]) this.seqs.shift();
    if (n > 0xffffffff) throw new RignodeError("internal", "the bus's job counter passed 2^32: reset rignode:pool:*:seq with every instance stopped");
    return n;
  }

  /** Once a second: this member's health and per-IP counts (expiring), the others' read back, a missed job caught. */
  private tick(): Promise<void> {
    if (!this.started || this.ticking) return this.ticking ?? Promise.resolve();
    this.ticking = this.tickOnce().finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** The tick in flight: stop() waits for it, so its records cannot land after stop() deleted them. */
  private ticking: Promise<void> | null = null;

  private async tickOnce(): Promise<void> {
    try {
      const now = Date.now();
      if (!this.sub?.connected) await this.subscribe().catch((e) => this.fault("subscribe", e));
      this.membersSeen = await exchangeRecords(this.send.bind(this), this.k, this.member, this.health, [this.conns, this.workers], this.o.healthTtlMs, now);
      if (!this.leading) await this.pollJob();
    } catch (e) {
      this.fault("tick", e);
    }
  }

  onLeadership(cb: (leading: boolean, epoch: number) => void): void {
    this.leadership.push(cb);
  }

  isLeader(): boolean {
    return this.leading;
  }

  async publishJob(w: WireJob): Promise<void> {
    if (!this.leading) return;
    const json = JSON.stringify(w);
    const r = await this.send("EVAL", [PUBLISH, "4", this.k.lease, this.k.epoch, this.k.job, this.k.jobSeq, this.member, String(w.epoch), json, this.k.jobs, String(w.seq)]);
    if (Number(r) !== 1) throw new RignodeError("unavailable", `job ${w.seq.toString(16)} not published: the lease of epoch ${w.epoch} is no longer this member's`);
    this.noteJob(w);
  }

  onJob(cb: (w: WireJob) => boolean | void): void {
    this.jobListeners.push(cb);
  }

  // Per IP: the other members' sums as last read (none once older than the expiry), and this member's to publish.
  othersByIp = (): ReadonlyMap<string, number> => this.conns.byIp();
  othersConnections = (ip: string): number => this.conns.of(ip);
  setLocalConnections = (ip: string, n: number): void => this.conns.set(ip, n);
  othersWorkersByIp = (): ReadonlyMap<string, number> => this.workers.byIp();
  othersWorkers = (ip: string): number => this.workers.of(ip);
  setLocalWorkers = (ip: string, n: number): void => this.workers.set(ip, n);

  publishBan(b: BanRow): void {
    this.send("PUBLISH", [this.k.bans, JSON.stringify({ from: this.member, ban: b })]).catch((e) => this.fault("ban", e));
  }

  onBan(cb: (b: BanRow) => void): void {
    this.banListeners.push(cb);
  }

  publishUnban(ip: string): void {
    this.send("PUBLISH", [this.k.bans, JSON.stringify({ from: this.member, unban: ip })]).catch((e) => this.fault("unban", e));
  }

  onUnban(cb: (ip: string) => void): void {
    this.unbanListeners.push(cb);
  }

  publishHealth(h: MemberHealth): void {
    this.health = h;
  }

  members(): MemberHealth[] {
    return this.membersSeen;
  }
}

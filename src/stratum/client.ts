import { RignodeError, type Logger } from "../core";
import { PoolConnection } from "./connection";
import { hostPort, probeEndpoint, type PoolEndpoint } from "./endpoint";
import { ProtocolHints, type Ban } from "./pool-says";
import type { PoolWork, SubmitResult } from "./work";

/** Longest wait a ban makes the client keep away from a pool (a pool that says a year means "not today"). */
const MAX_BAN_WAIT_S = 24 * 3600;

export interface ClientOptions {
  pools: PoolEndpoint[];
  user: string;
  password: string;
  log: Logger;
  onWork(w: PoolWork): void;
  /** Called when the connection is lost (work should stop until new work comes). */
  onDisconnect?(): void;
  userAgent?: string;
  /** Cap on one message from the pool (default MAX_POOL_MESSAGE_BYTES, what a pool may send: a large plan's notify). */
  maxBytes?: number;
  /** Reconnect delay: starts at min, doubles per failed attempt up to max (ms). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** While on a backup pool, how often the first pool is tried again (ms). */
  primaryRetryMs?: number;
  /** No answer to subscribe/authorize within this: the pool is treated as down (ms). */
  handshakeTimeoutMs?: number;
  /**
   * Authorization refusals in a row (across the failover list) after which the client stops and calls onFatal;
   * default: never stop.
   */
  maxAuthFailures?: number;
  /** The client gave up (it is stopped): the role cannot go on. */
  onFatal?(e: RignodeError): void;
  /** PEM certificate(s) trusted for stratum+ssl:// pools instead of the system's CAs (a self-signed pool). */
  tlsCa?: string;
}

/**
 * A Stratum V1 client with a failover list: one PoolConnection at a time speaks the protocol; this class decides
 * where to go when it ends. On a lost connection it reconnects with backoff and fails over down the list; from a
 * backup it returns to the first pool as soon as that one answers again; it waits out bans, follows
 * client.reconnect, and gives up after maxAuthFailures refusals in a row.
 */
export class StratumClient {
  /** The failover list (a pool's client.reconnect rewrites its own entry; the caller's array is left alone). */
  private readonly pools: PoolEndpoint[];
  private conn: PoolConnection | null = null;
  private index = 0;
  private attempt = 0;
  private authRefusals = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  /** Share difficulty the last connection ended with (a new one mines at it until the pool sets one). */
  private difficulty = 1;
  private suggested: number | null = null;
  /** Per pool index: until when (ms since the epoch) the pool said we are banned. */
  private bannedUntil = new Map<number, number>();
  /** Wrong-protocol and TLS hints already given (once per pool at warn, then at debug). */
  private readonly hints: ProtocolHints;
  /** Connections made (the first included) and the pool now in use. */
  connects = 0;
  current: PoolEndpoint | null = null;

  constructor(private readonly o: ClientOptions) {
    if (!o.pools.length) throw new RignodeError("config", "at least one pool is needed");
    this.pools = [...o.pools];
    this.hints = new ProtocolHints(o.log);
  }

  start(): void {
    this.connect(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopProbe();
    this.conn?.close("client stopped");
    this.conn = null;
  }

  isConnected(): boolean {
    return this.conn?.authorized === true;
  }

  /** The share difficulty the pool set last (what new work is mined at). */
  shareDifficulty(): number {
    return this.conn?.difficulty ?? this.difficulty;
  }

  /**
   * Asks the pool for a share difficulty (mining.suggest_difficulty), now and after every reconnect: a worker that
   * knows its hashrate need not wait for vardiff to find it.
   */
  suggestDifficulty(d: number): void {
    if (!Number.isFinite(d) || d <= 0) return;
    this.suggested = d;
    if (this.conn?.authorized) void this.conn.request("mining.suggest_difficulty", [d]);
  }

  /** Submits a share; resolves with the pool's answer (or "lost" when the connection goes first). */
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string): Promise<SubmitResult> {
    if (!this.conn) return Promise.resolve({ status: "lost", message: "not connected" });
    return this.conn.submit(this.o.user, jobId, extranonce2, ntime, nonce);
  }

  private describe(): string {
    return this.current ? hostPort(this.current) : "none";
  }

  private connect(index: number): void {
    if (this.stopped) return;
    this.index = index;
    const ep = this.pools[index]!;
    const o = this.o;
    const conn: PoolConnection = new PoolConnection({
      endpoint: ep, user: o.user, password: o.password, log: o.log, userAgent: o.userAgent, maxBytes: o.maxBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs, tlsCa: o.tlsCa, difficulty: this.difficulty, hints: this.hints,
      events: {
        opened: () => {
          this.current = ep;
          this.connects++;
        },
        ready: () => this.ready(conn),
        work: (w) => o.onWork(w),
        banned: (ban) => this.banned(index, ban),
        refused: (e) => this.refused(e),
        move: (to, waitS) => {
          this.pools[index] = to;
          this.leave("pool asked to reconnect", index, waitS * 1000);
        },
        ended: (why) => this.retry(why),
      },
    });
    this.conn = conn;
  }

  private ready(conn: PoolConnection): void {
    this.attempt = 0;
    this.authRefusals = 0;
    if (this.suggested !== null) void conn.request("mining.suggest_difficulty", [this.suggested]);
    if (this.index !== 0 && !this.probeTimer) this.probeTimer = setInterval(() => this.probePrimary(), this.o.primaryRetryMs ?? 30_000);
  }

  /**
   * The one way off a connection (lost, moved by the pool, back to the first pool): its requests end as lost
   * with `why`, the engine pauses until new work, and pool `index` is tried after `ms`.
   */
  private leave(why: string, index: number, ms: number): void {
    const c = this.conn;
    this.conn = null;
    if (c) {
      this.difficulty = c.difficulty;
      c.close(why);
      if (c.opened) this.o.onDisconnect?.();
    }
    if (this.stopped) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(index), ms);
  }

  /** The connection ended: the next pool down the list, after a backoff that grows with each full pass that fails. */
  private retry(why: string): void {
    if (this.stopped) return;
    const min = this.o.backoffMinMs ?? 1000;
    const max = this.o.backoffMaxMs ?? 30_000;
    const next = (this.index + 1) % this.pools.length;
    let delay = next === 0 || this.pools.length === 1 ? Math.min(max, min * 2 ** Math.min(this.attempt++, 16)) : min;
    // A pool that banned us for a while is not asked again before the ban ends.
    const ban = (this.bannedUntil.get(next) ?? 0) - Date.now();
    if (ban > 0) delay = Math.max(delay, ban);
    else this.bannedUntil.delete(next);
    this.o.log.warn("worker.pool_down", { reason: why, next: hostPort(this.pools[next]!), retry_ms: delay });
    this.leave(why, next, delay);
  }

  private banned(index: number, ban: Ban): void {
    if (ban.seconds !== null) this.bannedUntil.set(index, Date.now() + Math.min(ban.seconds, MAX_BAN_WAIT_S) * 1000);
  }

  /** The pool refused the user: say why; after maxAuthFailures refusals in a row, give up. */
  private refused(e: { code: number | null; message: string }): void {
    const limit = this.o.maxAuthFailures ?? Infinity;
    this.authRefusals++;
    this.o.log.error("worker.unauthorized", {
      pool: this.describe(), user: this.o.user, code: e.code ?? undefined, reason: e.message,
      attempt: Number.isFinite(limit) ? `${this.authRefusals}/${limit}` : this.authRefusals,
    });
    if (this.authRefusals < limit) return;
    const pools = this.pools.length > 1 ? `the pools (${this.pools.length})` : `the pool ${this.describe()}`;
    const msg =
      `${pools} refused user '${this.o.user}' ${this.authRefusals} times in a row (last: ${this.describe()}: ${e.message}); ` +
      "check --user (the payout address, optionally .NAME) and --password, or pass --retry-forever to keep trying";
    this.o.log.error("worker.giving_up", { reason: msg });
    this.stop();
    this.o.onFatal?.(new RignodeError("refused", msg));
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /** From a backup: if the first pool accepts a TCP connection again, move back to it. */
  private probePrimary(): void {
    if (this.index === 0 || this.stopped) return this.stopProbe();
    if ((this.bannedUntil.get(0) ?? 0) > Date.now()) return;
    const ep = this.pools[0]!;
    probeEndpoint(ep, this.o.tlsCa, () => {
      if (this.index === 0 || this.stopped) return;
      this.o.log.info("worker.primary_back", { pool: hostPort(ep) });
      this.stopProbe();
      this.leave("moving back to the first pool", 0, 0);
    });
  }
}

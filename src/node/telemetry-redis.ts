// Telemetry to Valkey/Redis (--telemetry-redis URL) through Bun's built-in client: each scored second SETs
// telemetry:{last,advice,actions}:{rig} with a TTL (so a stopped rig's keys go away) and PUBLISHes them on channels of
// the same names. Best effort by design: mining never waits for Redis. A publish that finds Redis down drops that
// second and returns at once; a connect or write that hangs is abandoned after timeoutMs; the next try waits retryMs;
// the outage is logged once per minute, and its end once.
import { RedisClient } from "bun";
import { RignodeError, type Logger } from "../core";
import type { TelemetryView } from "../telemetry";

export interface TelemetryRedisOptions {
  /** Seconds the keys live after the last write (default 120). */
  ttlSec?: number;
  /** A connect or a write that takes longer is abandoned (default 2000 ms). */
  timeoutMs?: number;
  /** After a failure, publishes drop without trying for this long (default 5000 ms). */
  retryMs?: number;
  /** The clock for retries and log rate limits (tests move it). */
  now?: () => number;
}

export interface TelemetryRedisStatus {
  url: string;
  connected: boolean;
  /** ms since the epoch when the current outage began; null while up. */
  downSince: number | null;
  /** Views not delivered during the current outage (0 while up). */
  dropped: number;
  published: number;
}

/** The URL schemes Bun's client speaks. */
const SCHEMES = new Set(["redis:", "rediss:", "valkey:", "redis+tls:", "redis+unix:", "redis+tls+unix:"]);
const WARN_EVERY_MS = 60_000;

/** The URL for logs and errors: the password never appears. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/** Refuses a URL Bun's client cannot use, with the accepted forms (the password is not echoed). */
export function checkRedisUrl(url: string): void {
  const form = "expected redis://[USER:PASSWORD@]HOST:PORT[/DB] (or rediss://, valkey://, redis+tls://, redis+unix:///PATH)";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RignodeError("config", `--telemetry-redis ${redactRedisUrl(url)} is not a URL; ${form}`);
  }
  if (!SCHEMES.has(u.protocol)) throw new RignodeError("config", `--telemetry-redis: scheme ${u.protocol} is not one Redis speaks; ${form}`);
  if (u.protocol.endsWith("unix:") ? u.pathname.length <= 1 : u.hostname === "")
    throw new RignodeError("config", `--telemetry-redis ${redactRedisUrl(url)} names no ${u.protocol.endsWith("unix:") ? "socket path" : "host"}; ${form}`);
}

/** The three keys (and channels) of one rig. */
export function telemetryKeys(rig: string): { last: string; advice: string; actions: string } {
  return { last: `telemetry:last:${rig}`, advice: `telemetry:advice:${rig}`, actions: `telemetry:actions:${rig}` };
}

interface Payload {
  last: string | null;
  advice: string;
  actions: string;
}

export class TelemetryRedis {
  readonly keys: ReturnType<typeof telemetryKeys>;
  private readonly shown: string;
  private readonly ttl: string;
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private client: RedisClient | null = null;
  private pending: Payload | null = null;
  private running: Promise<void> | null = null;
  private retryAt = 0;
  private downSince: number | null = null;
  private lastWarn = -Infinity;
  private dropped = 0;
  private published = 0;
  private everUp = false;
  private closed = false;
  /** What subscribers last heard on the advice and actions channels: those are announced only when they change. */
  private sentAdvice: string | null = null;
  private sentActions: string | null = null;

  constructor(private readonly url: string, rig: string, private readonly log: Logger, o: TelemetryRedisOptions = {}) {
    checkRedisUrl(url);
    if (!rig) throw new RignodeError("config", "telemetry redis: the rig name is empty (it names the keys telemetry:*:{rig})");
    this.keys = telemetryKeys(rig);
    this.shown = redactRedisUrl(url);
    this.ttl = String(Math.max(1, Math.round(o.ttlSec ?? 120)));
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.retryMs = o.retryMs ?? 5000;
    this.now = o.now ?? Date.now;
  }

  /**
   * Sends the view (snapshotted now). Never rejects and never waits on a down Redis: while a write is under way a
   * newer view replaces the queued one, so a slow server costs at most one write in flight. The promise settles when
   * this view (or the one that replaced it) was written or given up; callers on the sampling path need not await it.
   */
  publish(view: TelemetryView): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.pending = { last: view.last ? JSON.stringify(view.last) : null, advice: JSON.stringify(view.advisories), actions: JSON.stringify(view.actions) };
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  status(): TelemetryRedisStatus {
    return { url: this.shown, connected: this.client?.connected ?? false, downSince: this.downSince, dropped: this.dropped, published: this.published };
  }

  close(): void {
    this.closed = true;
    this.pending = null;
    this.client?.close();
    this.client = null;
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      const p = this.pending;
      this.pending = null;
      try {
        const client = await this.connection();
        if (!client) {
          this.dropped++;
          continue;
        }
        await within(this.write(client, p), this.timeoutMs, "write");
        this.published++;
        this.up();
      } catch (e) {
        this.dropped++;
        this.fail(e);
      }
    }
  }

  /** The open client, a new one if the retry time has come, or null while waiting to retry (drop this view). */
  private async connection(): Promise<RedisClient | null> {
    if (this.client?.connected) return this.client;
    if (this.now() < this.retryAt || this.closed) return null;
    this.client?.close();
    this.client = null;
    // Our own retry schedule: Bun's reconnect loop and offline queue would hold commands (and memory) while down.
    const c = new RedisClient(this.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: this.timeoutMs });
    try {
      await within(c.connect(), this.timeoutMs, "connect");
    } catch (e) {
      c.close();
      throw e;
    }
    if (this.closed) {
      c.close();
      return null;
    }
    this.client = c;
    return c;
  }

  private async write(c: RedisClient, p: Payload): Promise<void> {
    const ops: Promise<unknown>[] = [];
    const put = (key: string, json: string, announce: boolean) => {
      ops.push(c.send("SET", [key, json, "EX", this.ttl]));
      if (announce) ops.push(c.send("PUBLISH", [key, json]));
    };
    // The latest scored second is announced every time (a heartbeat); advice and actions when they change.
    if (p.last !== null) put(this.keys.last, p.last, true);
    put(this.keys.advice, p.advice, p.advice !== this.sentAdvice);
    put(this.keys.actions, p.actions, p.actions !== this.sentActions);
    await Promise.all(ops);
    this.sentAdvice = p.advice;
    this.sentActions = p.actions;
  }

  private up(): void {
    if (!this.everUp) {
      this.everUp = true;
      this.log.info("telemetry.redis_connected", { url: this.shown, ttl_s: Number(this.ttl) });
    }
    if (this.downSince === null) return;
    this.log.info("telemetry.redis_up", { url: this.shown, down_s: Math.round((this.now() - this.downSince) / 1000), dropped: this.dropped });
    this.downSince = null;
    this.dropped = 0;
  }

  private fail(e: unknown): void {
    const now = this.now();
    this.client?.close();
    this.client = null;
    this.retryAt = now + this.retryMs;
    this.downSince ??= now;
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    const error = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown } | null)?.code;
    this.log.warn("telemetry.redis_down", { url: this.shown, error, code: typeof code === "string" ? code : undefined, dropped: this.dropped, retry_s: this.retryMs / 1000, note: "mining goes on; telemetry:* keys are not updated until Redis answers" });
  }
}

/** `p`, or a rejection after `ms`; `p`'s own late failure is swallowed (it has been given up on). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  p.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RignodeError("unavailable", `redis ${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

import type { Socket } from "bun";
import { RignodeError, type Logger } from "../core";
import { encodeStratum, stratumDecoder, type StratumCodec } from "./codec";
import { FrameWriter } from "./framing";
import { MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES } from "./limits";

/**
 * A pool to connect to: HOST:PORT is the native msgpack port, stratum+tcp://HOST:PORT the JSON one,
 * stratum+ssl://HOST:PORT (or stratum+tls://) the JSON one over TLS.
 */
export interface PoolEndpoint {
  host: string;
  port: number;
  codec: StratumCodec;
  tls?: boolean;
}

/** Parses one pool address: `HOST:PORT` (native frames), `stratum+tcp://HOST:PORT` (Stratum V1 JSON), `stratum+ssl://` (over TLS). */
export function parsePoolUrl(s: string): PoolEndpoint {
  const m = /^(?:(stratum\+tcp|stratum\+ssl|stratum\+tls|rignode):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim());
  if (!m || Number(m[3]) > 65535 || Number(m[3]) === 0) {
    throw new RignodeError("config", `pool address '${s}' is not HOST:PORT, stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT`);
  }
  const host = m[2]!.replace(/^\[|\]$/g, "");
  if (m[1] === "stratum+ssl" || m[1] === "stratum+tls") return { host, port: Number(m[3]), codec: "json", tls: true };
  return { host, port: Number(m[3]), codec: m[1] === "stratum+tcp" ? "json" : "native" };
}

/** What mining.notify carries, in Stratum V1's byte orders (the pool builds it, the client reads it). */
export interface NotifyFields {
  jobId: string;
  /** Previous block hash: internal bytes with every 4-byte word byte-swapped (what miners expect). */
  prevHash: string;
  coinb1: string;
  coinb2: string;
  /** Sibling hashes from the coinbase up, internal byte order. */
  merkleBranch: string[];
  /** version, nbits, ntime: big-endian hex of the u32. */
  version: string;
  nbits: string;
  ntime: string;
}

/** Work from the pool, ready to be turned into headers. */
export interface PoolWork extends NotifyFields {
  clean: boolean;
  /** Difficulty in force for this job (the last set_difficulty before its notify). */
  difficulty: number;
  extranonce1: string;
  extranonce2Size: number;
}

/**
 * Any value a pool sent as text, without throwing: the native codec decodes maps without a prototype (String() throws
 * on them) and integers past 2^53 as bigints (JSON.stringify throws on them).
 */
function textOf(x: unknown): string {
  if (typeof x === "string") return x;
  if (typeof x !== "object" || x === null) return String(x);
  return JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
}

/** The code and text of a Stratum error: `[code, message, data]`, ckpool's bare string, or anything else. */
export function stratumErrorText(error: unknown): { code: number | null; message: string } {
  if (Array.isArray(error)) {
    const code = typeof error[0] === "number" || typeof error[0] === "string" || typeof error[0] === "bigint" ? Number(error[0]) : NaN;
    return { code: Number.isFinite(code) ? code : null, message: textOf(error[1] ?? "").slice(0, 500) };
  }
  if (typeof error === "string") return { code: null, message: error.slice(0, 500) };
  if (error && typeof error === "object" && "message" in error) return { code: null, message: textOf((error as { message: unknown }).message).slice(0, 500) };
  return { code: null, message: error == null ? "no reason given" : textOf(error).slice(0, 500) };
}

/**
 * A pool's text that says this connection is banned ("Banned: <reason> (N s)", from an error or client.show_message):
 * the reason, and the seconds when the pool gives them.
 */
export function parseBan(text: string): { reason: string; seconds: number | null } | null {
  // rignode pools say "Banned worker A.rig: reason (59 s left)"; others "Banned: reason (60 s)".
  const m = /^\s*banned\b[\s:,-]*(.*?)\s*(?:\((\d+(?:\.\d+)?)\s*s(?:\s+left)?\)\s*)?$/i.exec(text);
  if (!m) return null;
  return { reason: m[1] || "no reason given", seconds: m[2] !== undefined ? Number(m[2]) : null };
}

/** Longest wait a ban makes the client keep away from a pool (a pool that says a year means "not today"). */
const MAX_BAN_WAIT_S = 24 * 3600;

export type SubmitResult = { status: "accepted" } | { status: "rejected" | "stale"; code: number; message: string } | { status: "lost"; message: string };

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

interface Pending {
  resolve(r: { result: unknown; error: unknown }): void;
}

/**
 * A Stratum V1 client over either codec: subscribe, authorize, notify/set_difficulty/set_extranonce/
 * client.reconnect, submit with the answer per share. On a lost connection it reconnects with backoff and
 * fails over down the list; from a backup it returns to the first pool as soon as that one answers again.
 */
export class StratumClient {
  private socket: Socket<unknown> | null = null;
  private writer: FrameWriter | null = null;
  private index = 0;
  private attempt = 0;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private difficulty = 1;
  private extranonce1 = "";
  private extranonce2Size = 4;
  private authorized = false;
  private lastNotify: unknown[] | null = null;
  private authRefusals = 0;
  /** Per pool index: until when (ms since the epoch) the pool said we are banned. */
  private bannedUntil = new Map<number, number>();
  /** This connection: a message decoded, the first byte seen, the pool texts already logged. */
  private gotMessage = false;
  private firstByte: number | null = null;
  private said = new Set<string>();
  /** Endpoints already given a protocol hint (once each, then at debug). */
  private hinted = new Set<string>();
  /** Connections made (the first included) and the pool now in use. */
  connects = 0;
  current: PoolEndpoint | null = null;

  constructor(private readonly o: ClientOptions) {
    if (!o.pools.length) throw new RignodeError("config", "at least one pool is needed");
  }

  start(): void {
    this.connect(0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.handshakeTimer]) if (t) clearTimeout(t);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.socket?.end();
    this.socket = null;
    this.failPending("client stopped");
  }

  isConnected(): boolean {
    return this.socket !== null && this.authorized;
  }

  /** The share difficulty the pool set last (what new work is mined at). */
  shareDifficulty(): number {
    return this.difficulty;
  }

  private suggested: number | null = null;

  /**
   * Asks the pool for a share difficulty (mining.suggest_difficulty), now and after every reconnect: a worker that
   * knows its hashrate need not wait for vardiff to find it.
   */
  suggestDifficulty(d: number): void {
    if (!Number.isFinite(d) || d <= 0) return;
    this.suggested = d;
    if (this.socket && this.authorized) void this.request("mining.suggest_difficulty", [d]);
  }

  /** Submits a share; resolves with the pool's answer (or "lost" when the connection goes first). */
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string): Promise<SubmitResult> {
    if (!this.socket || !this.authorized) return Promise.resolve({ status: "lost", message: "not connected" });
    return this.request("mining.submit", [this.o.user, jobId, extranonce2, ntime, nonce]).then(({ result, error }) => {
      if (result === true && !error) return { status: "accepted" } as const;
      const e = stratumErrorText(error ?? "rejected");
      const code = e.code ?? 20;
      const message = e.message;
      return { status: code === 21 && /stale/i.test(message) ? "stale" : "rejected", code, message } as const;
    });
  }

  private request(method: string, params: unknown[]): Promise<{ result: unknown; error: unknown }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      const refused = this.send({ id, method, params });
      if (refused) {
        this.pending.delete(id);
        resolve({ result: null, error: [-1, refused, null] });
      }
    });
  }

  /**
   * Sends a message; the reason when it cannot be encoded within the cap (e.g. an answer echoing a pool's 20 KB id):
   * said and dropped, never thrown into the socket's data callback.
   */
  private send(m: unknown): string | null {
    if (!this.socket || !this.writer || !this.current) return null;
    let bytes: Uint8Array;
    try {
      bytes = encodeStratum(this.current.codec, m, MAX_MINER_MESSAGE_BYTES);
    } catch (e) {
      this.o.log.warn("worker.unsendable", { pool: this.describe(), error: (e as Error).message });
      return (e as Error).message;
    }
    if (!this.writer.send(bytes)) this.socket.end();
    return null;
  }

  private failPending(message: string): void {
    const p = this.pending;
    this.pending = new Map();
    for (const x of p.values()) x.resolve({ result: null, error: [-1, message, null] });
  }

  private connect(index: number): void {
    if (this.stopped) return;
    this.index = index;
    const ep = this.o.pools[index]!;
    const decoder = stratumDecoder(ep.codec, this.o.maxBytes ?? MAX_POOL_MESSAGE_BYTES);
    let opened = false;
    Bun.connect({
      hostname: ep.host,
      port: ep.port,
      // The pool's certificate is checked (against --tls-ca when given, else the system's CAs) and its name too.
      ...(ep.tls ? { tls: { rejectUnauthorized: true, serverName: ep.host, ...(this.o.tlsCa ? { ca: this.o.tlsCa } : {}) } } : {}),
      socket: {
        handshake: (socket, success, err) => {
          // Over TLS the Stratum handshake waits for the TLS one: bytes written before it completes are lost.
          if (success) {
            if (socket !== this.socket || this.stopped) return;
            if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
            return void this.handshake();
          }
          const why = err?.message ?? "handshake failed";
          const hint = /self[- ]signed|unable to (get|verify)|certificate|issuer/i.test(why)
            ? this.o.tlsCa ? " (not signed by --tls-ca)" : "; a pool with a self-signed certificate needs --tls-ca FILE (that certificate)"
            : `; is ${ep.host}:${ep.port} a TLS port? (a plain Stratum V1 port is stratum+tcp://)`;
          // Once per pool at warn (it reconnects with backoff), then at debug.
          const key = `tls ${ep.host}:${ep.port}`;
          this.o.log[this.hinted.has(key) ? "debug" : "warn"]("worker.tls_failed", { pool: `${ep.host}:${ep.port}`, error: `${why}${hint}` });
          this.hinted.add(key);
          socket.end();
        },
        open: (socket) => {
          opened = true;
          if (this.stopped) return void socket.end();
          this.socket = socket as Socket<unknown>;
          this.writer = new FrameWriter(socket, 4 << 20);
          this.current = ep;
          this.connects++;
          this.authorized = false;
          this.gotMessage = false;
          this.firstByte = null;
          this.said.clear();
          this.o.log.info("worker.connected", { pool: `${ep.host}:${ep.port}`, protocol: ep.codec, tls: ep.tls === true });
          if (!ep.tls) return void this.handshake();
          // A port that accepts TCP but never answers TLS (a plain Stratum port) must not hold the worker forever.
          const ms = this.o.handshakeTimeoutMs ?? 10_000;
          this.handshakeTimer = setTimeout(() => {
            if (this.socket !== socket || this.authorized) return;
            this.o.log.warn("worker.tls_failed", { pool: `${ep.host}:${ep.port}`, error: `no TLS handshake within ${ms / 1000} s; is it a plain port (stratum+tcp://)?` });
            socket.end();
          }, ms);
        },
        data: (socket, chunk) => {
          if (socket !== this.socket) return;
          if (this.firstByte === null && chunk.length) this.firstByte = chunk[0]!;
          let msgs: unknown[];
          try {
            msgs = decoder.push(chunk);
          } catch (e) {
            this.o.log.warn("worker.bad_message", { pool: this.describe(), error: (e as Error).message });
            // A JSON line where a native frame was expected: this is a Stratum V1 port.
            if (ep.codec === "native" && !this.gotMessage && this.firstByte === 0x7b) this.protocolHint(`${this.describe()} answered in Stratum V1 JSON: it is a JSON port; use stratum+tcp://${this.describe()}`);
            socket.end();
            return;
          }
          for (const m of msgs) this.onMessage(m);
        },
        drain: (socket) => {
          if (socket === this.socket) this.writer?.drain();
        },
        close: (socket) => this.lost(socket as Socket<unknown>, "closed"),
        error: (socket, e) => this.lost(socket as Socket<unknown>, e.message),
        connectError: (_s, e) => {
          if (!opened) this.retry(`cannot connect to ${ep.host}:${ep.port}: ${e.message}`);
        },
      },
    }).catch((e: Error) => {
      if (!opened) this.retry(`cannot connect to ${ep.host}:${ep.port}: ${e.message}`);
    });
  }

  private async handshake(): Promise<void> {
    const sock = this.socket;
    this.handshakeTimer = setTimeout(() => {
      if (this.socket === sock && !this.authorized) {
        this.o.log.warn("worker.handshake_timeout", { pool: this.describe() });
        sock?.end();
      }
    }, this.o.handshakeTimeoutMs ?? 10_000);
    const sub = await this.request("mining.subscribe", [this.o.userAgent ?? "rignode"]);
    if (this.socket !== sock) return;
    const r = sub.result;
    if (!Array.isArray(r) || typeof r[1] !== "string" || typeof r[2] !== "number") {
      this.o.log.warn("worker.subscribe_failed", { pool: this.describe(), error: JSON.stringify(sub.error) });
      return void sock?.end();
    }
    this.extranonce1 = r[1];
    this.extranonce2Size = r[2];
    const auth = await this.request("mining.authorize", [this.o.user, this.o.password]);
    if (this.socket !== sock) return;
    if (auth.result !== true) return this.refused(sock, auth.error);
    this.authorized = true;
    this.attempt = 0;
    this.authRefusals = 0;
    if (this.suggested !== null) void this.request("mining.suggest_difficulty", [this.suggested]);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.index !== 0 && !this.probeTimer) this.probeTimer = setInterval(() => this.probePrimary(), this.o.primaryRetryMs ?? 30_000);
    // Work that came before the authorize answer is used now.
    if (this.lastNotify) this.onNotify(this.lastNotify);
  }

  /** The pool refused the user: say why; after maxAuthFailures refusals in a row, give up. */
  private refused(sock: Socket<unknown> | null, error: unknown): void {
    const e = error == null ? { code: null, message: "authorize answered false (no reason given)" } : stratumErrorText(error);
    // A ban is not a wrong user: wait it out (the reconnect keeps away until it ends), never give up over it.
    const ban = parseBan(e.message);
    if (ban) {
      this.banned(ban);
      return void sock?.end();
    }
    const limit = this.o.maxAuthFailures ?? Infinity;
    this.authRefusals++;
    this.o.log.error("worker.unauthorized", {
      pool: this.describe(), user: this.o.user, code: e.code ?? undefined, reason: e.message,
      attempt: Number.isFinite(limit) ? `${this.authRefusals}/${limit}` : this.authRefusals,
    });
    if (this.authRefusals >= limit) {
      const pools = this.o.pools.length > 1 ? `the pools (${this.o.pools.length})` : `the pool ${this.describe()}`;
      const msg =
        `${pools} refused user '${this.o.user}' ${this.authRefusals} times in a row (last: ${this.describe()}: ${e.message}); ` +
        "check --user (the payout address, optionally .NAME) and --password, or pass --retry-forever to keep trying";
      this.o.log.error("worker.giving_up", { reason: msg });
      this.stop();
      this.o.onFatal?.(new RignodeError("refused", msg));
      return;
    }
    sock?.end();
  }

  private describe(): string {
    return this.current ? `${this.current.host}:${this.current.port}` : "none";
  }

  /**
   * Text from the pool meant for people (client.show_message, an error with no request id): logged once per
   * connection; a ban is shown as such (and kept away from until it ends); a hint about the other protocol too.
   */
  private poolSays(text: string, via: "show_message" | "error"): void {
    if (this.said.has(text)) return;
    this.said.add(text);
    const ban = parseBan(text);
    if (ban) return this.banned(ban);
    this.o.log.warn("worker.pool_message", { pool: this.describe(), via, message: text });
    const hp = this.describe();
    if (this.current?.codec === "json" && /native port/i.test(text)) this.protocolHint(`${hp} is rignode's native port: use --pool ${hp} (without stratum+tcp://)`);
    if (this.current?.codec === "native" && /JSON port/i.test(text)) this.protocolHint(`${hp} is a Stratum V1 JSON port: use stratum+tcp://${hp}`);
  }

  private banned(ban: { reason: string; seconds: number | null }): void {
    const key = `banned ${ban.reason}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    if (ban.seconds !== null) this.bannedUntil.set(this.index, Date.now() + Math.min(ban.seconds, MAX_BAN_WAIT_S) * 1000);
    this.o.log.warn("worker.banned", { pool: this.describe(), reason: ban.reason, seconds: ban.seconds ?? undefined });
  }

  private protocolHint(hint: string): void {
    const key = this.describe();
    if (this.hinted.has(key)) return void this.o.log.debug("worker.wrong_protocol", { pool: key, hint });
    this.hinted.add(key);
    this.o.log.warn("worker.wrong_protocol", { pool: key, hint });
  }

  private onMessage(m: unknown): void {
    if (typeof m !== "object" || m === null) return;
    this.gotMessage = true;
    const { id, method, params, result, error } = m as Record<string, unknown>;
    if (error !== null && error !== undefined && typeof method !== "string") {
      const text = stratumErrorText(error).message;
      // An error with no request id is the pool talking to people; one answering a request may carry a ban.
      if (id === null || id === undefined) this.poolSays(text, "error");
      else {
        const ban = parseBan(text);
        if (ban) this.banned(ban);
      }
    }
    if (typeof method === "string") {
      const p = Array.isArray(params) ? params : [];
      switch (method) {
        case "mining.set_difficulty":
          if (typeof p[0] === "number" && p[0] > 0) this.difficulty = p[0];
          return;
        case "mining.notify":
          this.lastNotify = p;
          if (this.authorized) this.onNotify(p);
          return;
        case "mining.set_extranonce":
          if (typeof p[0] === "string") this.extranonce1 = p[0];
          if (typeof p[1] === "number") this.extranonce2Size = p[1];
          return;
        case "client.reconnect":
          return this.onReconnect(p);
        case "client.show_message":
          if (typeof p[0] === "string") this.poolSays(p[0].slice(0, 500), "show_message");
          return;
        default:
          // A request we do not serve: answer it with an error rather than ignore it (ids echoed).
          if (id !== undefined && id !== null) this.send({ id, result: null, error: [20, `unsupported method ${method.slice(0, 64)}`, null] });
          return;
      }
    }
    if (typeof id === "number") {
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        p.resolve({ result, error });
      }
    }
  }

  private onNotify(p: unknown[]): void {
    const [jobId, prevHash, coinb1, coinb2, branch, version, nbits, ntime, clean] = p;
    const strings = (xs: unknown[]) => xs.every((x) => typeof x === "string");
    if (!strings([jobId, prevHash, coinb1, coinb2, version, nbits, ntime]) || !Array.isArray(branch) || !strings(branch)) {
      this.o.log.warn("worker.bad_notify", { pool: this.describe() });
      return;
    }
    this.o.onWork({
      jobId: jobId as string, prevHash: prevHash as string, coinb1: coinb1 as string, coinb2: coinb2 as string,
      merkleBranch: branch as string[], version: version as string, nbits: nbits as string, ntime: ntime as string,
      clean: clean === true, difficulty: this.difficulty, extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size,
    });
  }

  private onReconnect(p: unknown[]): void {
    const host = typeof p[0] === "string" && p[0] ? p[0] : this.current?.host;
    const port = typeof p[1] === "number" ? p[1] : typeof p[1] === "string" ? Number(p[1]) : this.current?.port;
    const wait = typeof p[2] === "number" && Number.isFinite(p[2]) ? Math.min(Math.max(p[2], 0), 3600) : 0;
    // Only to the same host (a pool may move us to another port): a reconnect to anywhere else is an attack vector.
    if (!host || host !== this.current?.host || !this.current) return;
    // Only to a port a socket can take: Bun.connect throws on any other, in the timer, and the worker would exit.
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return;
    this.o.log.info("worker.reconnect_requested", { pool: `${host}:${port}`, wait_s: wait });
    const codec = this.current.codec;
    this.o.pools[this.index] = { host, port, codec };
    const sock = this.socket;
    this.socket = null;
    sock?.end();
    this.failPending("pool asked to reconnect");
    this.o.onDisconnect?.();
    this.reconnectTimer = setTimeout(() => this.connect(this.index), wait * 1000);
  }

  private lost(socket: Socket<unknown>, why: string): void {
    if (socket !== this.socket) return;
    // Closed (or timed out) before one intelligible message: perhaps the other protocol listens there.
    // (Over TLS a failed handshake was said already, and no other rignode protocol speaks TLS.)
    if (!this.authorized && !this.gotMessage && this.current && !this.current.tls) {
      const hp = this.describe();
      this.protocolHint(
        this.current.codec === "native"
          ? `no native answer from ${hp} — if this is a Stratum V1 JSON port, use stratum+tcp://${hp}`
          : `no Stratum V1 answer from ${hp} — if this is rignode's native port, use --pool ${hp} (without stratum+tcp://)`,
      );
    }
    this.socket = null;
    this.writer = null;
    this.authorized = false;
    this.lastNotify = null;
    this.failPending(`connection lost: ${why}`);
    this.o.onDisconnect?.();
    this.retry(`connection to ${this.describe()} lost: ${why}`);
  }

  private retry(why: string): void {
    if (this.stopped) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const min = this.o.backoffMinMs ?? 1000;
    const max = this.o.backoffMaxMs ?? 30_000;
    // One pass down the list without waiting long; the backoff grows with each full pass that fails.
    const next = (this.index + 1) % this.o.pools.length;
    let delay = next === 0 || this.o.pools.length === 1 ? Math.min(max, min * 2 ** Math.min(this.attempt++, 16)) : min;
    // A pool that banned us for a while is not asked again before the ban ends.
    const ban = (this.bannedUntil.get(next) ?? 0) - Date.now();
    if (ban > 0) delay = Math.max(delay, ban);
    else this.bannedUntil.delete(next);
    this.o.log.warn("worker.pool_down", { reason: why, next: `${this.o.pools[next]!.host}:${this.o.pools[next]!.port}`, retry_ms: delay });
    this.reconnectTimer = setTimeout(() => this.connect(next), delay);
  }

  /** From a backup: if the first pool accepts a TCP connection again, move back to it. */
  private probePrimary(): void {
    if (this.index === 0 || this.stopped) {
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = null;
      return;
    }
    const ep = this.o.pools[0]!;
    if ((this.bannedUntil.get(0) ?? 0) > Date.now()) return;
    Bun.connect({
      hostname: ep.host,
      port: ep.port,
      ...(ep.tls ? { tls: { rejectUnauthorized: true, serverName: ep.host, ...(this.o.tlsCa ? { ca: this.o.tlsCa } : {}) } } : {}),
      socket: {
        open: (s) => {
          s.end();
          if (this.index === 0 || this.stopped) return;
          this.o.log.info("worker.primary_back", { pool: `${ep.host}:${ep.port}` });
          if (this.probeTimer) clearInterval(this.probeTimer);
          this.probeTimer = null;
          const sock = this.socket;
          this.socket = null;
          sock?.end();
          this.failPending("moving back to the first pool");
          this.o.onDisconnect?.();
          this.connect(0);
        },
        data: () => {},
        connectError: () => {},
      },
    }).catch(() => {});
  }
}

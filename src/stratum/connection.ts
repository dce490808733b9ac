import type { Socket } from "bun";
import type { Logger } from "../core";
import { encodeStratum, stratumDecoder } from "./codec";
import { FrameWriter } from "./framing";
import { MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES } from "./limits";
import { hostPort, tlsOptions, type PoolEndpoint } from "./endpoint";
import { parseBan, stratumErrorText, type Ban, type ProtocolHints } from "./pool-says";
import { readNotify, readSubmitAnswer, type PoolWork, type SubmitResult } from "./work";

/** What a connection tells its owner (the failover policy). Nothing is told after the owner closed it. */
export interface ConnectionEvents {
  /** TCP is up (a TLS handshake may still follow). */
  opened(): void;
  /** Subscribed and authorized: shares may be submitted. */
  ready(): void;
  work(w: PoolWork): void;
  /** The pool said this connection is banned (logged already). */
  banned(ban: Ban): void;
  /** The pool refused the user, not over a ban; the connection ends after this unless the owner closed it. */
  refused(e: { code: number | null; message: string }): void;
  /** The pool asked (client.reconnect) to be reached at `to` (same host) after `waitS` seconds. */
  move(to: PoolEndpoint, waitS: number): void;
  /** The connection ended by itself (lost, refused, never opened): why, for the log. */
  ended(why: string): void;
}

export interface ConnectionOptions {
  endpoint: PoolEndpoint;
  user: string;
  password: string;
  log: Logger;
  userAgent?: string;
  maxBytes?: number;
  handshakeTimeoutMs?: number;
  tlsCa?: string;
  /** Share difficulty until the pool sets one (what the previous connection had). */
  difficulty: number;
  /** Wrong-protocol and TLS hints, kept across connections (each once at warn). */
  hints: ProtocolHints;
  events: ConnectionEvents;
}

/**
 * Stratum V1 on one connection, either codec, plain or TLS: subscribe, authorize, submit; set_difficulty, notify,
 * set_extranonce, client.reconnect, client.show_message, bans and requests awaiting their answer. It never
 * reconnects: when it ends, its owner decides where to go next.
 */
export class PoolConnection {
  private socket: Socket<unknown> | null = null;
  private writer: FrameWriter | null = null;
  private nextId = 1;
  private pending = new Map<number, (r: { result: unknown; error: unknown }) => void>();
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private extranonce1 = "";
  private extranonce2Size = 4;
  private lastNotify: unknown[] | null = null;
  /** A message decoded, the first byte seen, the pool texts already logged (this connection). */
  private gotMessage = false;
  private firstByte: number | null = null;
  private said = new Set<string>();
  /** TCP came up; subscribed and authorized. */
  opened = false;
  authorized = false;
  /** The share difficulty the pool set last. */
  difficulty: number;

  constructor(private readonly o: ConnectionOptions) {
    this.difficulty = o.difficulty;
    const ep = o.endpoint;
    const decoder = stratumDecoder(ep.codec, o.maxBytes ?? MAX_POOL_MESSAGE_BYTES);
    const unreachable = (e: Error) => {
      if (!this.opened) this.end(`cannot connect to ${this.describe()}: ${e.message}`);
    };
    Bun.connect({
      hostname: ep.host,
      port: ep.port,
      ...tlsOptions(ep, o.tlsCa),
      socket: {
        handshake: (socket, success, err) => this.tlsDone(socket as Socket<unknown>, success, err),
        open: (socket) => this.open(socket as Socket<unknown>),
        data: (_socket, chunk) => {
          if (this.closed) return;
          if (this.firstByte === null && chunk.length) this.firstByte = chunk[0]!;
          let msgs: unknown[];
          try {
            msgs = decoder.push(chunk);
          } catch (e) {
            this.o.log.warn("worker.bad_message", { pool: this.describe(), error: (e as Error).message });
            // A JSON line where a native frame was expected: this is a Stratum V1 port.
            if (ep.codec === "native" && !this.gotMessage && this.firstByte === 0x7b) this.o.hints.jsonOnNativePort(ep);
            return void this.socket?.end();
          }
          for (const m of msgs) this.onMessage(m);
        },
        drain: () => {
          if (!this.closed) this.writer?.drain();
        },
        close: () => this.lost("closed"),
        error: (_socket, e) => this.lost(e.message),
        // Bun reports a failed connect here and by rejecting the promise: end() tells the owner once.
        connectError: (_s, e) => unreachable(e),
      },
    }).catch(unreachable);
  }

  /** Ends the connection from the owner's side: requests awaiting an answer end as lost with `why`; nothing more is told. */
  close(why: string): void {
    this.closed = true;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.socket?.end();
    this.socket = null;
    this.writer = null;
    this.authorized = false;
    this.failPending(why);
  }

  /** Submits a share; resolves with the pool's answer (or "lost" when the connection goes first). */
  submit(user: string, jobId: string, extranonce2: string, ntime: string, nonce: string): Promise<SubmitResult> {
    if (!this.authorized) return Promise.resolve({ status: "lost", message: "not connected" });
    return this.request("mining.submit", [user, jobId, extranonce2, ntime, nonce]).then(({ result, error }) => readSubmitAnswer(result, error));
  }

  request(method: string, params: unknown[]): Promise<{ result: unknown; error: unknown }> {
    if (this.closed) return Promise.resolve({ result: null, error: [-1, "not connected", null] });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
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
    if (!this.socket || !this.writer) return null;
    let bytes: Uint8Array;
    try {
      bytes = encodeStratum(this.o.endpoint.codec, m, MAX_MINER_MESSAGE_BYTES);
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
    for (const resolve of p.values()) resolve({ result: null, error: [-1, message, null] });
  }

  private describe(): string {
    return hostPort(this.o.endpoint);
  }

  /** Ended by itself: said to the owner once. */
  private end(why: string): void {
    if (this.closed) return;
    this.close(why);
    this.o.events.ended(why);
  }

  private open(socket: Socket<unknown>): void {
    this.opened = true;
    if (this.closed) return void socket.end();
    const ep = this.o.endpoint;
    this.socket = socket;
    this.writer = new FrameWriter(socket, 4 << 20);
    this.o.events.opened();
    this.o.log.info("worker.connected", { pool: this.describe(), protocol: ep.codec, tls: ep.tls === true });
    if (!ep.tls) return void this.handshake();
    // A port that accepts TCP but never answers TLS (a plain Stratum port) must not hold the worker forever.
    const ms = this.o.handshakeTimeoutMs ?? 10_000;
    this.handshakeTimer = setTimeout(() => {
      if (this.closed || this.authorized) return;
      this.o.log.warn("worker.tls_failed", { pool: this.describe(), error: `no TLS handshake within ${ms / 1000} s; is it a plain port (stratum+tcp://)?` });
      socket.end();
    }, ms);
  }

  private tlsDone(socket: Socket<unknown>, success: boolean, err: Error | null | undefined): void {
    // Over TLS the Stratum handshake waits for the TLS one: bytes written before it completes are lost.
    if (success) {
      if (this.closed) return;
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      return void this.handshake();
    }
    this.o.hints.tlsFailed(this.o.endpoint, err?.message ?? "handshake failed", this.o.tlsCa !== undefined);
    socket.end();
  }

  private async handshake(): Promise<void> {
    const sock = this.socket;
    this.handshakeTimer = setTimeout(() => {
      if (!this.closed && !this.authorized) {
        this.o.log.warn("worker.handshake_timeout", { pool: this.describe() });
        sock?.end();
      }
    }, this.o.handshakeTimeoutMs ?? 10_000);
    const sub = await this.request("mining.subscribe", [this.o.userAgent ?? "rignode"]);
    if (this.closed) return;
    const r = sub.result;
    if (!Array.isArray(r) || typeof r[1] !== "string" || typeof r[2] !== "number") {
      this.o.log.warn("worker.subscribe_failed", { pool: this.describe(), error: JSON.stringify(sub.error) });
      return void sock?.end();
    }
    this.extranonce1 = r[1];
    this.extranonce2Size = r[2];
    const auth = await this.request("mining.authorize", [this.o.user, this.o.password]);
    if (this.closed) return;
    if (auth.result !== true) return this.refused(auth.error);
    this.authorized = true;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.o.events.ready();
    // Work that came before the authorize answer is used now.
    if (this.lastNotify && !this.closed) this.onNotify(this.lastNotify);
  }

  /** The pool refused the user: a ban is waited out (never counted as a refusal); anything else goes to the owner. */
  private refused(error: unknown): void {
    const e = error == null ? { code: null, message: "authorize answered false (no reason given)" } : stratumErrorText(error);
    const ban = parseBan(e.message);
    if (ban) this.banned(ban);
    else this.o.events.refused(e);
    if (!this.closed) this.socket?.end();
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
    this.o.hints.poolText(this.o.endpoint, text);
  }

  private banned(ban: Ban): void {
    const key = `banned ${ban.reason}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    this.o.events.banned(ban);
    this.o.log.warn("worker.banned", { pool: this.describe(), reason: ban.reason, seconds: ban.seconds ?? undefined });
  }

  private onMessage(m: unknown): void {
    if (this.closed || typeof m !== "object" || m === null) return;
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
      const resolve = this.pending.get(id);
      if (resolve) {
        this.pending.delete(id);
        resolve({ result, error });
      }
    }
  }

  private onNotify(p: unknown[]): void {
    const w = readNotify(p, { difficulty: this.difficulty, extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size });
    if (w) this.o.events.work(w);
    else this.o.log.warn("worker.bad_notify", { pool: this.describe() });
  }

  private onReconnect(p: unknown[]): void {
    const ep = this.o.endpoint;
    const host = typeof p[0] === "string" && p[0] ? p[0] : ep.host;
    const port = typeof p[1] === "number" ? p[1] : typeof p[1] === "string" ? Number(p[1]) : ep.port;
    const wait = typeof p[2] === "number" && Number.isFinite(p[2]) ? Math.min(Math.max(p[2], 0), 3600) : 0;
    // Only to the same host (a pool may move us to another port): a reconnect to anywhere else is an attack vector.
    if (!host || host !== ep.host) return;
    // Only to a port a socket can take: Bun.connect throws on any other, in the timer, and the worker would exit.
    if (!Number.isInteger(port) || port < 1 || port > 65535) return;
    this.o.log.info("worker.reconnect_requested", { pool: `${host}:${port}`, wait_s: wait });
    this.o.events.move({ ...ep, host, port }, wait);
  }

  private lost(why: string): void {
    if (this.closed) return;
    // Closed (or timed out) before one intelligible message: perhaps the other protocol listens there.
    // (Over TLS a failed handshake was said already, and no other rignode protocol speaks TLS.)
    if (!this.authorized && !this.gotMessage && !this.o.endpoint.tls) this.o.hints.noAnswer(this.o.endpoint);
    this.socket = null;
    this.failPending(`connection lost: ${why}`);
    this.end(`connection to ${this.describe()} lost: ${why}`);
  }
}

// One Stratum V1 session, independent of the codec (JSON lines or msgpack frames) and of the pool behind it:
// method shapes, the orders real miners use, ids echoed verbatim, errors as [code, message, null].

import { RignodeError } from "../core";

/** The de-facto error codes every Stratum V1 pool uses. */
export const STRATUM_ERROR = {
  other: 20,
  jobNotFound: 21,
  duplicate: 22,
  lowDifficulty: 23,
  unauthorized: 24,
  notSubscribed: 25,
} as const;

/**
 * A request the pool turns down, with the Stratum code the session answers it with. One error type: a RignodeError
 * ("refused") that also carries its wire code, so every edge maps it the same way (HTTP workers: 409).
 */
export class StratumError extends RignodeError {
  constructor(
    readonly stratumCode: number,
    message: string,
  ) {
    super("refused", message, { details: { stratum_code: String(stratumCode) } });
  }
}

export type Outgoing =
  | { id: unknown; result: unknown; error: null | [number, string, null] }
  | { id: null; method: string; params: unknown[] };

export interface SubmitParams {
  worker: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string;
}

/** What the pool provides to a session. */
export interface SessionHandler {
  /** extranonce1 (hex, unique per connection) and the extranonce2 size. */
  subscribe(s: StratumSession, userAgent: string | undefined): { extranonce1: string; extranonce2Size: number };
  /** Whether `user` (payout address[.worker]) may mine; the password may carry d=DIFF. */
  authorize(s: StratumSession, user: string, password: string): boolean | Promise<boolean>;
  /** Checks and records a share; resolves when it is durable. Throws StratumError to reject. */
  submit(s: StratumSession, p: SubmitParams): Promise<void>;
  suggestDifficulty(s: StratumSession, d: number): void;
  /** The version bits the pool lets miners roll (BIP310), e.g. 0x1fffe000. */
  versionMask: number;
}

/** A Stratum V1 session: feed it parsed requests, it answers through `send`. */
export class StratumSession {
  subscribed = false;
  extranonce1 = "";
  readonly workers = new Set<string>();
  /** Negotiated version-rolling mask (0: no rolling). */
  versionMask = 0;
  extranonceSubscribed = false;
  userAgent: string | undefined;

  constructor(
    private readonly send: (m: Outgoing) => void,
    private readonly handler: SessionHandler,
  ) {}

  /** Handles one decoded message. Never throws for bad input: it answers with an error instead. */
  async handle(msg: unknown): Promise<void> {
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return;
    const { id, method, params } = msg as { id?: unknown; method?: unknown; params?: unknown };
    const reply = (result: unknown) => this.send({ id: id ?? null, result, error: null });
    const fail = (code: number, message: string) => this.send({ id: id ?? null, result: null, error: [code, message, null] });
    if (typeof method !== "string") return fail(STRATUM_ERROR.other, "method must be a string");
    const p = Array.isArray(params) ? params : [];
    try {
      switch (method) {
        case "mining.configure":
          return reply(this.configure(p));
        case "mining.subscribe": {
          this.userAgent = typeof p[0] === "string" ? p[0].slice(0, 128) : undefined;
          const sub = this.handler.subscribe(this, this.userAgent);
          this.subscribed = true;
          this.extranonce1 = sub.extranonce1;
          return reply([[["mining.set_difficulty", sub.extranonce1], ["mining.notify", sub.extranonce1]], sub.extranonce1, sub.extranonce2Size]);
        }
        case "mining.authorize": {
          if (typeof p[0] !== "string" || p[0].length > 200) return fail(STRATUM_ERROR.other, "authorize needs [user, password]");
          const r = this.handler.authorize(this, p[0], typeof p[1] === "string" ? p[1] : "");
          // Synchronous when it can be: a submit right behind the authorize in the same read must see it.
          const ok = typeof r === "boolean" ? r : await r;
          if (ok) this.workers.add(p[0]);
          return ok ? reply(true) : fail(STRATUM_ERROR.unauthorized, "Unauthorized worker");
        }
        case "mining.suggest_difficulty": {
          const d = Number(p[0]);
          if (!Number.isFinite(d) || d <= 0) return fail(STRATUM_ERROR.other, "difficulty must be a positive number");
          this.handler.suggestDifficulty(this, d);
          return reply(true);
        }
        case "mining.extranonce.subscribe":
          this.extranonceSubscribed = true;
          return reply(true);
        case "mining.submit": {
          if (!this.subscribed) return fail(STRATUM_ERROR.notSubscribed, "Not subscribed");
          const [worker, jobId, en2, ntime, nonce, vbits] = p;
          if (![worker, jobId, en2, ntime, nonce].every((x) => typeof x === "string") || (vbits !== undefined && typeof vbits !== "string")) {
            return fail(STRATUM_ERROR.other, "submit needs [worker, job_id, extranonce2, ntime, nonce(, version_bits)] as strings");
          }
          if (!this.workers.has(worker as string)) return fail(STRATUM_ERROR.unauthorized, "Unauthorized worker");
          if (this.versionMask !== 0 && vbits === undefined) return fail(STRATUM_ERROR.other, "version_bits required with version rolling");
          await this.handler.submit(this, {
            worker: worker as string, jobId: jobId as string, extranonce2: en2 as string, ntime: ntime as string, nonce: nonce as string,
            versionBits: vbits as string | undefined,
          });
          return reply(true);
        }
        case "mining.get_transactions":
        case "mining.multi_version":
          return fail(STRATUM_ERROR.other, `${method} is not supported`);
        default:
          return fail(STRATUM_ERROR.other, `Unknown method ${method.slice(0, 64)}`);
      }
    } catch (e) {
      if (e instanceof StratumError) return fail(e.stratumCode, e.message);
      return fail(STRATUM_ERROR.other, (e as Error).message ?? "error");
    }
  }

  private configure(p: unknown[]): Record<string, unknown> {
    const exts = Array.isArray(p[0]) ? (p[0] as unknown[]).filter((x): x is string => typeof x === "string") : [];
    const opts = (typeof p[1] === "object" && p[1] !== null ? p[1] : {}) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const ext of exts) {
      if (ext === "version-rolling") {
        const asked = typeof opts["version-rolling.mask"] === "string" ? parseInt(opts["version-rolling.mask"] as string, 16) >>> 0 : 0xffffffff;
        this.versionMask = (this.handler.versionMask & asked) >>> 0;
        out["version-rolling"] = true;
        out["version-rolling.mask"] = this.versionMask.toString(16).padStart(8, "0");
      } else out[ext] = false;
    }
    return out;
  }

  /** mining.set_difficulty (applies from the next notify). */
  setDifficulty(d: number): void {
    this.send({ id: null, method: "mining.set_difficulty", params: [d] });
  }

  /** mining.notify. */
  notify(params: unknown[]): void {
    this.send({ id: null, method: "mining.notify", params });
  }

  /** client.reconnect. */
  reconnect(host: string, port: number, waitSeconds = 0): void {
    this.send({ id: null, method: "client.reconnect", params: [host, port, waitSeconds] });
  }
}

import type { Logger } from "../core";
import { hostPort, type PoolEndpoint } from "./endpoint";

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
 * Any value a pool sent as text, without throwing: the native codec decodes maps without a prototype (String() throws
 * on them) and integers past 2^53 as bigints (JSON.stringify throws on them).
 */
function textOf(x: unknown): string {
  if (typeof x === "string") return x;
  if (typeof x !== "object" || x === null) return String(x);
  return JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
}

/** A ban the pool announced: its reason, and the seconds when the pool gives them. */
export interface Ban {
  reason: string;
  seconds: number | null;
}

/**
 * A pool's text that says this connection is banned ("Banned: <reason> (N s)", from an error or client.show_message):
 * the reason, and the seconds when the pool gives them.
 */
export function parseBan(text: string): Ban | null {
  // rignode pools say "Banned worker A.rig: reason (59 s left)"; others "Banned: reason (60 s)".
  const m = /^\s*banned\b[\s:,-]*(.*?)\s*(?:\((\d+(?:\.\d+)?)\s*s(?:\s+left)?\)\s*)?$/i.exec(text);
  if (!m) return null;
  return { reason: m[1] || "no reason given", seconds: m[2] !== undefined ? Number(m[2]) : null };
}

/**
 * Hints to the operator when a port speaks another protocol (or no TLS) than the pool address says: once per pool
 * at warn, then at debug, across reconnects (the client retries with backoff and would repeat them).
 */
export class ProtocolHints {
  private given = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** A native frame was expected and a JSON line came. */
  jsonOnNativePort(ep: PoolEndpoint): void {
    this.wrongProtocol(ep, `${hostPort(ep)} answered in Stratum V1 JSON: it is a JSON port; use stratum+tcp://${hostPort(ep)}`);
  }

  /** Closed (or timed out) before one intelligible message: perhaps the other protocol listens there. */
  noAnswer(ep: PoolEndpoint): void {
    const hp = hostPort(ep);
    this.wrongProtocol(
      ep,
      ep.codec === "native"
        ? `no native answer from ${hp} — if this is a Stratum V1 JSON port, use stratum+tcp://${hp}`
        : `no Stratum V1 answer from ${hp} — if this is rignode's native port, use --pool ${hp} (without stratum+tcp://)`,
    );
  }

  /** The pool's own text names the other port. */
  poolText(ep: PoolEndpoint, text: string): void {
    const hp = hostPort(ep);
    if (ep.codec === "json" && /native port/i.test(text)) this.wrongProtocol(ep, `${hp} is rignode's native port: use --pool ${hp} (without stratum+tcp://)`);
    if (ep.codec === "native" && /JSON port/i.test(text)) this.wrongProtocol(ep, `${hp} is a Stratum V1 JSON port: use stratum+tcp://${hp}`);
  }

  /** The TLS handshake failed: why, and what to do about it (--tls-ca for a self-signed pool, else perhaps a plain port). */
  tlsFailed(ep: PoolEndpoint, why: string, tlsCa: boolean): void {
    const hint = /self[- ]signed|unable to (get|verify)|certificate|issuer/i.test(why)
      ? tlsCa ? " (not signed by --tls-ca)" : "; a pool with a self-signed certificate needs --tls-ca FILE (that certificate)"
      : `; is ${hostPort(ep)} a TLS port? (a plain Stratum V1 port is stratum+tcp://)`;
    const key = `tls ${hostPort(ep)}`;
    this.log[this.given.has(key) ? "debug" : "warn"]("worker.tls_failed", { pool: hostPort(ep), error: `${why}${hint}` });
    this.given.add(key);
  }

  private wrongProtocol(ep: PoolEndpoint, hint: string): void {
    const key = hostPort(ep);
    if (this.given.has(key)) return void this.log.debug("worker.wrong_protocol", { pool: key, hint });
    this.given.add(key);
    this.log.warn("worker.wrong_protocol", { pool: key, hint });
  }
}

import type { Logger } from "../core";

/** A configured peer as GET /api/peers shows it. */
export interface DialView {
  address: string;
  /** connecting: a dial or handshake is under way (or the first is about to start); connected: a ready link; failed: waiting to retry. */
  state: "connecting" | "connected" | "failed";
  /** Failed attempts since the last time the peer was connected (or since start). */
  failures: number;
  last_error: string | null;
  /** ISO 8601 times. */
  last_error_at: string | null;
  next_retry_at: string | null;
}

export interface DialsOptions {
  log: Logger;
  /** Milliseconds since the epoch (tests move the clock). */
  now?: () => number;
  /** First retry delay; it doubles on each failure up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** While a configured peer keeps failing, one warn line per this many ms; the failures between go to debug. */
  quietMs?: number;
}

interface DialState {
  address: string;
  configured: boolean;
  /** Id of the attempt under way (0: none): a late report of an attempt already counted is ignored. */
  attempt: number;
  attemptFailed: boolean;
  failures: number;
  delayMs: number;
  nextAt: number;
  lastError: string | null;
  lastErrorAt: number | null;
  firstFailureAt: number | null;
  lastWarnAt: number;
  quieted: number;
}

/**
 * When to dial each peer address again and what to say about it: a retry schedule that doubles from 1 s up to a
 * cap, reset by a successful handshake; the first failure of a configured peer is a warning, the next ones are
 * debug lines with one warning a minute while it stays unreachable (addresses learnt by gossip: debug only).
 */
export class Dials {
  private readonly s = new Map<string, DialState>();
  private nextAttempt = 1;
  private readonly now: () => number;

  constructor(private readonly o: DialsOptions) {
    this.now = o.now ?? Date.now;
  }

  private get(address: string, configured: boolean): DialState {
    let d = this.s.get(address);
    if (!d) {
      d = { address, configured, attempt: 0, attemptFailed: false, failures: 0, delayMs: 0, nextAt: 0, lastError: null, lastErrorAt: null, firstFailureAt: null, lastWarnAt: 0, quieted: 0 };
      this.s.set(address, d);
    }
    if (configured) d.configured = true;
    return d;
  }

  /** True when `address` may be dialled now: no attempt under way and its retry time has come. */
  due(address: string): boolean {
    const d = this.s.get(address);
    return !d || (d.attempt === 0 && d.nextAt <= this.now());
  }

  /** A dial starts; returns its attempt id for failed() and settled(). */
  started(address: string, configured: boolean): number {
    const d = this.get(address, configured);
    d.attempt = this.nextAttempt++;
    d.attemptFailed = false;
    return d.attempt;
  }

  /** The attempt is over (the socket closed, or the connect promise settled); a new one may start when due. */
  settled(address: string, attempt: number): void {
    const d = this.s.get(address);
    if (d && d.attempt === attempt) d.attempt = 0;
  }

  /** The attempt failed with `error`: schedules the retry and logs as the policy says (once per attempt). */
  failed(address: string, attempt: number, error: string): void {
    const d = this.s.get(address);
    if (!d || d.attempt !== attempt || d.attemptFailed) return;
    const now = this.now();
    d.attemptFailed = true;
    d.failures++;
    const min = this.o.minDelayMs ?? 1000;
    d.delayMs = d.failures === 1 ? min : Math.min(d.delayMs * 2, this.o.maxDelayMs ?? 10_000);
    d.nextAt = now + d.delayMs;
    d.lastError = error;
    d.lastErrorAt = now;
    d.firstFailureAt ??= now;
    const fields = { peer: address, error, failures: d.failures, retry_in_s: d.delayMs / 1000 };
    if (!d.configured) return this.o.log.debug("p2p.dial_failed", fields);
    if (d.failures === 1 || now - d.lastWarnAt >= (this.o.quietMs ?? 60_000)) {
      d.lastWarnAt = now;
      const failingFor = Math.round((now - d.firstFailureAt) / 1000);
      this.o.log.warn("p2p.dial_failed", {
        ...fields,
        failing_for_s: d.failures > 1 ? failingFor : undefined,
        debug_lines_since_last: d.quieted || undefined,
        note: d.failures === 1 ? "retrying with backoff; --log-level debug shows every retry" : "still unreachable",
      });
      d.quieted = 0;
    } else {
      d.quieted++;
      this.o.log.debug("p2p.dial_failed", fields);
    }
  }

  /** The handshake with `address` completed: the schedule starts over. Returns the failures before it. */
  connected(address: string): number {
    const d = this.s.get(address);
    if (!d) return 0;
    const before = d.failures;
    d.failures = 0;
    d.delayMs = 0;
    d.nextAt = 0;
    d.firstFailureAt = null;
    d.quieted = 0;
    return before;
  }

  /** The view of one configured peer; `connected`: a ready link to it exists now; `blockedUntil`: a ban on it ends then. */
  view(address: string, connected: boolean, blockedUntil = 0): DialView {
    const d = this.s.get(address);
    const iso = (t: number | null) => (t ? new Date(t).toISOString() : null);
    const failedNow = !connected && !!d && d.failures > 0 && (d.attempt === 0 || d.attemptFailed);
    return {
      address,
      state: connected ? "connected" : failedNow ? "failed" : "connecting",
      failures: d?.failures ?? 0,
      last_error: d?.lastError ?? null,
      last_error_at: iso(d?.lastErrorAt ?? null),
      next_retry_at: failedNow ? iso(Math.max(d!.nextAt, blockedUntil)) : null,
    };
  }
}

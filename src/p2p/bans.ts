// The P2P node's IP bans, inbound links per IP and per-second message limits: the same guard as the pool's
// (src/core/guard.ts), with P2P's settings: a flat ban (a peer that misbehaves is one that runs wrong code, not a
// miner to be eased back in), no names under an IP, and the inbound cap checked before a slot is taken.
import { Guard, SecondRate } from "../core";

export interface BansOptions {
  /** How long a ban lasts (default 3600 s). */
  banSeconds?: number;
  /** Messages a peer may send per second before it counts as flooding (default 500). */
  maxMessagesPerSecond?: number;
  /** Inbound links one IP address may hold, handshake done or not (default 8). */
  maxInboundPerIp?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/** Why a link was refused, as the `p2p.refused` line reports it. */
export interface Refusal {
  reason: string;
  limit?: number;
}

/** One peer's message count in the current second (kept on the peer, counted here). */
export type MessageWindow = SecondRate;

export class P2PBans {
  private readonly guard: Guard;
  private readonly now: () => number;
  private readonly limit: number;

  constructor(o: BansOptions = {}) {
    this.now = o.now ?? Date.now;
    const banSeconds = o.banSeconds ?? 3600;
    this.limit = o.maxInboundPerIp ?? 8;
    this.guard = new Guard({ maxPerIp: this.limit, banSeconds, firstBanSeconds: banSeconds }, this.now);
    this.rate = o.maxMessagesPerSecond ?? 500;
  }

  private readonly rate: number;

  /** A new message window for a peer whose link just opened. */
  window(): MessageWindow {
    return new SecondRate();
  }

  /** Whether `ip` is banned now. */
  banned(ip: string): boolean {
    return this.guard.ipBan(ip) !== null;
  }

  /** When the ban of `ip` in force ends (ms; 0: none), for a configured peer's next retry. */
  bannedUntil(ip: string): number {
    return this.guard.ipBan(ip)?.until ?? 0;
  }

  /** Bans `ip` for banSeconds; returns the seconds applied (0 when bans are off). */
  ban(ip: string, reason: string): number {
    const b = this.guard.banIp(ip, reason);
    return b ? Math.round((b.until - b.since) / 1000) : 0;
  }

  /** Takes an inbound slot for `ip`: the refusal (banned, too many links from it), or null. Give it back with release. */
  admit(ip: string): Refusal | null {
    if (this.banned(ip)) return { reason: "banned" };
    if (this.guard.admit(ip) !== null) return { reason: "inbound links per IP", limit: this.limit };
    return null;
  }

  /** Gives back an inbound slot taken by admit. */
  release(ip: string): void {
    this.guard.release(ip);
  }

  /** Counts one message from a peer; false when it is over the per-second limit (flooding). */
  countMessage(w: MessageWindow): boolean {
    return w.over(this.now(), this.rate) === 0;
  }

  /** Addresses banned now, with the second their ban ends. */
  list(): { ip: string; until: number }[] {
    return this.guard.list().filter((b) => b.worker === null).map((b) => ({ ip: b.ip, until: Math.floor(b.until / 1000) }));
  }

  /** Forgets expired bans (once a second). */
  sweep(): void {
    this.guard.sweep();
  }
}

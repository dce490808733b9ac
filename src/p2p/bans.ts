// The P2P node's IP bans, inbound links per IP and per-second message limits, in one place behind a narrow
// interface (admit/release, banned, ban, countMessage): the pool's guard does the same job for miners, and this is
// the one spot to point at a shared implementation.

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
export interface MessageWindow {
  start: number;
  count: number;
}

export class P2PBans {
  private readonly until = new Map<string, number>();
  private readonly inbound = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: BansOptions = {}) {
    this.now = o.now ?? Date.now;
  }

  /** A new message window for a peer whose link just opened. */
  window(): MessageWindow {
    return { start: this.now(), count: 0 };
  }

  /** Whether `ip` is banned now. */
  banned(ip: string): boolean {
    const u = this.until.get(ip);
    return !!u && u > this.now();
  }

  /** When the last ban of `ip` ends (ms; 0: never banned), for a configured peer's next retry. */
  bannedUntil(ip: string): number {
    return this.until.get(ip) ?? 0;
  }

  /** Bans `ip` for `seconds` (default banSeconds); returns the seconds applied. `reason` is for the caller's log. */
  ban(ip: string, _reason: string, seconds = this.o.banSeconds ?? 3600): number {
    this.until.set(ip, this.now() + seconds * 1000);
    return seconds;
  }

  /** Takes an inbound slot for `ip`: the refusal (banned, too many links from it), or null. Give it back with release. */
  admit(ip: string): Refusal | null {
    if (this.banned(ip)) return { reason: "banned" };
    const limit = this.o.maxInboundPerIp ?? 8;
    const n = this.inbound.get(ip) ?? 0;
    if (n >= limit) return { reason: "inbound links per IP", limit };
    this.inbound.set(ip, n + 1);
    return null;
  }

  /** Gives back an inbound slot taken by admit. */
  release(ip: string): void {
    const n = (this.inbound.get(ip) ?? 1) - 1;
    if (n <= 0) this.inbound.delete(ip);
    else this.inbound.set(ip, n);
  }

  /** Counts one message from a peer; false when it is over the per-second limit (flooding). */
  countMessage(w: MessageWindow): boolean {
    if (++w.count > (this.o.maxMessagesPerSecond ?? 500)) {
      const now = this.now();
      if (now - w.start < 1000) return false;
      w.start = now;
      w.count = 1;
    }
    return true;
  }

  /** Addresses banned now, with the second their ban ends. */
  list(): { ip: string; until: number }[] {
    const now = this.now();
    return [...this.until].filter(([, u]) => u > now).map(([ip, until]) => ({ ip, until: Math.floor(until / 1000) }));
  }
}

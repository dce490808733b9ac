// The guard: connections per IP, per-second rate limits and bans, free of any pool type (IPs, names and reasons as
// strings) so any listener can use it. A ban hits one name under an IP (a pool worker) first; an IP is
// banned only after repeated name bans from it, or for repeated protocol abuse. Durations escalate from a
// minute, doubling per repeat, up to the configured cap (ckpool escalates the same way instead of a flat hour).

/** One ban in force. */
export interface Ban {
  ip: string;
  /** The name (a pool worker: ADDRESS[.NAME]) banned from this IP; null: the whole IP. */
  worker: string | null;
  reason: string;
  since: number;
  until: number;
  /** Bans of this subject so far (the duration doubles with each). */
  strikes: number;
}

export interface GuardLimits {
  /** Connections per IP (0: no cap). */
  maxPerIp: number;
  /** Cap of a ban's duration in seconds; 0 turns bans off. */
  banSeconds: number;
  /** A subject's first ban in seconds, doubling per repeat up to banSeconds (default 60; banSeconds: a flat ban). */
  firstBanSeconds?: number;
}

/** First ban of a subject, in seconds (then 2x, 4x, … up to banSeconds). */
export const FIRST_BAN_SECONDS = 60;
/** Worker bans from one IP within STRIKE_MEMORY_MS that make an IP ban. */
export const WORKER_BANS_FOR_IP_BAN = 3;
/** Protocol violations (undecodable input) from one IP within STRIKE_MEMORY_MS that make an IP ban. */
export const ABUSE_FOR_IP_BAN = 10;
/** How long strikes are remembered after the last one. */
export const STRIKE_MEMORY_MS = 3600_000;
/** Subjects (IPs, IP+worker) whose strikes are remembered at most, per kind: beyond it the least recent are forgotten. */
export const MAX_STRIKE_SUBJECTS = 65_536;

interface Strikes {
  n: number;
  last: number;
}

const key = (ip: string, worker: string | null) => (worker === null ? ip : `${ip} ${worker}`);

export class Guard {
  private readonly perIp = new Map<string, number>();
  private readonly bans = new Map<string, Ban>();
  /** Bans so far per subject (escalation), worker bans per IP, protocol violations per IP. */
  private readonly banCount = new Map<string, Strikes>();
  private readonly workerBansByIp = new Map<string, Strikes>();
  private readonly abuse = new Map<string, Strikes>();
  total = 0;

  constructor(
    readonly limits: GuardLimits,
    private readonly now: () => number,
  ) {}

  /** Takes a connection slot for `ip`; the reason it is refused (an IP ban, the per-IP cap), or null. */
  admit(ip: string, others = 0): string | null {
    const ban = this.active(key(ip, null));
    if (ban) return banText(ban, this.now());
    const n = this.perIp.get(ip) ?? 0;
    if (this.limits.maxPerIp > 0 && n + others >= this.limits.maxPerIp) return `more than ${this.limits.maxPerIp} connections from ${ip}`;
    this.perIp.set(ip, n + 1);
    return null;
  }

  /** Gives a connection slot back. */
  release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  connections(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** The ban of the whole IP in force, if any. */
  ipBan(ip: string): Ban | null {
    return this.active(key(ip, null));
  }

  /** The ban that keeps `worker` (or its whole IP) from mining from `ip`, if any. */
  banned(ip: string, worker: string): Ban | null {
    return this.active(key(ip, null)) ?? this.active(key(ip, worker));
  }

  /**
   * Bans one worker from one IP; the third worker ban from an IP within the strike memory bans the IP. Returns the
   * ban (the IP's when it escalated), or null when bans are off.
   */
  banWorker(ip: string, worker: string, reason: string): Ban | null {
    const b = this.put(ip, worker, reason);
    if (!b) return null;
    if (this.strike(this.workerBansByIp, ip) >= WORKER_BANS_FOR_IP_BAN) {
      this.workerBansByIp.delete(ip);
      return this.put(ip, null, `${WORKER_BANS_FOR_IP_BAN} worker bans within an hour (last: ${reason})`) ?? b;
    }
    return b;
  }

  /** Input that no codec can read (not another known protocol): repeated, it bans the IP. */
  protocolAbuse(ip: string, reason: string): Ban | null {
    if (this.strike(this.abuse, ip) < ABUSE_FOR_IP_BAN) return null;
    this.abuse.delete(ip);
    return this.put(ip, null, `${ABUSE_FOR_IP_BAN} malformed connections within an hour (last: ${reason})`);
  }

  /** Bans a whole IP at once (an operator's or a test's decision). */
  banIp(ip: string, reason: string): Ban | null {
    return this.put(ip, null, reason);
  }

  /**
   * A ban decided elsewhere (another pool instance, or before a restart: the ledger keeps them) takes effect here;
   * it counts as no new strike. The stored ban if it is new or lasts longer than the one held, else null.
   */
  restore(b: { ip: string; worker: string | null; reason: string; until: number }): Ban | null {
    if (this.limits.banSeconds <= 0 || b.until <= this.now()) return null;
    const k = key(b.ip, b.worker);
    const held = this.bans.get(k);
    if (held && held.until >= b.until) return null;
    const ban: Ban = { ip: b.ip, worker: b.worker, reason: b.reason, since: held?.since ?? this.now(), until: b.until, strikes: held?.strikes ?? 1 };
    this.bans.set(k, ban);
    return ban;
  }

  /** Lifts every ban of an IP (its workers' too) and forgets its strikes; how many bans were lifted. */
  lift(ip: string): number {
    let n = 0;
    for (const [k, b] of this.bans) if (b.ip === ip) (this.bans.delete(k), n++);
    for (const k of [...this.banCount.keys()]) if (k === ip || k.startsWith(`${ip} `)) this.banCount.delete(k);
    this.workerBansByIp.delete(ip);
    this.abuse.delete(ip);
    return n;
  }

  /** A new cap for ban durations: bans in force are shortened to it (0 lifts them all and turns bans off). */
  setBanSeconds(seconds: number): void {
    this.limits.banSeconds = seconds;
    for (const [k, b] of this.bans) {
      const cap = b.since + seconds * 1000;
      if (seconds === 0 || cap <= this.now()) this.bans.delete(k);
      else if (b.until > cap) b.until = cap;
    }
  }

  /** Bans in force, soonest to expire first. */
  list(): Ban[] {
    const now = this.now();
    return [...this.bans.values()].filter((b) => b.until > now).sort((a, b) => a.until - b.until);
  }

  /** Drops expired bans and old strikes. */
  sweep(): void {
    const now = this.now();
    for (const [k, b] of this.bans) if (b.until <= now) this.bans.delete(k);
    for (const m of [this.banCount, this.workerBansByIp, this.abuse]) for (const [k, s] of m) if (now - s.last > STRIKE_MEMORY_MS) m.delete(k);
  }

  private active(k: string): Ban | null {
    const b = this.bans.get(k);
    if (!b) return null;
    if (b.until > this.now()) return b;
    this.bans.delete(k);
    return null;
  }

  private put(ip: string, worker: string | null, reason: string): Ban | null {
    if (this.limits.banSeconds <= 0) return null;
    const k = key(ip, worker);
    const strikes = this.strike(this.banCount, k);
    const seconds = Math.min(this.limits.banSeconds, (this.limits.firstBanSeconds ?? FIRST_BAN_SECONDS) * 2 ** Math.min(strikes - 1, 20));
    const now = this.now();
    const b: Ban = { ip, worker, reason, since: now, until: now + seconds * 1000, strikes };
    this.bans.set(k, b);
    this.total++;
    return b;
  }

  private strike(m: Map<string, Strikes>, k: string): number {
    const now = this.now();
    const s = m.get(k);
    const n = s && now - s.last <= STRIKE_MEMORY_MS ? s.n + 1 : 1;
    // Re-inserted so the map stays in order of the last strike: many addresses (IPv6) cannot grow it without bound.
    m.delete(k);
    m.set(k, { n, last: now });
    while (m.size > MAX_STRIKE_SUBJECTS) m.delete(m.keys().next().value!);
    return n;
  }
}

/** What a banned miner is told: the reason and how long is left. */
export function banText(b: Ban, now: number): string {
  const left = Math.max(1, Math.ceil((b.until - now) / 1000));
  return `Banned${b.worker ? ` worker ${b.worker}` : ""}: ${b.reason} (${left} s left)`;
}

/** A per-second allowance: a count that starts again each second of the clock it is given. */
export class SecondRate {
  private second = 0;
  private count = 0;

  /** 0 when this event is within the second's allowance, else how many over it (1 for the first excess one). */
  over(nowMs: number, limit: number): number {
    if (limit <= 0) return 0;
    const s = Math.floor(nowMs / 1000);
    if (s !== this.second) {
      this.second = s;
      this.count = 0;
    }
    return Math.max(0, ++this.count - limit);
  }
}

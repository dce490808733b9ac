// What each pool instance on Redis (bus-redis.ts) writes of itself every tick, with the health expiry, and reads back
// of the other live members: its health, and its counts per IP (open connections; distinct workers), summed. A
// member that dies stops counting within the expiry; a bus that stopped answering counts nothing after it (the caps
// fall back to this instance's own counts, never to sums gone stale).
import { healthRecords, sumConnections } from "./bus-redis-scripts";
import type { MemberHealth } from "./bus";

/** One kind of per-IP count: this member's, as it publishes them, and the other members' sums, as last read. */
export class IpCounts {
  private readonly local = new Map<string, number>();
  private others = new Map<string, number>();
  private othersAt = 0;

  constructor(
    /** The key of a member's record. */
    readonly key: (member: string) => string,
    private readonly ttlMs: number,
  ) {}

  /** This member's count for `ip` (0: none). */
  set(ip: string, n: number): void {
    void (n > 0 ? this.local.set(ip, n) : this.local.delete(ip));
  }

  /** This member's record as written to Redis. */
  record(): string {
    return JSON.stringify(Object.fromEntries(this.local));
  }

  /** The other members' records, as read back at `now` (ms): a malformed record or count is skipped. */
  read(records: (string | null)[], now: number): void {
    this.others = sumConnections(records);
    this.othersAt = now;
  }

  /** Every IP the other members count, with the sum; empty when older than the expiry (a dead bus's). */
  byIp(): ReadonlyMap<string, number> {
    return Date.now() - this.othersAt > this.ttlMs ? new Map() : this.others;
  }

  of(ip: string): number {
    return this.byIp().get(ip) ?? 0;
  }
}

type Send = <T = unknown>(cmd: string, args: string[]) => Promise<T>;

/**
 * Once a tick: this member's health and per-IP counts written (expiring after `ttlMs`), the live members listed, and
 * their records read back: every member's health (this one's included), the other members' counts summed per kind.
 */
export async function exchangeRecords(
  send: Send, k: { members: string; health: (m: string) => string }, member: string, health: MemberHealth | null, kinds: IpCounts[], ttlMs: number, now: number,
): Promise<MemberHealth[]> {
  const ttl = String(ttlMs);
  if (health) await send("SET", [k.health(member), JSON.stringify({ ...health, member, at: now }), "PX", ttl]);
  for (const c of kinds) await send("SET", [c.key(member), c.record(), "PX", ttl]);
  await send("ZADD", [k.members, String(now), member]);
  await send("ZREMRANGEBYSCORE", [k.members, "-inf", String(now - ttlMs)]);
  const names = await send<string[]>("ZRANGEBYSCORE", [k.members, String(now - ttlMs), "+inf"]);
  const healths = names.length ? await send<(string | null)[]>("MGET", names.map(k.health)) : [];
  const others = names.filter((m) => m !== member);
  for (const c of kinds) c.read(others.length ? await send<(string | null)[]>("MGET", others.map(c.key)) : [], now);
  return healthRecords(healths);
}

// The Redis side of the pool bus (bus-redis.ts): its options, the Lua scripts that make the lease, the instance claim
// and job publication atomic, the check of a --bus URL, and the reading of what other members wrote (each record on
// its own: one malformed record is skipped, never the whole refresh).
import { RignodeError, type Logger } from "../core";
import type { BanRow } from "./ledger-backend";
import type { MemberHealth } from "./bus";

export interface RedisBusOptions {
  url: string;
  /** Keys and channels live under rignode:pool:<namespace>: (the network's name). */
  namespace: string;
  /** This instance's --pool-instance: one live member per id (its extranonce1 space). */
  instance: number;
  log: Logger;
  /** Lease lifetime; renewed every renewMs, tried for every tryMs by followers. */
  leaseMs?: number;
  renewMs?: number;
  tryMs?: number;
  /** Health and per-IP counts are written every tickMs and expire after healthTtlMs. */
  tickMs?: number;
  healthTtlMs?: number;
  /** A command that takes longer is abandoned (the bus is then treated as down for it). */
  timeoutMs?: number;
  /** The first connection at start: a Redis that does not answer within it stops the start. */
  connectMs?: number;
}


/** Job sequences a leader takes from the shared counter at a time (ids stay unique across leaders). */
export const SEQ_BLOCK = 4096;

// Win the lease (NX) and, in the same step, a new fencing epoch and a fresh block of job sequences. A counter behind
// what this member has seen (ARGV[4], ARGV[5]) means Redis restarted empty: both jump well past it, so members that
// saw a little more than this one (a job it missed) still take the new leader's jobs as newer.
export const ACQUIRE = `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
  local e = redis.call('INCR', KEYS[2])
  if e <= tonumber(ARGV[4]) then e = tonumber(ARGV[4]) + 1000 redis.call('SET', KEYS[2], e) end
  local n = tonumber(ARGV[3]) local s = redis.call('INCRBY', KEYS[3], n)
  if s - n < tonumber(ARGV[5]) then s = tonumber(ARGV[5]) + 65536 + n redis.call('SET', KEYS[3], s) end
  return {e, s}`;
// Extend a key only while it is still ours (the lease).
export const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0`;
// Keep the instance claim: extended while ours, taken again if it vanished (a Redis restarted empty), 0 if another's.
export const CLAIM = `local v = redis.call('GET', KEYS[1])
  if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
  if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0`;
// Release a key only if it is ours.
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// Publish a job only under the lease and epoch it was made with: a deposed leader's late job goes nowhere. Its seq is
// kept beside it (KEYS[4]): followers poll that small key, not the job (an upstream template can be megabytes).
export const PUBLISH = `if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
  redis.call('SET', KEYS[3], ARGV[3]) redis.call('SET', KEYS[4], ARGV[5]) redis.call('PUBLISH', ARGV[4], ARGV[3]) return 1`;

/** A job's seq and epoch within what the bus hands out (job ids are 32 bits; epochs grow by one per election). */
export function saneJob(w: unknown): w is { seq: number; epoch: number } {
  const x = w as { seq?: unknown; epoch?: unknown } | null;
  const ok = (v: unknown, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= 0xffffffff;
  return !!x && typeof x === "object" && ok(x.seq, 1) && ok(x.epoch, 0);
}

/** The other members' per-IP open connections, summed (a malformed record or count is skipped). */
export function sumConnections(records: (string | null)[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const c of records) {
    for (const [ip, n] of Object.entries(parseRecord(c) ?? {})) if (typeof n === "number" && Number.isFinite(n) && n > 0) sum.set(ip, (sum.get(ip) ?? 0) + n);
  }
  return sum;
}

export function healthRecords(records: (string | null)[]): MemberHealth[] {
  return records.flatMap((h) => {
    const x = parseRecord(h) as MemberHealth | null;
    return x && typeof x.member === "string" && typeof x.instance === "number" ? [x] : [];
  });
}

/** A message on the bans channel from another member: a ban or an unban; null when it is our own or malformed. */
export function parseBanMessage(m: string, self: string): { ban: BanRow } | { unban: string } | null {
  const x = parseRecord(m) as { from?: unknown; ban?: BanRow; unban?: unknown } | null;
  if (!x || x.from === self) return null;
  if (typeof x.unban === "string") return x.unban.length <= 64 ? { unban: x.unban } : null;
  const b = x.ban;
  if (!b || typeof b !== "object" || typeof b.ip !== "string" || typeof b.until !== "number" || typeof b.reason !== "string") return null;
  return b.worker === null || typeof b.worker === "string" ? { ban: b } : null;
}

/** A member's JSON record (health, per-IP counts) as an object, or null when it is missing or malformed. */
export function parseRecord(s: string | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  try {
    const x = JSON.parse(s);
    return x && typeof x === "object" && !Array.isArray(x) ? x : null;
  } catch {
    return null;
  }
}

/** The bus URL's scheme and host, checked before anything connects (the password never shown). */
export function checkBusUrl(url: string): string {
  const form = "expected redis://[USER:PASSWORD@]HOST:PORT[/DB] (or rediss://, valkey://)";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RignodeError("config", `--bus is not a URL; ${form}`);
  }
  if (!["redis:", "rediss:", "valkey:", "valkeys:"].includes(u.protocol)) throw new RignodeError("config", `--bus: scheme ${u.protocol} is not one Redis speaks; ${form}`);
  if (!u.hostname) throw new RignodeError("config", `--bus names no host; ${form}`);
  if (u.pathname.length > 1 && !/^\/\d{1,2}$/.test(u.pathname)) throw new RignodeError("config", `--bus: database must be a number, got '${u.pathname.slice(1, 20)}'; ${form}`);
  return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ""}`;
}

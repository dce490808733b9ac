// The Redis side of the pool bus (bus-redis.ts): the Lua scripts that make the lease, the instance claim and job
// publication atomic, and the check of a --bus URL.
import { RignodeError } from "../core";

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

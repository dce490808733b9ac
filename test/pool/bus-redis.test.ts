// The Redis bus against a real (throwaway) redis-server: one leader at a time by lease, its jobs adopted by the
// other member, a stopped leader replaced, a deposed leader's late job refused (fencing), one live member per
// --pool-instance, per-IP counts and bans shared, every member's health read back.
import { afterAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair } from "../../src/chain";
import { createLogger } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, PoolServer, RedisBus, checkBusUrl, toWire } from "../../src/pool";
import { healthRecords, parseBanMessage, sumConnections } from "../../src/pool/bus-redis-scripts";
import type { PoolConn } from "../../src/pool/conn";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn } from "../chain/helpers";
import { freePort, waitFor } from "../helpers";
import { REDIS_SERVER, redisServer } from "../integration/redis-server";

const PARAMS = { ...EASY, powLimitBits: 0x1f00ffff };
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
const tmp = () => mkdtempSync(join(tmpdir(), "rignode-bus-"));
const log = createLogger({ json: true, level: "error" });

function member(chain: Chain, url: string, instance: number, ns: string, blog = log) {
  const bus = new RedisBus({ url, namespace: ns, instance, log: blog, healthTtlMs: 2000 });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(Store.open(tmp())), log, poolAddress: generateKeyPair().publicKey,
    poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, maxPerIp: 3 }, jobRefreshSeconds: 30, instanceId: instance, role: "follower", bus,
  });
  cleanup.push(async () => {
    server.stop();
    await bus.close();
  });
  return { bus, server };
}

test("a Redis that does not answer at start stops the start with where it was looked for", async () => {
  const port = freePort(); // nothing listens there
  const bus = new RedisBus({ url: `redis://127.0.0.1:${port}`, namespace: "dead", instance: 0, log, connectMs: 1000 });
  await expect(bus.open()).rejects.toThrow(`--bus: the Redis at redis://127.0.0.1:${port} could not be reached`);
  await bus.close();
});

test("other members' records are read one by one: a malformed one is skipped, not the refresh", () => {
  expect(sumConnections(['{"10.0.0.1":2}', "{not json", null, '{"10.0.0.1":1,"10.0.0.2":"x","10.0.0.3":-4}', "[1]"])).toEqual(new Map([["10.0.0.1", 3]]));
  const h = { member: "m1", instance: 1, leader: false, at: 1, connections: 0, workers: 0, hashrate: 0, accepted: 0, rejected: 0, job: null, height: null, problems: [] };
  expect(healthRecords([JSON.stringify(h), "}", '{"member":7}', null])).toEqual([h]);
  const ban = { subject: "ip", ip: "10.0.0.9", worker: null, until: 5, reason: "r" };
  expect(parseBanMessage(JSON.stringify({ from: "other", ban }), "me")).toEqual({ ban });
  expect(parseBanMessage(JSON.stringify({ from: "me", ban }), "me")).toBeNull();
  expect(parseBanMessage(JSON.stringify({ from: "other", unban: "10.0.0.9" }), "me")).toEqual({ unban: "10.0.0.9" });
  expect(parseBanMessage(JSON.stringify({ from: "other", ban: { ...ban, until: "soon" } }), "me")).toBeNull();
  expect(parseBanMessage("null", "me")).toBeNull();
});

test("the bus URL: redis://HOST:PORT[/DB], the password never shown", () => {
  expect(checkBusUrl("redis://:pw@10.0.0.1:6379/2")).toBe("redis://10.0.0.1:6379/2");
  expect(() => checkBusUrl("http://x:1")).toThrow(/scheme http: is not one Redis speaks/);
  expect(() => checkBusUrl("redis://x:1/abc")).toThrow(/database must be a number/);
  expect(() => checkBusUrl("nope")).toThrow(/not a URL/);
});

describe.skipIf(!REDIS_SERVER)("pool members on a real Redis", () => {
  test("one leader; the follower serves its jobs; a stopped leader is replaced, and a deposed one's late job is refused", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t1");
    const B = member(chain, redis.url, 1, "t1");
    await A.bus.open();
    await B.bus.open();
    A.server.start();
    B.server.start();
    await A.bus.start();
    await B.bus.start();
    await waitFor(() => ([A, B].filter((m) => m.server.role === "leader").length === 1 ? true : undefined), 10_000);
    const [L, F] = A.server.role === "leader" ? [A, B] : [B, A];
    const job = await waitFor(() => L.server.current ?? undefined);
    await waitFor(() => (F.server.current?.job.id === job.job.id ? true : undefined), 10_000);
    expect(F.server.currentJob()).toEqual(L.server.currentJob());
    expect(L.server.metrics().find((m) => m.name === "rignode_pool_leader")!.samples[0]!.value).toBe(1);
    expect(F.server.metrics().find((m) => m.name === "rignode_pool_leader")!.samples[0]!.value).toBe(0);

    // Health of both members, read back by each; pool-wide sums with the leader named.
    const c = await waitFor(() => {
      const x = F.server.cluster()!;
      return x.instances.length === 2 ? x : undefined;
    }, 10_000);
    expect(c.instances.map((h) => h.instance).sort()).toEqual([0, 1]);
    expect(c.pool_wide.leader).toBe((L.bus as RedisBus).member);

    // Connections per IP across members: the cap (3) counts the other member's once its counts are read (a tick).
    const link = (ip: string) => ({ ip, codec: "json", encode: () => new Uint8Array(), write() {}, flush() {}, close() {} }) as never;
    expect(typeof L.server.open(link("10.1.1.1"))).toBe("object");
    expect(typeof L.server.open(link("10.1.1.1"))).toBe("object");
    await waitFor(() => (F.bus.othersConnections("10.1.1.1") === 2 ? true : undefined), 5_000);
    expect(typeof F.server.open(link("10.1.1.1"))).toBe("object");
    expect(F.server.open(link("10.1.1.1"))).toMatch(/more than 3 connections/);
    // A ban by one member is enforced by the other.
    F.server.ban("10.2.2.2", "abuse");
    await waitFor(() => (L.server.bans().some((b) => b.ip === "10.2.2.2") ? true : undefined), 5_000);
    // An unban too.
    F.server.unban("10.2.2.2");
    await waitFor(() => (L.server.bans().some((b) => b.ip === "10.2.2.2") ? undefined : true), 5_000);

    // Fencing: a job published under an old epoch is refused by Redis.
    const oldEpoch = L.server.jobs.epoch;
    // The leader leaves: the follower leads (the lease released, no TTL wait), builds at once, with a newer epoch.
    L.server.stop();
    await L.bus.stop();
    await waitFor(() => (F.server.role === "leader" ? true : undefined), 5_000);
    const next = await waitFor(() => (F.server.current && F.server.current.seq > job.seq ? F.server.current : undefined), 5_000);
    expect(F.server.jobs.epoch).toBeGreaterThan(oldEpoch);
    expect(next.seq).toBeGreaterThan(job.seq);
    await expect(F.bus.publishJob(toWire(next, true, oldEpoch, F.server.source))).rejects.toThrow(/no longer this member's/);
  }, 60_000);

  test("Redis restarted empty: a leader is elected again with a newer epoch and higher job ids, and the follower adopts its jobs", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t3");
    const B = member(chain, redis.url, 1, "t3");
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.start();
      await m.bus.start();
    }
    const leader = () => [A, B].find((m) => m.server.role === "leader");
    await waitFor(() => leader(), 10_000);
    const first = await waitFor(() => (A.server.current && A.server.current.seq === B.server.current?.seq ? A.server.current : undefined), 10_000);
    const epoch = Math.max(A.server.jobs.epoch, B.server.jobs.epoch);
    await redis.stop();
    await Bun.sleep(500);
    await redis.start(); // the same port, no keys: no epoch, no job counter, no claims
    const after = await waitFor(() => {
      const l = leader();
      return l && l.server.jobs.epoch > epoch && l.server.current && l.server.current.seq > first.seq ? l : undefined;
    }, 20_000);
    // A new tip: the (new) leader builds and publishes, the other member adopts it.
    mineOn(chain, generateKeyPair());
    const other = after === A ? B : A;
    await waitFor(() => (other.server.current?.job.work.height === 2 && other.server.current.job.id === after.server.current?.job.id ? true : undefined), 15_000);
  }, 60_000);

  test("Redis unreachable: the leader goes on building jobs for its own miners (publishing none); once Redis answers, one leads and both serve its jobs", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t4");
    const B = member(chain, redis.url, 1, "t4");
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.start();
      await m.bus.start();
    }
    const L = await waitFor(() => [A, B].find((m) => m.server.role === "leader"), 10_000);
    const F = L === A ? B : A;
    await waitFor(() => (F.server.current && F.server.current.seq === L.server.current?.seq ? true : undefined), 10_000);
    await redis.stop();
    await Bun.sleep(4000); // past the lease
    // A new tip while Redis is away: the leader's miners get a job on it; the follower keeps the last one it was sent.
    mineOn(chain, generateKeyPair());
    await waitFor(() => (L.server.current?.job.work.height === 2 ? true : undefined), 5_000);
    expect(L.server.role).toBe("leader");
    expect(F.server.role).toBe("follower");
    expect(F.server.current!.job.work.height).toBe(1);
    await redis.start();
    // One leader again (a newer epoch), and its job on the new tip reaches the other member.
    await waitFor(() => {
      const l = [A, B].filter((m) => m.server.role === "leader");
      if (l.length !== 1) return undefined;
      const o = l[0] === A ? B : A;
      return o.server.current?.job.work.height === 2 && o.server.current.job.id === l[0]!.server.current?.job.id ? true : undefined;
    }, 20_000);
  }, 60_000);

  test("a second live member with the same --pool-instance is refused; a dead one's claim expires", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const a = new RedisBus({ url: redis.url, namespace: "t2", instance: 7, log, healthTtlMs: 1000 });
    const b = new RedisBus({ url: redis.url, namespace: "t2", instance: 7, log, healthTtlMs: 1000 });
    cleanup.push(() => a.close());
    cleanup.push(() => b.close().catch(() => {}));
    await a.open();
    await expect(b.open()).rejects.toThrow(/--pool-instance 7 is already a live member/);
    // Another id is fine.
    const c = new RedisBus({ url: redis.url, namespace: "t2", instance: 8, log, healthTtlMs: 1000 });
    cleanup.push(() => c.close());
    await c.open();
    await a.close();
    await b.open(); // released by a clean close
    // b dies (no renewal, no release, as kill -9): a new member with its id gets it once the claim expires.
    const dead = b as unknown as { claimTimer: ReturnType<typeof setInterval>; cmd: { close(): void } };
    clearInterval(dead.claimTimer);
    dead.cmd.close();
    const d = new RedisBus({ url: redis.url, namespace: "t2", instance: 7, log, healthTtlMs: 1000 });
    cleanup.push(() => d.close());
    await d.open();
  }, 30_000);

  test("after Redis restarts, bans and jobs reach the other member through the channel again (not only the poll)", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const lines: string[] = [];
    const seen = createLogger({ json: true, level: "debug", write: (l) => void lines.push(l) });
    const A = member(chain, redis.url, 0, "t5");
    const B = member(chain, redis.url, 1, "t5", seen);
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.start();
      await m.bus.start();
    }
    const L = await waitFor(() => [A, B].find((m) => m.server.role === "leader"), 10_000);
    await waitFor(() => (B.server.current && B.server.current.seq === L.server.current?.seq ? true : undefined), 10_000);
    await redis.stop();
    await redis.start();
    // Bans travel only on the channel: one published after the restart reaches B once B subscribed again.
    const got: string[] = [];
    B.bus.onBan((b) => void got.push(b.ip));
    let n = 0;
    await waitFor(async () => {
      A.bus.publishBan({ subject: "ip", ip: `10.9.9.${++n % 250}`, worker: null, until: Date.now() + 60_000, reason: "test" });
      await Bun.sleep(250);
      return got.length ? true : undefined;
    }, 20_000);
    // A job too: the leader (whichever it is now) publishes on a new tip; the follower takes it from the channel.
    await waitFor(() => ([A, B].filter((m) => m.server.role === "leader").length === 1 ? true : undefined), 20_000);
    mineOn(chain, generateKeyPair());
    const lead = [A, B].find((m) => m.server.role === "leader")!;
    const fol = lead === A ? B : A;
    const job = await waitFor(() => (fol.server.current?.job.work.height === 2 && fol.server.current.job.id === lead.server.current?.job.id ? fol.server.current : undefined), 15_000);
    if (fol === B) {
      const via = lines.map((l) => JSON.parse(l)).filter((e) => e.event === "pool.bus_job" && e.job === job.job.id && e.taken).map((e) => e.via);
      expect(via).toEqual(["channel"]);
    }
  }, 60_000);

  test("junk on the job channel (huge seq/epoch, not a job) is refused: a new leader still elects, builds and publishes", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t6");
    const B = member(chain, redis.url, 1, "t6");
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.start();
      await m.bus.start();
    }
    const L = await waitFor(() => [A, B].find((m) => m.server.role === "leader"), 10_000);
    const F = L === A ? B : A;
    const first = await waitFor(() => (F.server.current && F.server.current.seq === L.server.current?.seq ? F.server.current : undefined), 10_000);
    const raw = new RedisClient(redis.url);
    cleanup.push(() => raw.close());
    for (const junk of ['{"seq":1e20,"epoch":1e20}', '{"seq":4294967295,"epoch":4294967295}', '{"seq":-1,"epoch":2.5}', "[1,2]", "null"]) await raw.publish("rignode:pool:t6:jobs", junk);
    // Delivered in order on the subscriber's connection: once this ban is in, the junk was read before it.
    const got: string[] = [];
    F.bus.onBan((b) => void got.push(b.ip));
    await raw.publish("rignode:pool:t6:bans", JSON.stringify({ from: "test", ban: { ip: "10.7.7.7", worker: null, until: Date.now() + 60_000, reason: "t" } }));
    await waitFor(() => (got.length ? true : undefined), 5_000);
    expect(F.server.current!.seq).toBe(first.seq);
    // The leader leaves: the follower leads with an epoch and job ids in range, and its job is published (the small seq key too).
    L.server.stop();
    await L.bus.stop();
    const next = await waitFor(() => (F.server.role === "leader" && F.server.current && F.server.current.seq > first.seq ? F.server.current : undefined), 10_000);
    expect(F.server.jobs.epoch).toBeLessThan(2 ** 32);
    await waitFor(async () => (Number(await raw.get("rignode:pool:t6:job:seq")) === next.seq ? true : undefined), 5_000);
    expect(JSON.parse((await raw.get("rignode:pool:t6:job"))!).seq).toBe(next.seq);
  }, 60_000);

  test("a leader deposed (its lease taken) follows at once and serves the new leader's first job", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t7");
    const B = member(chain, redis.url, 1, "t7");
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.start();
      await m.bus.start();
    }
    const L = await waitFor(() => [A, B].find((m) => m.server.role === "leader"), 10_000);
    const F = L === A ? B : A;
    const first = await waitFor(() => (F.server.current && F.server.current.seq === L.server.current?.seq ? F.server.current : undefined), 10_000);
    const raw = new RedisClient(redis.url);
    cleanup.push(() => raw.close());
    await raw.del("rignode:pool:t7:leader"); // the lease gone: the other member takes it, the old leader's renewal fails
    const next = await waitFor(() => (F.server.role === "leader" && F.server.current && F.server.current.seq > first.seq ? F.server.current : undefined), 10_000);
    await waitFor(() => (L.server.role === "follower" && L.server.current?.seq === next.seq ? true : undefined), 10_000);
    expect(L.server.currentJob()).toEqual(F.server.currentJob());
  }, 60_000);

  test("distinct workers per IP across members: each member's count published, the other's counted against the cap, gone when its connections close or it stops", async () => {
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    const chain = new Chain({ store: Store.open(tmp()), params: PARAMS, powHash: (h) => kernel.hash("sha256d", h) });
    const A = member(chain, redis.url, 0, "t8");
    const B = member(chain, redis.url, 1, "t8");
    for (const m of [A, B]) {
      await m.bus.open();
      m.server.configure({ maxWorkersPerIp: 3 });
      m.server.start();
      await m.bus.start();
    }
    const payee = encodeAddress(generateKeyPair().publicKey, PARAMS.addressVersion);
    const link = { ip: "10.4.4.4", codec: "json", encode: () => new Uint8Array(), write() {}, flush() {}, close() {} } as never;
    const [a, b] = [A.server.open(link), B.server.open(link)] as PoolConn[];
    const auth = (s: PoolServer, c: PoolConn, n: string) => {
      try {
        return s.authorize(c, `${payee}.${n}`, "x");
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(auth(A.server, a!, "w1")).toBe(true);
    expect(auth(A.server, a!, "w2")).toBe(true);
    // Read back by B at its next tick: A's two workers count against B's cap (3).
    await waitFor(() => (B.bus.othersWorkers("10.4.4.4") === 2 ? true : undefined), 5_000);
    expect(auth(B.server, b!, "w3")).toBe(true);
    expect(auth(B.server, b!, "w4")).toBe("too many workers from 10.4.4.4 (3)");
    await waitFor(() => (A.bus.othersWorkers("10.4.4.4") === 1 ? true : undefined), 5_000);
    expect(auth(A.server, a!, "w5")).toBe("too many workers from 10.4.4.4 (3)");
    // A's connection closes: its workers stop counting on B once A's record says so.
    A.server.closed(a!);
    await waitFor(() => (B.bus.othersWorkers("10.4.4.4") === 0 ? true : undefined), 5_000);
    expect(auth(B.server, b!, "w4")).toBe(true);
    // B stops (its records deleted): A no longer counts B's workers.
    await waitFor(() => (A.bus.othersWorkers("10.4.4.4") === 2 ? true : undefined), 5_000);
    const raw = new RedisClient(redis.url);
    cleanup.push(() => raw.close());
    expect(await raw.exists(`rignode:pool:t8:workers:${B.bus.member}`)).toBe(true);
    await B.bus.stop();
    // Deleted by stop() itself (a tick in flight waited for), not left to expire.
    expect(await raw.exists(`rignode:pool:t8:workers:${B.bus.member}`)).toBe(false);
    expect(await raw.exists(`rignode:pool:t8:conns:${B.bus.member}`)).toBe(false);
    await waitFor(() => (A.bus.othersWorkers("10.4.4.4") === 0 ? true : undefined), 5_000);
  }, 60_000);
});

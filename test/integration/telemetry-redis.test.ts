// Telemetry to Redis: against a real Debian redis-server started here on a free loopback port (no persistence) and
// stopped after, the telemetry:* keys hold what the view holds, with a TTL, and are announced on their channels; Redis
// stopped mid-run costs the caller nothing but a log line a minute, and writes resume when it is back. The refused,
// hung and malformed cases need no server. .ci/run installs redis-server; without it the server tests are skipped.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { createLogger, RignodeError } from "../../src/core";
import { checkRedisUrl, redactRedisUrl, TelemetryRedis } from "../../src/node/telemetry-redis";
import type { Advisory, Scored, TelemetryView } from "../../src/telemetry";
import { freePort, waitFor } from "../helpers";
import { REDIS_SERVER, redisServer, type RedisServer } from "./redis-server";

if (!REDIS_SERVER) console.warn("telemetry-redis: redis-server is not installed (apt-get install redis-server; .ci/run does): the tests against a real server are skipped");

function capture() {
  const lines: any[] = [];
  return { lines, log: createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}
const events = (lines: any[], e: string) => lines.filter((l) => l.event === e);

function view(t: number, advice: Advisory[] = []): TelemetryView {
  const sample = {
    t, hashrate: 41_000_000, perThread: [20_500_000, 20_500_000], hashes: 2 ** 40, accepted: 10, rejected: 1, stale: 0, rejectedBy: { "Low difficulty share": 1 },
    latencyMs: 14, tempC: 61.5, energyJ: null, load: 0.97, threads: 2, batch: 64, paused: false, thermal: "ok", power: "ac",
  };
  const f = { value: 1, bits: { up: true, accel: false, range: false, zpos: true }, stability: 0.9, entropy: 0.4, change: 0.01, alarm: false };
  const last: Scored = {
    t, sample,
    features: { hashrate: f, reject_ratio: f, temperature: f, latency: f, hashes_per_joule: { ...f, value: null }, load: f, thread_balance: f },
    kpis: { hashesPerJoule: null, rejectRatio: 0.09, thermalHeadroomC: 33.5, latencyBudget: 0.8 },
    hazard: 0.02, score: 0.87, class: "minor", reasons: ["load above 0.9"],
  };
  return { last, advisories: advice, actions: [], rateHz: 1, thresholdsPath: null };
}
const ADVICE: Advisory = { kind: "threads", target: "miner", delta: -1, reason: "a competing process takes a core", ttl: 120, at: 1 };

describe.skipIf(!REDIS_SERVER)("telemetry to a real redis-server", () => {
  const server = REDIS_SERVER ? redisServer() : (null as unknown as RedisServer);
  let reader: RedisClient;
  beforeAll(async () => {
    await server.start();
    reader = new RedisClient(server.url);
    await reader.connect();
  });
  afterAll(async () => {
    reader?.close();
    await server?.stop();
  });

  test("telemetry:{last,advice,actions}:{rig} hold the view with a TTL and are announced on their channels", async () => {
    const { lines, log } = capture();
    const pub = new TelemetryRedis(server.url, "rig-a", log, { ttlSec: 90 });
    const heard: [string, string][] = [];
    const sub = new RedisClient(server.url);
    await sub.connect();
    await sub.subscribe(["telemetry:last:rig-a", "telemetry:advice:rig-a", "telemetry:actions:rig-a"], (msg, ch) => heard.push([ch, msg]));

    const v1 = view(1_000);
    await pub.publish(v1);
    expect(JSON.parse((await reader.get("telemetry:last:rig-a"))!)).toEqual(v1.last);
    expect(JSON.parse((await reader.get("telemetry:advice:rig-a"))!)).toEqual([]);
    expect(JSON.parse((await reader.get("telemetry:actions:rig-a"))!)).toEqual([]);
    for (const k of ["last", "advice", "actions"]) {
      const ttl = await reader.ttl(`telemetry:${k}:rig-a`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(90);
    }
    await waitFor(() => (heard.length >= 3 ? true : undefined));

    // The same advice again: only the latest second is announced; new advice is announced and stored.
    await pub.publish(view(2_000));
    const v3 = view(3_000, [ADVICE]);
    await pub.publish(v3);
    await waitFor(() => (heard.filter(([c]) => c === "telemetry:last:rig-a").length === 3 ? true : undefined));
    await waitFor(() => (heard.filter(([c]) => c === "telemetry:advice:rig-a").length === 2 ? true : undefined));
    expect(heard.filter(([c]) => c === "telemetry:actions:rig-a").length).toBe(1);
    expect(JSON.parse(heard.filter(([c]) => c === "telemetry:advice:rig-a")[1]![1])).toEqual([ADVICE]);
    expect(JSON.parse((await reader.get("telemetry:advice:rig-a"))!)).toEqual([ADVICE]);
    expect(JSON.parse((await reader.get("telemetry:last:rig-a"))!).t).toBe(3_000);
    expect(pub.status()).toMatchObject({ connected: true, published: 3, dropped: 0, downSince: null });
    expect(events(lines, "telemetry.redis_connected")).toHaveLength(1);
    expect(events(lines, "telemetry.redis_down")).toHaveLength(0);

    // Closed: publishes are no-ops and the keys keep the last write.
    pub.close();
    await pub.publish(view(4_000));
    expect(JSON.parse((await reader.get("telemetry:last:rig-a"))!).t).toBe(3_000);
    sub.close();
  });

  test("Redis stopped mid-run: publishes still return, one warning a minute, and writes resume when it is back", async () => {
    const own = redisServer();
    await own.start();
    const { lines, log } = capture();
    let now = 1_000_000;
    const pub = new TelemetryRedis(own.url, "rig-b", log, { now: () => now, retryMs: 5_000 });
    await pub.publish(view(1));
    await own.stop();

    const t0 = now;
    for (let i = 0; i < 5; i++) {
      await pub.publish(view(2 + i)); // each resolves: nothing waits for the dead server
      now += 6_000; // past the retry wait: every publish tries, and every try is refused
    }
    expect(events(lines, "telemetry.redis_down")).toHaveLength(1);
    expect(pub.status().connected).toBe(false);
    now = t0 + 61_000; // a minute on: the outage is reported again
    await pub.publish(view(10));
    const down = events(lines, "telemetry.redis_down");
    expect(down).toHaveLength(2);
    expect(down[1].dropped).toBe(6);
    expect(down[1].url).toBe(own.url);

    await own.start(); // the same port, empty (no persistence)
    await pub.publish(view(11)); // still inside the retry wait: dropped without a try
    now += 5_000;
    await pub.publish(view(12));
    const c = new RedisClient(own.url);
    expect(JSON.parse((await c.get("telemetry:last:rig-b"))!).t).toBe(12);
    c.close();
    const up = events(lines, "telemetry.redis_up");
    expect(up).toHaveLength(1);
    expect(up[0].dropped).toBe(7);
    expect(up[0].down_s).toBe(66);
    expect(pub.status()).toMatchObject({ connected: true, downSince: null, dropped: 0 });
    pub.close();
    await own.stop();
  });
});

describe("telemetry to a Redis that does not answer", () => {
  test("nothing listening: the publish resolves, the refusal is logged once, later publishes wait for the retry", async () => {
    const { lines, log } = capture();
    const pub = new TelemetryRedis(`redis://127.0.0.1:${freePort()}`, "rig", log, { now: () => 5_000 });
    await pub.publish(view(1));
    await pub.publish(view(2));
    expect(events(lines, "telemetry.redis_down")).toHaveLength(1);
    expect(pub.status()).toMatchObject({ connected: false, downSince: 5_000, dropped: 2, published: 0 });
    pub.close();
  });

  test("a server that accepts and never answers: the publish gives up after timeoutMs and resolves", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const { lines, log } = capture();
    const pub = new TelemetryRedis(`redis://127.0.0.1:${silent.port}`, "rig", log, { timeoutMs: 300 });
    await pub.publish(view(1));
    const down = events(lines, "telemetry.redis_down");
    expect(down).toHaveLength(1);
    expect(pub.status().published).toBe(0);
    pub.close();
    silent.stop(true);
  });

  test("a malformed URL is refused with the accepted forms, and the password is never shown", () => {
    const { log } = capture();
    for (const [url, msg] of [
      ["localhost:6379", /scheme localhost: is not one Redis speaks/],
      ["http://127.0.0.1:6379", /scheme http: is not one Redis speaks/],
      ["redis://", /names no host/],
      ["redis+unix://", /names no socket path/],
      ["not a url", /is not a URL; expected redis:\/\//],
    ] as const) {
      expect(() => new TelemetryRedis(url, "rig", log)).toThrow(msg);
    }
    let err: unknown;
    try {
      checkRedisUrl("redis://user:s3cret@/0");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RignodeError);
    expect((err as RignodeError).code).toBe("config");
    expect((err as Error).message).not.toContain("s3cret");
    expect(redactRedisUrl("redis://user:s3cret@db:6379/2")).toBe("redis://user:***@db:6379/2");
    expect(() => new TelemetryRedis("redis://127.0.0.1:6379", "", log)).toThrow(/rig name is empty/);
  });
});

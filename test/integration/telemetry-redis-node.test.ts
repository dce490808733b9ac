// End to end with a real redis-server: a mining node with --telemetry-redis publishes each scored second, and the
// telemetry:* keys hold what GET /api/telemetry shows (the same sample, score, class, advisories and actions).
import { afterAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { mkdtempSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, waitFor } from "../helpers";
import { REDIS_SERVER, redisServer } from "./redis-server";

if (!REDIS_SERVER) console.warn("telemetry-redis-node: no redis-server on PATH (Debian package redis-server); skipped");

describe.skipIf(!REDIS_SERVER)("telemetry keys in Redis from a running node", () => {
  const redis = redisServer();
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    await redis.stop();
  });

  test("telemetry:last:{rig}, :advice: and :actions: hold what /api/telemetry shows, with a TTL", async () => {
    await redis.start();
    const api = freePort();
    const base = `http://127.0.0.1:${api}`;
    const node = Bun.spawn(
      [bin(), "node", "--mine", "--threads", "1", "--p2p", "off", "--api", `127.0.0.1:${api}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-tel-redis-")), "--telemetry-redis", redis.url],
      { stdout: "ignore", stderr: "ignore" },
    );
    procs.push(node);
    await waitFor(async () => ((await fetch(`${base}/health`).catch(() => null))?.ok ? true : undefined), 30_000);
    const client = new RedisClient(redis.url);
    try {
      const rig = hostname();
      // Compare one second: read the API, then the key; retry until both show the same sample (they move each second).
      const both = await waitFor(async () => {
        const view = (await (await fetch(`${base}/api/telemetry`)).json()) as { last: { t: number } | null; advisories: unknown[]; actions: unknown[] };
        const raw = await client.get(`telemetry:last:${rig}`);
        if (!view.last || !raw) return undefined;
        const last = JSON.parse(raw) as { t: number };
        return last.t === view.last.t ? { view, last } : undefined;
      }, 30_000);
      expect(both.last).toEqual(both.view.last!);
      expect(JSON.parse((await client.get(`telemetry:advice:${rig}`))!)).toEqual(both.view.advisories);
      expect(JSON.parse((await client.get(`telemetry:actions:${rig}`))!)).toEqual(both.view.actions);
      const ttl = await client.ttl(`telemetry:last:${rig}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      client.close();
    }
  }, 120_000);
});

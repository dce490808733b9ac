// Telemetry stores: the cost of a Parquet export (an hour, a day and a week of 1 Hz rows) against NDJSON, and the
// CPU the Redis publisher takes per scored second (against a real redis-server on loopback, and with Redis down).
// Run: bun bench/telemetry-store.ts   (needs redis-server on PATH for the publish rows; median of 3 runs)
import { RedisClient } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/core";
import { TelemetryRedis } from "../src/node/telemetry-redis";
import { telemetryRow, toNdjson, toParquet, type Scored, type TelemetryRow, type TelemetryView } from "../src/telemetry";

function scored(i: number): Scored {
  const t = Date.UTC(2026, 10, 26) + i * 1000;
  const f = { value: 1, bits: { up: i % 2 === 0, accel: false, range: false, zpos: true }, stability: 0.9, entropy: 0.4, change: 0.01, alarm: i % 997 === 0 };
  return {
    t,
    sample: {
      t, hashrate: 41e6 + Math.sin(i / 30) * 4e5, perThread: [20.5e6, 20.5e6], hashes: 41e6 * i, accepted: i >> 4, rejected: i >> 9, stale: i >> 11,
      rejectedBy: {}, latencyMs: 12 + (i % 17), tempC: 60 + (i % 23) / 2, energyJ: 65 * i, load: 0.5 + (i % 5) / 10, threads: 2, batch: 64,
      paused: false, thermal: "ok", power: "ac",
    },
    features: { hashrate: f, reject_ratio: f, temperature: f, latency: f, hashes_per_joule: f, load: f, thread_balance: f },
    kpis: { hashesPerJoule: 630_000 + (i % 101), rejectRatio: 0.002, thermalHeadroomC: 35 - (i % 23) / 2, latencyBudget: 0.9 },
    hazard: 0.01, score: 0.95 - (i % 13) / 100, class: i % 600 === 0 ? "minor" : "none", reasons: i % 600 === 0 ? ["hashrate fell 3.1%"] : [],
  };
}

function median3(fn: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = Bun.nanoseconds();
    fn();
    runs.push((Bun.nanoseconds() - t0) / 1e6);
  }
  return runs.sort((a, b) => a - b)[1]!;
}

console.log("telemetry export: rows of 1 Hz history, median of 3 runs");
console.log("span   rows     parquet_ms  parquet_bytes  B/row  ndjson_ms  ndjson_bytes  B/row");
for (const [span, n] of [["1 h", 3600], ["1 d", 86_400], ["7 d", 604_800]] as const) {
  const rows: TelemetryRow[] = Array.from({ length: n }, (_, i) => telemetryRow(scored(i), i % 600 === 0 ? 1 : 0));
  let pq: Uint8Array = new Uint8Array();
  let nd = "";
  const pms = median3(() => (pq = toParquet(rows)));
  const nms = median3(() => (nd = toNdjson(rows)));
  const ndBytes = Buffer.byteLength(nd);
  console.log(
    `${span.padEnd(6)} ${String(n).padEnd(8)} ${pms.toFixed(0).padStart(10)}  ${String(pq.length).padStart(13)}  ${(pq.length / n).toFixed(1).padStart(5)}  ${nms.toFixed(0).padStart(9)}  ${String(ndBytes).padStart(12)}  ${(ndBytes / n).toFixed(0).padStart(5)}`,
  );
}

const N = 3000;
const views: TelemetryView[] = Array.from({ length: N }, (_, i) => ({ last: scored(i), advisories: [], actions: [], rateHz: 1, thresholdsPath: null }));
const log = createLogger({ json: true, level: "error", write: () => {} });

async function cpuPerPublish(pub: TelemetryRedis): Promise<{ cpuUs: number; wallUs: number }> {
  for (let i = 0; i < 100; i++) await pub.publish(views[i]!); // warm-up
  const c0 = process.cpuUsage();
  const t0 = Bun.nanoseconds();
  for (const v of views) await pub.publish(v);
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / N, wallUs: (Bun.nanoseconds() - t0) / 1e3 / N };
}

console.log(`\nredis publish: ${N} scored seconds, awaited one by one; CPU of this process (user+sys) per publish`);
console.log("case            cpu_us  wall_us  share_of_a_core_at_1Hz");
const server = Bun.which("redis-server");
if (server) {
  const port = (() => {
    const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const p = s.port;
    s.stop(true);
    return p;
  })();
  const dir = mkdtempSync(join(tmpdir(), "rignode-redis-"));
  const proc = Bun.spawn([server, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdout: "ignore", stderr: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = new RedisClient(url, { autoReconnect: false, connectionTimeout: 300 });
    const ok = await c.send("PING", []).then(() => true, () => false);
    c.close();
    if (ok) break;
    await Bun.sleep(100);
  }
  const pub = new TelemetryRedis(url, "bench", log);
  const r = await cpuPerPublish(pub);
  console.log(`up (loopback)   ${r.cpuUs.toFixed(0).padStart(6)}  ${r.wallUs.toFixed(0).padStart(7)}  ${(r.cpuUs / 1e6 * 100).toFixed(4)}%`);
  pub.close();
  proc.kill("SIGTERM");
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
} else {
  console.log("up (loopback)   skipped: redis-server is not installed");
}
const down = new TelemetryRedis("redis://127.0.0.1:1", "bench", log); // port 1: refused at once, then the retry wait
const d = await cpuPerPublish(down);
console.log(`down            ${d.cpuUs.toFixed(0).padStart(6)}  ${d.wallUs.toFixed(0).padStart(7)}  ${(d.cpuUs / 1e6 * 100).toFixed(4)}%`);
down.close();

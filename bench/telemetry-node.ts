// The node side of telemetry's overhead: µs per sample for the sampler (counters, sensors view, loadavg), the scorer
// (whatever src/telemetry's Telemetry is in this build), the history (SQLite, batched) and the whole tick, and the
// share of one core that is at 1 Hz and at the 5 Hz burst rate. Prints a table; asserts nothing.
//   bun bench/telemetry-node.ts [samples]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_THRESHOLDS, Telemetry } from "../src/telemetry";
import { Sampler } from "../src/node/telemetry";
import { TelemetryHistory } from "../src/node/telemetry-history";
import type { MiningEngine } from "../src/miner";

const N = Number(process.argv[2] ?? 20_000);
const threads = 8;
let hashes = Array(threads).fill(0);
const engine = {
  heldBy: () => ({}),
  stats: () => ({
    threads, activeWorkers: threads, batch: 1 << 20, state: "running", hashes: hashes.reduce((a, b) => a + b, 0),
    hashrate: { "10s": 0, "60s": 0, "15m": 0 }, perThread: hashes.map((h, i) => ({ thread: i, cpu: i, hashes: h, hashrate: { "10s": 0, "60s": 0, "15m": 0 } })), found: 0, staleDropped: 0,
  }),
} as unknown as MiningEngine;
let now = Date.now();
const sampler = new Sampler({ engine, unitNonces: 65_536, shares: () => ({ accepted: 10, rejected: 1, stale: 0, rejectedBy: {}, latencyMs: 20 }) }, () => now);
const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS, now: () => now });
const hist = TelemetryHistory.open(mkdtempSync(join(tmpdir(), "rignode-bench-tel-")), 7, null, () => now);

const cost = { sample: 0, push: 0, history: 0 };
for (let i = 0; i < N; i++) {
  now += 1000;
  hashes = hashes.map((h) => h + 4_000_000 + Math.random() * 100_000);
  let t0 = performance.now();
  const s = sampler.sample();
  let t1 = performance.now();
  cost.sample += t1 - t0;
  t0 = t1;
  const sc = tel.push(s);
  t1 = performance.now();
  cost.push += t1 - t0;
  t0 = t1;
  hist.add(sc, 0);
  cost.history += performance.now() - t0;
}
hist.close();
const us = (ms: number) => (ms * 1000) / N;
const total = us(cost.sample + cost.push + cost.history);
console.log(`telemetry node overhead, ${N} samples, ${threads} threads (scorer: ${Telemetry.name} from src/telemetry in this build)`);
console.log("part        µs/sample");
console.log(`sampler     ${us(cost.sample).toFixed(1)}`);
console.log(`scorer      ${us(cost.push).toFixed(1)}`);
console.log(`history     ${us(cost.history).toFixed(1)}`);
console.log(`tick        ${total.toFixed(1)}`);
console.log(`core share at 1 Hz: ${((total / 1e6) * 100).toFixed(4)}%   at 5 Hz: ${((total * 5) / 1e6 * 100).toFixed(4)}%`);

// The detectors on this machine's real noise: a trace recorded by bench/telemetry-record.ts (the real engine sampled
// at 1 Hz as the node does) is stretched to days by a moving-block bootstrap of its change-free part (blocks of 120 s
// drawn at random and joined, which keeps the autocorrelation within a block; the joins add small level steps, so the
// false-alarm count is if anything pessimistic), then each detector runs over it: false alarms per 24 h, and the
// delay of a 10% drop injected at a random second of fresh bootstrap traces. Also the recorded event itself.
//   bun bench/telemetry-real.ts TRACE.json [days=10] [drops=300]
import { readFileSync } from "node:fs";
import { BlockCusum, DEFAULT_THRESHOLDS as T, PageHinkley, TextbookCusum } from "../src/telemetry";
import { rng } from "./telemetry-traces";

const [file, daysArg, dropsArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: bun bench/telemetry-real.ts TRACE.json [days=10] [drops=300]");
  process.exit(2);
}
const DAYS = Number(daysArg ?? 10);
const DROPS = Number(dropsArg ?? 300);
const BLOCK = 120;
const rec = JSON.parse(readFileSync(file, "utf8")) as { algo: string; duty: number; before: number; during: number; after: number; hashrate: number[] };
// The change-free part: after 10 s of start-up, up to the competitor.
const base = rec.hashrate.slice(10, rec.before - 1).filter((x) => Number.isFinite(x));
if (base.length < 4 * BLOCK) throw new Error(`${file}: ${base.length} change-free seconds; record at least ${4 * BLOCK} (--before)`);

type Det = { push(x: number): { alarm: boolean } };
const DETECTORS: Record<string, () => Det> = {
  ours: () => new BlockCusum({ ...T.detector, relFloor: T.floors.hashrate.rel, absFloor: T.floors.hashrate.abs }),
  "textbook CUSUM h=5": () => new TextbookCusum(5, 0.5),
  "Page–Hinkley": () => new PageHinkley(),
};

/** Endless bootstrap samples: random 120 s blocks of the recorded change-free seconds, one after another. */
function* bootstrap(seed: number): Generator<number> {
  const r = rng(seed);
  for (;;) {
    const at = Math.floor(r() * (base.length - BLOCK));
    for (let i = 0; i < BLOCK; i++) yield base[at + i]!;
  }
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const m = mean(base);
const sd = Math.sqrt(mean(base.map((x) => (x - m) ** 2)));
let ac = 0;
for (let i = 1; i < base.length; i++) ac += (base[i]! - m) * (base[i - 1]! - m);
console.log(`real trace ${file}: ${rec.algo}, ${base.length} change-free seconds, level ${(m / 1e6).toFixed(3)} MH/s, CV ${((100 * sd) / m).toFixed(2)}%, lag-1 autocorrelation ${(ac / (base.length * sd * sd)).toFixed(2)}`);
console.log(`bootstrap: ${DAYS} days of ${BLOCK} s blocks for false alarms; ${DROPS} traces with a 10% drop at 600..900 s\n`);
console.log(`${"detector".padEnd(20)} ${"false alarms / 24 h".padStart(20)} ${"drop p50".padStart(9)} ${"p95".padStart(5)} ${"missed".padStart(7)}   recorded event (competitor ${rec.duty * 100}% busy)`);
for (const [name, make] of Object.entries(DETECTORS)) {
  let alarms = 0;
  const d = make();
  let i = 0;
  for (const x of bootstrap(7)) {
    if (d.push(x).alarm) alarms++;
    if (++i >= DAYS * 86_400) break;
  }
  const delays: number[] = [];
  for (let k = 0; k < DROPS; k++) {
    const at = 600 + ((k * 37) % 300);
    const dd = make();
    let j = 0;
    for (const x of bootstrap(1000 + k)) {
      // The drop shows in the 5 s window over 5 s, as the sampler's window would show it.
      const f = j < at ? 1 : 1 - 0.1 * Math.min(1, (j - at + 1) / 5);
      if (dd.push(x * f).alarm && j >= at) {
        delays.push(j - at);
        break;
      }
      if (++j > at + 300) break;
    }
  }
  delays.sort((a, b) => a - b);
  const q = (p: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(delays.length * p))]! : NaN);
  // The recorded event: the whole recording through a fresh detector.
  const de = make();
  const at: number[] = [];
  rec.hashrate.forEach((x, n) => Number.isFinite(x) && de.push(x).alarm && at.push(n));
  const pre = at.filter((n) => n < rec.before - 1).length;
  const first = at.find((n) => n >= rec.before - 1);
  console.log(
    `${name.padEnd(20)} ${(alarms / DAYS).toFixed(2).padStart(20)} ${String(q(0.5)).padStart(9)} ${String(q(0.95)).padStart(5)} ${String(DROPS - delays.length).padStart(7)}   ${pre} alarms before it, first after it at ${first === undefined ? "none" : `+${first - (rec.before - 1)} s`}`,
  );
}

// A real trace for the telemetry study: this machine's engine (1 thread) sampled at 1 Hz as the node would (a 5 s
// window over the hash counter), with an injected event — a competing process on the miner's CPU, busy a set share
// of the time — then the detectors of bench/telemetry-study.ts run over it. Pin the whole run to one CPU so the
// competitor shares the miner's core:
//   taskset -c 0 bun bench/telemetry-record.ts [--before 180] [--during 60] [--after 60] [--duty 0.2] [--algo sha256d] [--threads 1]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Algo, JobSource, MinerJob } from "../src/core";
import { loadKernel } from "../src/kernel";
import { MiningEngine, defaultBatch } from "../src/miner";
import { BlockCusum, DEFAULT_THRESHOLDS as T, PageHinkley, TextbookCusum } from "../src/telemetry";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const before = Number(opt("before", "180"));
const during = Number(opt("during", "60"));
const after = Number(opt("after", "60"));
const duty = Number(opt("duty", "0.2"));
const algo = opt("algo", "sha256d") as Algo;
const threads = Number(opt("threads", "1"));

const { info: kernel } = await loadKernel("auto");
let n = 0;
const job = (): MinerJob => ({ id: `j${++n}`, algo, header: new Uint8Array(80).map((_, i) => (i * 29 + n) & 0xff), target: new Uint8Array(32) });
const source: JobSource = { nextJob: () => job(), found: () => {} };
const claimsDir = mkdtempSync(join(tmpdir(), "rignode-telemetry-record-"));
const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch: defaultBatch(algo), source, claimsDir });
await engine.start();
engine.setJob(job());
await Bun.sleep(3000);

// The competitor: busy `duty` of every 100 ms, on whatever CPUs this process may use (taskset is inherited).
const busy = `const d=${duty};for(;;){const t=performance.now();while(performance.now()-t<100*d);await Bun.sleep(100*(1-d));}`;
const counts: number[] = [];
const rates: number[] = [];
let competitor: ReturnType<typeof Bun.spawn> | null = null;
const total = before + during + after;
const t0 = performance.now();
for (let s = 0; s <= total; s++) {
  await Bun.sleep(Math.max(0, t0 + s * 1000 - performance.now()));
  counts.push(engine.totalHashes());
  const back = Math.min(5, counts.length - 1);
  rates.push(back ? (counts[counts.length - 1]! - counts[counts.length - 1 - back]!) / back : NaN);
  if (s === before) competitor = Bun.spawn([process.execPath, "-e", busy], { stdout: "ignore", stderr: "ignore" });
  if (s === before + during) competitor?.kill();
}
await engine.stop();
rmSync(claimsDir, { recursive: true, force: true });
const xs = rates.slice(1);
const file = join(tmpdir(), `rignode-telemetry-trace-${Date.now()}.json`);
writeFileSync(file, JSON.stringify({ algo, duty, before, during, after, hashrate: xs }));

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const base = xs.slice(10, before - 1);
const m = mean(base);
const sd = Math.sqrt(mean(base.map((x) => (x - m) ** 2)));
let ac = 0;
for (let i = 1; i < base.length; i++) ac += (base[i]! - m) * (base[i - 1]! - m);
const drop = 1 - mean(xs.slice(before + 5, before + during - 1)) / m;
console.log(`real trace (${algo}, ${threads} thread(s), kernel ${kernel.variant}): ${xs.length} s, level ${(m / 1e6).toFixed(3)} MH/s, CV ${(100 * sd / m).toFixed(2)}%, lag-1 autocorrelation ${(ac / (base.length * sd * sd)).toFixed(2)}; competitor (${duty * 100}% busy) from ${before} s to ${before + during} s: hashrate −${(drop * 100).toFixed(1)}%; saved ${file}`);
const dets = {
  ours: new BlockCusum({ ...T.detector, relFloor: T.floors.hashrate.rel, absFloor: T.floors.hashrate.abs }),
  "textbook CUSUM h=5": new TextbookCusum(5, 0.5),
  "Page–Hinkley": new PageHinkley(),
};
for (const [name, d] of Object.entries(dets)) {
  const at: string[] = [];
  xs.forEach((x, i) => d.push(x).alarm && at.push(String(i)));
  const pre = at.map(Number).filter((i) => i < before - 1).length;
  const first = at.map(Number).find((i) => i >= before - 1);
  console.log(`${name.padEnd(20)} alarms before the event: ${pre}; first at/after it: ${first === undefined ? "none" : `+${first - (before - 1)} s`}; all: ${at.join(",") || "none"}`);
}

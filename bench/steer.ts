// The cost of steering the engine (the "governance costs <= 0.5%" A/B groundwork). One engine (2 threads by default)
// mines without a break; phases alternate: A = left alone, B = steered as a governor would (stats() read every
// second, setThreads(N) — a no-op — and a setBatch toggle 16 <-> 15 units every --every seconds; the batch is back at
// 16 units when a B phase ends). Each adjacent A/B pair gives a ratio, so drift on a shared machine cancels out.
// Two measures: hashes per wall second, and hashes per CPU second of this process (process.cpuUsage: what other
// processes take from our threads does not count against either phase).
// usage: bun run bench/steer.ts [--phase S] [--pairs P] [--every S] [--algo sha256d|scrypt] [--threads N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKernel } from "../src/kernel";
import { MiningEngine, defaultBatch } from "../src/miner";
import type { Algo, JobSource, MinerJob } from "../src/core";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const phase = Number(opt("phase", "10"));
const pairs = Number(opt("pairs", "10"));
const every = Number(opt("every", "5"));
const algo = opt("algo", "sha256d") as Algo;
const threads = Number(opt("threads", "2"));

const { info: kernel } = await loadKernel("auto");
const batch = defaultBatch(algo);
const unit = batch / 16;

// Endless work: a fresh header whenever a range is used up; an impossible target, so no result traffic.
let n = 0;
const job = (): MinerJob => ({ id: `j${++n}`, algo, header: new Uint8Array(80).map((_, i) => (i * 29 + n) & 0xff), target: new Uint8Array(32) });
const source: JobSource = { nextJob: () => job(), found: () => {} };

const claimsDir = mkdtempSync(join(tmpdir(), "rignode-steer-bench-"));
const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch, source, claimsDir });
await engine.start();
engine.setJob(job());
await Bun.sleep(2000); // warm-up

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function measure(steered: boolean): Promise<{ hs: number; hcpu: number }> {
  const timers: ReturnType<typeof setInterval>[] = [];
  let small = false;
  if (steered) {
    timers.push(setInterval(() => engine.stats(), 1000));
    timers.push(
      setInterval(() => {
        void engine.setThreads(threads, "bench: no-op");
        small = !small;
        engine.setBatch(small ? batch - unit : batch, "bench: toggle");
      }, every * 1000),
    );
  }
  const h0 = engine.totalHashes();
  const t0 = performance.now();
  const c0 = cpuNow();
  await Bun.sleep(phase * 1000);
  const dh = engine.totalHashes() - h0;
  const dt = (performance.now() - t0) / 1000;
  const dc = cpuNow() - c0;
  for (const t of timers) clearInterval(t);
  if (small) engine.setBatch(batch, "bench: restore");
  return { hs: dh / dt, hcpu: dh / dc };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const scale = algo === "sha256d" ? 1e6 : 1e3;
const unitName = algo === "sha256d" ? "MH/s" : "kH/s";

const wall: number[] = [];
const perCpu: number[] = [];
const as: number[] = [];
const bs: number[] = [];
for (let p = 0; p < pairs; p++) {
  // ABBA order over two pairs: neither phase always comes first.
  const first = p % 2 === 0;
  const x = await measure(!first);
  const y = await measure(first);
  const [a, b] = first ? [x, y] : [y, x];
  as.push(a.hs);
  bs.push(b.hs);
  wall.push(b.hs / a.hs);
  perCpu.push(b.hcpu / a.hcpu);
  console.error(
    `pair ${p + 1}: fixed ${(a.hs / scale).toFixed(2)} ${unitName} (${(a.hcpu / scale).toFixed(2)} per CPU-s), steered ${(b.hs / scale).toFixed(2)} ${unitName} (${(b.hcpu / scale).toFixed(2)} per CPU-s)`,
  );
}
const c = engine.changes(); // those of the B phases
// How long a real change takes to settle: retiring one thread (it finishes its batch first) and adding it back
// (a Worker started, the kernel loaded, the thread pinned).
const retireMs: number[] = [];
const addMs: number[] = [];
if (threads > 1) {
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    await engine.setThreads(threads - 1, "bench: retire");
    retireMs.push(performance.now() - t);
    t = performance.now();
    await engine.setThreads(threads, "bench: add");
    addMs.push(performance.now() - t);
    await Bun.sleep(500);
  }
}
await engine.stop();
rmSync(claimsDir, { recursive: true, force: true });
const pct = (r: number) => `${((r - 1) * 100).toFixed(2)}%`;
console.log(`| algo | kernel | threads | phase | pairs | fixed (median) | steered (median) | steered/fixed per wall s (median pair) | per CPU s (median pair) | changes |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
console.log(
  `| ${algo} | ${kernel.variant} | ${threads} | ${phase} s | ${pairs} | ${(median(as) / scale).toFixed(2)} ${unitName} | ${(median(bs) / scale).toFixed(2)} ${unitName} | ${median(wall).toFixed(4)} (${pct(median(wall))}) | ${median(perCpu).toFixed(4)} (${pct(median(perCpu))}) | batch ${c.batch}, threads ${c.threads} |`,
);
console.log(`pair ratios per wall s: min ${Math.min(...wall).toFixed(4)} max ${Math.max(...wall).toFixed(4)}; per CPU s: min ${Math.min(...perCpu).toFixed(4)} max ${Math.max(...perCpu).toFixed(4)}`);
if (retireMs.length) console.log(`settle time (median of 5): retire one thread ${median(retireMs).toFixed(1)} ms (batch ${batch}), add one ${median(addMs).toFixed(1)} ms`);

// The auto-tuner on simulated rigs (test/tune-sim.ts): per shape, how often the choice is within 2% of the true best,
// the evaluation windows used (median / 95th / max), and on a flat rig (every candidate equal) the false-win rate —
// how often the tuner moves away from its start although nothing is better.
// usage: bun run bench/tune-sim.ts [--seeds 1000] [--threads 8,2] [--noise 0.03] [--window-noise 0.005] [--sub-windows 12]
// (--sub-windows 24 models 120 s windows of 5 s sub-windows: what a noisier machine needs)
import { MAX_WINDOWS } from "../src/tuning/autotune";
import { DEFAULT_NOISE, flatRig, runSession, shapes, trueBest, type RigShape } from "../test/tune-sim";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seeds = Number(opt("seeds", "1000"));
const threadRanges = opt("threads", "8,2").split(",").map(Number);
const subWindows = Number(opt("sub-windows", "12"));
const noise = { sub: Number(opt("noise", String(DEFAULT_NOISE.sub))), window: Number(opt("window-noise", String(DEFAULT_NOISE.window))) };

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** "threads/batch" of the true best; "any" for a knob that does not matter. */
function bestLabel(s: RigShape, c: { threads: number; batch: number }): string {
  const r = s.rate(c.threads, c.batch);
  const anyBatch = Array.from({ length: s.maxBatch }, (_, i) => s.rate(c.threads, i + 1)).every((x) => x === r);
  const anyThreads = Array.from({ length: s.maxThreads }, (_, i) => s.rate(i + 1, c.batch)).every((x) => x === r);
  return `${anyThreads ? "any" : c.threads}/${anyBatch ? "any" : c.batch}`;
}

function run(s: RigShape) {
  let ok = 0;
  let moved = 0;
  let worst = 1;
  const evals: number[] = [];
  const start = { threads: s.maxThreads, batch: 16 };
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSession(s, seed, { noise, subWindows });
    if (r.ratio >= 0.98) ok++;
    if (r.chosen.threads !== start.threads || r.chosen.batch !== start.batch) moved++;
    worst = Math.min(worst, r.ratio);
    evals.push(r.evaluations);
  }
  return { ok: ok / seeds, moved: moved / seeds, worst, med: pct(evals, 0.5), p95: pct(evals, 0.95), max: Math.max(...evals) };
}

console.log(`auto-tuner on simulated rigs: ${seeds} seeds per shape, batch 1..32, ${subWindows} sub-windows per window,`);
console.log(`noise: ${(noise.sub * 100).toFixed(1)}% per sub-window, ${(noise.window * 100).toFixed(1)}% per window; budget ${MAX_WINDOWS} windows`);
console.log("");
console.log(["threads", "shape", "true best", "start/best", "within 2%", "worst", "evals med", "p95", "max"].map((h, i) => (i < 2 ? h.padEnd(i ? 22 : 8) : h.padStart(11))).join(""));
for (const n of threadRanges) {
  for (const s of [...shapes(n), flatRig(n)]) {
    const best = trueBest(s);
    const r = run(s);
    const startRatio = s.rate(n, 16) / best.rate;
    const row = [
      `1..${n}`.padEnd(8),
      s.name.padEnd(22),
      bestLabel(s, best.candidate).padStart(11),
      `${(startRatio * 100).toFixed(1)}%`.padStart(11),
      `${(r.ok * 100).toFixed(1)}%`.padStart(11),
      `${(r.worst * 100).toFixed(1)}%`.padStart(11),
      String(r.med).padStart(11),
      String(r.p95).padStart(11),
      String(r.max).padStart(11),
    ];
    console.log(row.join("") + (s.name === "flat" ? `   false-win rate ${(r.moved * 100).toFixed(1)}%` : ""));
  }
}

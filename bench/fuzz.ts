// Fuzz totals: N seeded, structure-aware mutations of valid inputs per parser (Stratum JSON lines and sessions, native
// frames in both msgpack profiles, P2P messages, canonical msgpack, blocks, transactions, headers, the config loader,
// the HTTP API's write routes). Prints per parser: inputs, crashes, seconds, peak RSS, slowest input; then each
// crash with the command that replays it. Exit 1 when any parser crashed.
// usage: bun run bench/fuzz.ts [--n 1000000] [--seed S] [--only a,b] [--from I] [--keep K] [--tally]
// (--tally: what the inputs did per parser, accepted or refused by which check: the mutations reach past the first check)
import { runTarget, type RunResult } from "../test/fuzz/runner";
import { makeTarget, TARGET_NAMES } from "../test/fuzz/targets";

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1]! : d);
const N = Number(opt("n", "1000000"));
const SEED = Number(opt("seed", String((Date.now() ^ (process.pid << 16)) >>> 0)));
const FROM = Number(opt("from", "0"));
const KEEP = Number(opt("keep", "5"));
const only = opt("only", "");
const names = only ? only.split(",") : TARGET_NAMES;
if (!Number.isSafeInteger(N) || N < 1 || !Number.isSafeInteger(SEED)) throw new Error("--n and --seed take whole numbers");

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
console.log(`fuzz: seed ${SEED}, ${N} inputs per parser from index ${FROM}; parsers: ${names.join(", ")}`);
const results: RunResult[] = [];
const t0 = performance.now();
for (const name of names) {
  const target = await makeTarget(name);
  let last = performance.now();
  const r = await runTarget(target, {
    n: N, seed: SEED, from: FROM, keep: KEEP,
    onProgress: (done) => {
      if (performance.now() - last < 30_000) return;
      last = performance.now();
      console.log(`  ${name}: ${done} inputs, rss ${mb(process.memoryUsage.rss())}`);
    },
  });
  await target.close?.();
  results.push(r);
  console.log(`${name.padEnd(16)} inputs ${r.inputs}  crashes ${r.crashes}  ${r.seconds.toFixed(1)} s  peak RSS ${mb(r.peakRss)} (start ${mb(r.startRss)})  slowest ${r.slowestMs.toFixed(1)} ms (#${r.slowestIndex})`);
  if (target.tally?.size && args.includes("--tally")) {
    const top = [...target.tally].sort((x, y) => y[1] - x[1]).slice(0, 12);
    for (const [k, v] of top) console.log(`    ${String(v).padStart(8)}  ${k}`);
  }
  for (const c of r.first) {
    console.log(`  CRASH #${c.index}: ${c.error}\n    input: ${c.input.slice(0, 600)}\n    replay: bun run bench/fuzz.ts --only ${name} --seed ${c.seed} --from ${c.index} --n 1`);
  }
}
const total = results.reduce((a, r) => ({ inputs: a.inputs + r.inputs, crashes: a.crashes + r.crashes }), { inputs: 0, crashes: 0 });
console.log("\n| parser | inputs | crashes | seconds | peak RSS | slowest input |\n|---|---:|---:|---:|---:|---:|");
for (const r of results) console.log(`| ${r.target} | ${r.inputs} | ${r.crashes} | ${r.seconds.toFixed(1)} | ${mb(r.peakRss)} | ${r.slowestMs.toFixed(0)} ms |`);
console.log(`| total | ${total.inputs} | ${total.crashes} | ${((performance.now() - t0) / 1000).toFixed(1)} | ${mb(Math.max(...results.map((r) => r.peakRss)))} | |`);
console.log(`seed ${SEED}`);
process.exit(total.crashes ? 1 : 0);

// Hashrate table through the compiled binary: every kernel variant this CPU runs, 1 and N threads, a few batch sizes.
// usage: bun run bench/variants.ts [--seconds S] [--runs R] [--algo sha256d|scrypt] [--batches a,b,c]
// Prints a markdown table of medians. Run on an idle machine; compare ratios within one run.
import { join } from "node:path";
import { availableParallelism } from "node:os";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = Number(opt("seconds", "5"));
const runs = Number(opt("runs", "3"));
const algos = opt("algo", "sha256d,scrypt").split(",");
const batchesArg = opt("batches", "");
const BIN = join(import.meta.dir, "..", "dist", "rignode");

interface Row { algo: string; variant: string; impl: string; threads: number; batch: number; hs: number[] }

function bench(algo: string, variant: string, threads: number, batch: number | "auto"): { hs: number; batch: number; variant: string; impl: string } {
  const p = Bun.spawnSync([BIN, "bench", "--algo", algo, "--threads", String(threads), "--batch", String(batch), "--seconds", String(seconds), "--json", "--kernel", variant]);
  if (p.exitCode !== 0) throw new Error(`bench failed: ${p.stderr.toString()}`);
  const j = JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
  return { hs: j.hashrate_hs, batch: j.batch, variant: j.kernel_variant, impl: j.impl };
}

const version = Bun.spawnSync([BIN, "--version"]).stdout.toString();
const supported = /CPU supports ([^;]+);/.exec(version)?.[1]?.split(", ") ?? ["baseline"];
const maxThreads = availableParallelism();
const rows: Row[] = [];
for (const algo of algos) {
  const batches: (number | "auto")[] = batchesArg ? batchesArg.split(",").map(Number) : ["auto"];
  for (const variant of supported) {
    for (const threads of [...new Set([1, maxThreads])]) {
      for (const b of batches) {
        const hs: number[] = [];
        let batch = 0;
        let impl = "";
        for (let r = 0; r < runs; r++) {
          const res = bench(algo, variant, threads, b);
          hs.push(res.hs);
          batch = res.batch;
          impl = res.impl;
        }
        rows.push({ algo, variant, impl, threads, batch, hs });
        const m = median(hs);
        console.error(`${algo} ${variant} ${threads}T batch ${batch}: ${fmt(m)} (runs: ${hs.map(fmt).join(", ")})`);
      }
    }
  }
}

console.log(`\n${version.trim().split("\n")[0]}; ${seconds} s per run, median of ${runs}\n`);
console.log("| algo | kernel | impl | threads | batch | hashrate (median) | per thread | scaling vs 1 thread |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const one = rows.find((x) => x.algo === r.algo && x.variant === r.variant && x.batch === r.batch && x.threads === 1);
  const m = median(r.hs);
  const scale = one ? (m / median(one.hs)).toFixed(2) + "×" : "";
  console.log(`| ${r.algo} | ${r.variant} | ${r.impl} | ${r.threads} | ${r.batch} | ${fmt(m)} | ${fmt(m / r.threads)} | ${scale} |`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function fmt(hs: number): string {
  if (hs >= 1e6) return `${(hs / 1e6).toFixed(2)} MH/s`;
  if (hs >= 1e3) return `${(hs / 1e3).toFixed(2)} kH/s`;
  return `${hs.toFixed(0)} H/s`;
}

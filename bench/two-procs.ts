// Two rignode processes on one host: `rignode bench --threads 1` alone, then two at once (each pins its own CPU
// through the claims directory), alternating; prints each run's hashrates and the median of (a + b) / alone.
// usage: bun run build.ts && bun run bench/two-procs.ts [--seconds S] [--runs R] [--algo A]
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = opt("seconds", "10");
const runs = Number(opt("runs", "5"));
const algo = opt("algo", "sha256d");
const BIN = join(import.meta.dir, "..", "dist", "rignode");

async function bench(): Promise<{ hs: number; cpu: number | null }> {
  const p = Bun.spawn([BIN, "bench", "--algo", algo, "--threads", "1", "--seconds", seconds, "--json"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  if (code !== 0) throw new Error(`rignode bench exited ${code}`);
  const r = JSON.parse(out.trim().split("\n").at(-1)!);
  return { hs: r.hashrate_hs, cpu: r.pinned_cpus[0] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios: number[] = [];
for (let i = 0; i < runs; i++) {
  const alone = await bench();
  const [a, b] = await Promise.all([bench(), bench()]);
  const r = (a.hs + b.hs) / alone.hs;
  ratios.push(r);
  console.log(`run ${i + 1}: alone ${(alone.hs / 1e6).toFixed(2)} MH/s (cpu ${alone.cpu}); together ${(a.hs / 1e6).toFixed(2)} (cpu ${a.cpu}) + ${(b.hs / 1e6).toFixed(2)} (cpu ${b.cpu}) MH/s = ${r.toFixed(3)}x`);
}
console.log(`median (a + b) / alone over ${runs} runs: ${median(ratios).toFixed(3)}x`);

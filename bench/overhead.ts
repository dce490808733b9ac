// Engine + FFI overhead: 1-thread hashrate through dist/rignode (Workers, bun:ffi, the kernel) against the Zig-only
// benchmark executable (rn_scan in a loop, no FFI) on the same variant and implementation, alternating runs.
// usage: bun run build.ts --zig-bench && bun run bench/overhead.ts [--seconds S] [--runs R] [--algo A] [--kernel V]
import { join } from "node:path";
import { existsSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = opt("seconds", "10");
const runs = Number(opt("runs", "3"));
const algos = opt("algo", "sha256d,scrypt").split(",");
const ROOT = join(import.meta.dir, "..");
const BIN = join(ROOT, "dist", "rignode");

function json(cmd: string[]): Record<string, unknown> {
  const p = Bun.spawnSync(cmd);
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}`);
  return JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

console.log(`| algo | kernel | impl | batch | Zig-only (median) | rignode bench, 1 thread (median) | engine / Zig |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const algo of algos) {
  // Let rignode pick variant and implementation as it would, then run the Zig executable on the same ones.
  const probe = json([BIN, "bench", "--algo", algo, "--threads", "1", "--seconds", "0.5", "--json", "--kernel", opt("kernel", "auto")]);
  const variant = String(probe.kernel_variant);
  const impl = String(probe.impl);
  const batch = String(probe.batch);
  const zigBin = join(ROOT, "zig-hash", "zig-out", `rnbench-${variant}`);
  if (!existsSync(zigBin)) throw new Error(`${zigBin} missing: run 'bun run build.ts --zig-bench'`);
  const zig: number[] = [];
  const eng: number[] = [];
  for (let r = 0; r < runs; r++) {
    zig.push(Number(json([zigBin, algo, seconds, batch, impl]).hashrate_hs));
    eng.push(Number(json([BIN, "bench", "--algo", algo, "--threads", "1", "--seconds", seconds, "--json", "--kernel", variant]).hashrate_hs));
    console.error(`${algo} run ${r + 1}: zig ${zig[r]!.toFixed(0)} H/s, engine ${eng[r]!.toFixed(0)} H/s`);
  }
  const z = median(zig);
  const e = median(eng);
  console.log(`| ${algo} | ${variant} | ${impl} | ${batch} | ${(z / 1e3).toFixed(1)} kH/s | ${(e / 1e3).toFixed(1)} kH/s | ${(e / z).toFixed(3)} |`);
}

// Telemetry's cost to the hashrate, measured on the real binary: a mining node (dist/rignode node --mine) run with
// --telemetry=false (A) and with telemetry on (B), alternated A B A B …, each run warmed up and then measured over a
// window by the engine's hash counter (GET /api/miner). Also the node's CPU time per second (utime + stime from
// /proc), which is where telemetry's own cost shows. Prints each run and the median B/A ratio; asserts nothing.
// Run it on a quiet machine; a busy one shows only its own noise.
//   bun run build.ts && bun bench/telemetry-ab.ts [--pairs 5] [--window 45] [--warmup 15] [--threads 2]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const pairs = Number(opt("pairs", "5"));
const window = Number(opt("window", "45"));
const warmup = Number(opt("warmup", "15"));
const threads = opt("threads", "2");
const BIN = join(import.meta.dir, "..", "dist", "rignode");
const TICK = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / TICK; // utime, stime: fields 14 and 15
}

async function hashes(api: string): Promise<number> {
  const r = await fetch(`http://${api}/api/miner`);
  return ((await r.json()) as { hashes: number }).hashes;
}

async function run(telemetry: boolean, port: number): Promise<{ hs: number; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), "rignode-telemetry-ab-"));
  const api = `127.0.0.1:${port}`;
  const p = Bun.spawn(
    [BIN, "node", "--mine", "--threads", threads, "--p2p", "off", "--api", api, "--data-dir", dir, `--telemetry=${telemetry}`],
    { stdout: "ignore", stderr: "ignore" },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        await hashes(api);
        break;
      } catch {
        if (i > 100) throw new Error("the node did not start");
        await Bun.sleep(100);
      }
    }
    await Bun.sleep(warmup * 1000);
    const h0 = await hashes(api);
    const c0 = cpuSeconds(p.pid);
    const t0 = performance.now();
    await Bun.sleep(window * 1000);
    const h1 = await hashes(api);
    const c1 = cpuSeconds(p.pid);
    const dt = (performance.now() - t0) / 1000;
    return { hs: (h1 - h0) / dt, cpu: (c1 - c0) / dt };
  } finally {
    p.kill();
    await p.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const ratios: number[] = [];
console.log(`threads ${threads}, ${pairs} pairs, ${warmup} s warm-up, ${window} s window`);
for (let i = 0; i < pairs; i++) {
  const a = await run(false, 18900 + 2 * i);
  const b = await run(true, 18901 + 2 * i);
  ratios.push(b.hs / a.hs);
  console.log(
    `pair ${i + 1}: off ${(a.hs / 1e6).toFixed(2)} MH/s (${a.cpu.toFixed(3)} CPU-s/s)  on ${(b.hs / 1e6).toFixed(2)} MH/s (${b.cpu.toFixed(3)} CPU-s/s)  on/off ${b.hs / a.hs >= 1 ? "+" : ""}${((b.hs / a.hs - 1) * 100).toFixed(2)}%`,
  );
}
console.log(`median on/off ${((median(ratios) - 1) * 100).toFixed(2)}% over ${pairs} pairs; range ${((Math.min(...ratios) - 1) * 100).toFixed(2)}% .. ${((Math.max(...ratios) - 1) * 100).toFixed(2)}%`);

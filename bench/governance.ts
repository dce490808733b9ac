// What steering costs at steady state: one 2-thread engine on a benchmark job runs throughout, and phases of S
// seconds alternate (ABBA) between left alone (A) and steered (B: the rig controller reading the sensors and
// deciding every --poll seconds, default 1 = five times the default rate; a settled tuner adds only a counter read).
// One engine for both sides, so thread placement and the kernel path chosen at start are the same.
// usage: bun run bench/governance.ts [--seconds S] [--pairs N] [--algo A] [--poll S]
import { loadKernel } from "../src/kernel";
import { MiningEngine } from "../src/miner";
import { DEFAULTS, type Config } from "../src/config";
import { createLogger } from "../src/core";
import { BenchSource } from "../src/node/bench";
import { planRig, startRig, type Rig } from "../src/node/rig";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = Number(opt("seconds", "10"));
const pairs = Number(opt("pairs", "8"));
const algo = opt("algo", "sha256d") as "sha256d" | "scrypt";
const poll = Number(opt("poll", "1"));
const log = createLogger({ json: true, level: "error" });
const { info: kernel } = await loadKernel("auto");
const config: Config = {
  ...DEFAULTS,
  dataDir: ":memory:",
  miner: { ...DEFAULTS.miner, algo, threads: 2, batch: "auto" },
  tuning: { ...DEFAULTS.tuning, pollSeconds: poll, autoTune: false },
};
const plan = planRig(config, algo, log, null);
const source = new BenchSource(algo);
const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: plan.batchNonces, source, cpuOrder: plan.cpuOrder, claimsDir: null });
await engine.start();
engine.setJob(source.job());
await Bun.sleep(2000); // warm-up

async function phase(steered: boolean): Promise<number> {
  const rig: Rig | null = steered ? startRig(planRig(config, algo, log, ":memory:"), config, engine, algo, log) : null;
  const h0 = engine.totalHashes();
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const hs = ((engine.totalHashes() - h0) * 1000) / (performance.now() - t0);
  rig?.stop();
  return hs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios: number[] = [];
for (let i = 0; i < pairs; i++) {
  const order = i % 2 === 0 ? [false, true] : [true, false];
  const r: Record<string, number> = {};
  for (const s of order) r[s ? "steered" : "bare"] = await phase(s);
  ratios.push(r.steered! / r.bare!);
  console.log(`pair ${i + 1}: bare ${(r.bare! / 1e6).toFixed(2)} MH/s, steered (poll ${poll} s) ${(r.steered! / 1e6).toFixed(2)} MH/s, ratio ${(r.steered! / r.bare!).toFixed(4)}`);
}
await engine.stop();
console.log(`median steered / bare over ${pairs} pairs: ${median(ratios).toFixed(4)} (cost ${((1 - median(ratios)) * 100).toFixed(2)}%); pinned ${engine.stats().perThread.map((t) => t.cpu).join(",")}`);

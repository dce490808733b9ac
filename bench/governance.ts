// What steering costs: the same engine (2 threads, benchmark job) with and without the rig controller polling the
// sensors (every --poll seconds; default 1, five times the default rate) and the tuner's sampling, alternating runs.
// usage: bun run bench/governance.ts [--seconds S] [--runs R] [--algo A] [--poll S]
import { loadKernel } from "../src/kernel";
import { MiningEngine } from "../src/miner";
import { DEFAULTS, type Config } from "../src/config";
import { createLogger } from "../src/core";
import { BenchSource } from "../src/node/bench";
import { planRig, startRig } from "../src/node/rig";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = Number(opt("seconds", "15"));
const runs = Number(opt("runs", "5"));
const algo = opt("algo", "sha256d") as "sha256d" | "scrypt";
const poll = Number(opt("poll", "1"));
const log = createLogger({ json: true, level: "error" });
const { info: kernel } = await loadKernel("auto");
const config: Config = { ...DEFAULTS, dataDir: ":memory:", miner: { ...DEFAULTS.miner, algo, threads: 2 }, tuning: { ...DEFAULTS.tuning, pollSeconds: poll } };

async function once(steered: boolean): Promise<number> {
  const plan = planRig(config, algo, log, steered ? ":memory:" : null);
  const source = new BenchSource(algo);
  const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: plan.batchNonces, source, cpuOrder: plan.cpuOrder, claimsDir: null });
  await engine.start();
  engine.setJob(source.job());
  const rig = steered ? startRig(plan, config, engine, algo, log) : null;
  await Bun.sleep(1000); // warm-up, not counted
  const h0 = engine.totalHashes();
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const hs = ((engine.totalHashes() - h0) * 1000) / (performance.now() - t0);
  rig?.stop();
  await engine.stop();
  return hs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios: number[] = [];
for (let i = 0; i < runs; i++) {
  const bare = await once(false);
  const steered = await once(true);
  ratios.push(steered / bare);
  console.log(`run ${i + 1}: bare ${(bare / 1e6).toFixed(2)} MH/s, steered (poll ${poll} s) ${(steered / 1e6).toFixed(2)} MH/s, ratio ${(steered / bare).toFixed(4)}`);
}
console.log(`median steered / bare over ${runs} runs: ${median(ratios).toFixed(4)} (cost ${((1 - median(ratios)) * 100).toFixed(2)}%)`);

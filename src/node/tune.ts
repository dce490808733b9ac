import type { Algo, Logger } from "../core";
import type { Config } from "../config";
import type { KernelInfo } from "../kernel";
import { MiningEngine } from "../miner";
import type { TuneView } from "../tuning";
import { BenchSource } from "./bench";
import { batchUnit, planRig, startRig } from "./rig";

export interface TuneOptions {
  config: Config;
  kernel: KernelInfo;
  algo: Algo;
  /** Stop after this long even when the search has not settled (best so far is kept). */
  minutes: number;
  log: Logger;
  /** About once a second: what the tuner is doing. */
  onProgress?: (v: TuneView, elapsedS: number) => void;
}

export interface TuneResult {
  algo: Algo;
  cpu: string;
  profile: string;
  /** The configuration chosen (batch in units), and its mean hashrate. */
  chosen: { threads: number; batch: number; batch_nonces: number; hashrate_hs: number } | null;
  tried: { threads: number; batch: number; hashrate_hs: number; accepted: boolean }[];
  evaluations: number;
  seconds: number;
  /** true when the search finished (winner confirmed); false when --minutes ran out first. */
  settled: boolean;
  rolled_back: boolean;
  memory: string | null;
}

/**
 * `rignode tune`: the auto-tuner on a benchmark job (every nonce hashed, none reported) until its first round has
 * chosen and confirmed a configuration, each window recorded in the performance memory, which later runs start from.
 */
export async function runTune(o: TuneOptions): Promise<TuneResult> {
  const config: Config = { ...o.config, tuning: { ...o.config.tuning, autoTune: true } };
  const plan = planRig(config, o.algo, o.log, config.dataDir);
  const source = new BenchSource(o.algo);
  const engine = new MiningEngine({ kernelPath: o.kernel.path, threads: plan.start.threads, batch: plan.batchNonces, pin: config.miner.pin, source, log: o.log, cpuOrder: plan.cpuOrder });
  await engine.start();
  engine.setJob(source.job());
  const rig = startRig(plan, config, engine, o.algo, o.log);
  const t0 = performance.now();
  const deadline = t0 + o.minutes * 60_000;
  let v = rig.view().tuner!;
  try {
    while (performance.now() < deadline) {
      await Bun.sleep(1000);
      v = rig.view().tuner!;
      o.onProgress?.(v, (performance.now() - t0) / 1000);
      if (v.phase === "settled") break;
    }
  } finally {
    rig.stop();
    await engine.stop();
  }
  const unit = batchUnit(o.algo);
  // Settled: what runs now (the winner, or what it replaced after a rollback), with its own measured mean.
  const mean = (c: { threads: number; batch: number }) => v.tried.find((t) => t.candidate.threads === c.threads && t.candidate.batch === c.batch)?.mean ?? 0;
  const best = v.phase === "settled" ? { candidate: v.candidate, mean: mean(v.candidate) } : v.best;
  return {
    algo: o.algo,
    cpu: plan.topology.modelKey,
    profile: config.tuning.profile,
    chosen: best ? { threads: best.candidate.threads, batch: best.candidate.batch, batch_nonces: Math.round(best.candidate.batch * unit), hashrate_hs: Math.round(best.mean) } : null,
    tried: v.tried.map((t) => ({ threads: t.candidate.threads, batch: t.candidate.batch, hashrate_hs: Math.round(t.mean), accepted: t.accepted })),
    evaluations: v.evaluated,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    settled: v.phase === "settled",
    rolled_back: v.rollbacks > 0,
    memory: plan.memory?.path ?? null,
  };
}

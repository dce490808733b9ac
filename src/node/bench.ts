import { randomBytes } from "node:crypto";
import type { Algo, JobSource, Logger, MinerJob } from "../core";
import type { KernelInfo } from "../kernel";
import { MiningEngine, type EngineStats } from "../miner";

export interface BenchOptions {
  kernel: KernelInfo;
  algo: Algo;
  threads: number;
  batch: number;
  seconds: number;
  pin: boolean;
  /** CPUs in the order threads take them (threadPlacement()); default: the allowed mask in order. */
  cpuOrder?: number[];
  log?: Logger;
  /** Called about once a second while the benchmark runs. */
  onProgress?: (stats: EngineStats, elapsedS: number) => void;
}

export interface BenchResult {
  algo: Algo;
  threads: number;
  batch: number;
  seconds: number;
  hashes: number;
  hashrate_hs: number;
  per_thread_hs: number[];
  /** CPU each thread was pinned to (null: not pinned). */
  pinned_cpus: (number | null)[];
  kernel_variant: string;
  /** How the scans were computed: "simd" lanes or "shani", chosen by measurement at start. */
  impl: string;
  impl_measured: { impl: string; hs: number }[];
  lanes: number;
}

/** Work for a benchmark: random headers and a target no hash meets, so every nonce is hashed and none reported. */
export class BenchSource implements JobSource {
  private n = 0;
  constructor(private readonly algo: Algo) {}
  job(): MinerJob {
    return { id: `bench-${this.n++}`, algo: this.algo, header: new Uint8Array(randomBytes(80)), target: new Uint8Array(32) };
  }
  nextJob(): MinerJob {
    return this.job();
  }
  found(): void {}
}

/** Measures hashrate through the mining engine (Workers calling the kernel), as mining runs. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const source = new BenchSource(o.algo);
  const engine = new MiningEngine({ kernelPath: o.kernel.path, threads: o.threads, batch: o.batch, pin: o.pin, source, log: o.log, cpuOrder: o.cpuOrder });
  await engine.start();
  const t0 = performance.now();
  engine.setJob(source.job());
  const timer = o.onProgress
    ? setInterval(() => o.onProgress!(engine.stats(), (performance.now() - t0) / 1000), 1000)
    : undefined;
  await Bun.sleep(o.seconds * 1000);
  clearInterval(timer);
  // Threads finish the batch in hand; the time includes it, and so do the counts.
  await engine.stop();
  const elapsed = (performance.now() - t0) / 1000;
  const stats = engine.stats();
  return {
    algo: o.algo,
    threads: o.threads,
    batch: o.batch,
    seconds: round(elapsed, 3),
    hashes: stats.hashes,
    hashrate_hs: round(stats.hashes / elapsed, 1),
    per_thread_hs: stats.perThread.map((t) => round(t.hashes / elapsed, 1)),
    pinned_cpus: stats.perThread.map((t) => t.cpu),
    kernel_variant: o.kernel.variant,
    impl: stats.impls?.[o.algo].impl ?? "simd",
    impl_measured: stats.impls?.[o.algo].measured ?? [],
    lanes: o.kernel.lanes,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

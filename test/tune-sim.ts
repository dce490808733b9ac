// A simulated rig for the auto-tuner (test/unit/tuning-autotune.test.ts and bench/tune-sim.ts): a rate model
// rate(threads, batch) with a known best, and seeded noise — per sub-window (scheduler, frequency jitter) and per
// window (a background task that lasts a minute), the second of which a t-test on one window's sub-windows cannot see.
import { AutoTuner, type Candidate } from "../src/tuning/autotune";
import { prng } from "./helpers";

export interface RigShape {
  name: string;
  maxThreads: number;
  maxBatch: number;
  /** True H/s at a configuration. */
  rate(threads: number, batch: number): number;
}

export interface Noise {
  /** Coefficient of variation of one sub-window's rate. */
  sub: number;
  /** Coefficient of variation shared by all sub-windows of one window. */
  window: number;
}

export const DEFAULT_NOISE: Noise = { sub: 0.03, window: 0.005 };
export const SUB_WINDOWS = 12; // 12 × 5 s of one 60 s window

const PER_THREAD = 1000; // H/s of one thread at its best batch

/** The rig shapes of the issue, for a CPU with `n` logical CPUs and batch units 1..32. */
export function shapes(n: number): RigShape[] {
  const cores = Math.max(1, Math.floor(n / 2));
  const knee = Math.max(1, Math.round(n * 0.6));
  return [
    // Batch does not matter; every thread adds the same.
    { name: "flat-batch", maxThreads: n, maxBatch: 32, rate: (t) => PER_THREAD * t },
    // A fixed cost per kernel call: small batches lose up to 40%; 32 is best, 23 within 2%, 16 is 4% short.
    { name: "small-batch-overhead", maxThreads: n, maxBatch: 32, rate: (t, b) => PER_THREAD * t * (b / (b + 1.5)) },
    // Half the CPUs are SMT siblings that add 6% each; siblings share L1/L2, so a small batch (~6) is best and the
    // default 16 is 6% short.
    {
      name: "smt-little",
      maxThreads: n,
      maxBatch: 32,
      rate: (t, b) => PER_THREAD * (Math.min(t, cores) + 0.06 * Math.max(0, t - cores)) * (b / (b + 0.5)) * (1 - 0.01 * b),
    },
    // Memory-bound (scrypt-like): past the knee threads fight for cache and the total drops; big batches spill too
    // (best batch ~8, the default 16 is 5% short).
    {
      name: "memory-bound",
      maxThreads: n,
      maxBatch: 32,
      rate: (t, b) => ((PER_THREAD * t) / (1 + 0.25 * Math.max(0, t - knee))) * (b / (b + 1)) * (1 - 0.012 * b),
    },
  ];
}

/** Every candidate gives the same rate: any move away from the start is a false win. */
export function flatRig(n: number): RigShape {
  return { name: "flat", maxThreads: n, maxBatch: 32, rate: () => PER_THREAD * n };
}

/** The true best rate of a shape over its whole grid. */
export function trueBest(s: RigShape): { candidate: Candidate; rate: number } {
  let best = { candidate: { threads: 1, batch: 1 }, rate: -1 };
  for (let t = 1; t <= s.maxThreads; t++)
    for (let b = 1; b <= s.maxBatch; b++) if (s.rate(t, b) > best.rate) best = { candidate: { threads: t, batch: b }, rate: s.rate(t, b) };
  return best;
}

export interface SessionResult {
  chosen: Candidate;
  /** True rate of the choice over the true best rate. */
  ratio: number;
  evaluations: number;
}

/** One tuning session against the simulated rig, seeded. */
export function runSession(s: RigShape, seed: number, opts: { noise?: Noise; start?: Candidate; subWindows?: number } = {}): SessionResult {
  const noise = opts.noise ?? DEFAULT_NOISE;
  const subs = opts.subWindows ?? SUB_WINDOWS;
  const rnd = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const tuner = new AutoTuner({ minThreads: 1, maxThreads: s.maxThreads, minBatch: 1, maxBatch: s.maxBatch, start: opts.start });
  for (let c = tuner.next(); c; c = tuner.next()) {
    const w = s.rate(c.threads, c.batch) * (1 + noise.window * gauss());
    tuner.report(c, Array.from({ length: subs }, () => Math.max(0, w * (1 + noise.sub * gauss()))));
  }
  const chosen = tuner.best!.candidate;
  return { chosen, ratio: s.rate(chosen.threads, chosen.batch) / trueBest(s).rate, evaluations: tuner.progress().evaluated };
}

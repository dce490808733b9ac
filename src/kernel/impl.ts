import { ALGOS, type Algo } from "../core";
import type { Impl, KernelLib } from "./ffi";

export interface ImplChoice {
  impl: Impl;
  /** What each candidate did in the measurement, hashes per second. */
  measured: { impl: Impl; hs: number }[];
}

/** Hashes per second of one implementation over about `ms` milliseconds, on this thread. */
export function measureImpl(lib: KernelLib, algo: Algo, impl: Impl, ms: number): number {
  const header = new Uint8Array(80).map((_, i) => i * 7);
  const target = new Uint8Array(32);
  const out = new Uint32Array(8);
  const chunk = algo === "sha256d" ? 1 << 16 : 64;
  lib.scanInto(algo, header, 0, chunk, target, out, impl); // warm up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    lib.scanInto(algo, header, n % 2 ** 31, chunk, target, out, impl);
    n += chunk;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/**
 * The fastest implementation of each algorithm on this CPU, chosen by measuring (not by assuming: on AVX-512
 * CPUs the SIMD lanes beat SHA-NI, on AVX2 CPUs with SHA-NI it is the other way round). The candidates take turns
 * in short slices and each keeps its best slice: one stall of a shared vCPU cannot hand the choice to the slower
 * path (measured once each, back to back, 1 start in 64 chose SHA-NI at 62% of the lanes' speed on this VM).
 */
export function chooseImpls(lib: KernelLib, ms = 80, rounds = 4): Record<Algo, ImplChoice> {
  const out = {} as Record<Algo, ImplChoice>;
  for (const algo of ALGOS) {
    const candidates = lib.impls(algo);
    if (candidates.length === 1) {
      out[algo] = { impl: candidates[0]!, measured: [] };
      continue;
    }
    const best = new Map<Impl, number>(candidates.map((c) => [c, 0]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? candidates : [...candidates].reverse();
      for (const impl of order) best.set(impl, Math.max(best.get(impl)!, measureImpl(lib, algo, impl, ms / rounds)));
    }
    const measured = candidates.map((impl) => ({ impl, hs: Math.round(best.get(impl)!) }));
    out[algo] = { impl: measured.reduce((a, b) => (b.hs > a.hs ? b : a)).impl, measured };
  }
  return out;
}

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
 * CPUs the SIMD lanes beat SHA-NI, on AVX2 CPUs with SHA-NI it is the other way round).
 */
export function chooseImpls(lib: KernelLib, ms = 80): Record<Algo, ImplChoice> {
  const out = {} as Record<Algo, ImplChoice>;
  for (const algo of ALGOS) {
    const candidates = lib.impls(algo);
    if (candidates.length === 1) {
      out[algo] = { impl: candidates[0]!, measured: [] };
      continue;
    }
    const measured = candidates.map((impl) => ({ impl, hs: Math.round(measureImpl(lib, algo, impl, ms)) }));
    const best = measured.reduce((a, b) => (b.hs > a.hs ? b : a));
    out[algo] = { impl: best.impl, measured };
  }
  return out;
}

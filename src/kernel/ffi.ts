import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { ALGO_ID, KERNEL_VARIANTS, RignodeError, type Algo, type HashBackend, type KernelVariant } from "../core";

/** The ABI version this binding speaks; the library's rn_abi_version() must match. */
export const ABI_VERSION = 3;

const SYMBOLS = {
  rn_abi_version: { args: [], returns: FFIType.u32 },
  rn_kernel_version: { args: [], returns: FFIType.cstring },
  rn_variant: { args: [], returns: FFIType.u32 },
  rn_lanes: { args: [], returns: FFIType.u32 },
  rn_features: { args: [], returns: FFIType.u32 },
  rn_scratch_size: { args: [FFIType.u32], returns: FFIType.i64_fast },
  rn_hash: { args: [FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  rn_hash_many: { args: [FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  rn_impls: { args: [FFIType.u32], returns: FFIType.u32 },
  rn_scan: {
    args: [FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u64],
    returns: FFIType.i64_fast,
  },
} as const;

const STATUS: Record<number, string> = {
  [-1]: "unknown algorithm",
  [-2]: "scratch too small",
  [-3]: "bad argument",
  [-4]: "implementation not supported by this build or CPU",
};

/** Ways a scan can be computed: SIMD lanes (every algorithm) or the SHA extensions (sha256d). Values are the ABI's. */
export const IMPLS = ["simd", "shani"] as const;
export type Impl = (typeof IMPLS)[number];

/** CPU feature bits reported by rn_features (CPUID + XGETBV). */
export const FEATURE = { v2: 1 << 1, v3: 1 << 2, v4: 1 << 3, sha: 1 << 4 } as const;

/** One loaded kernel library with the scratch memory of the thread that uses it. */
export class KernelLib implements HashBackend {
  readonly name: string;
  readonly variant: KernelVariant;
  readonly lanes: number;
  readonly version: string;
  private readonly lib: ReturnType<typeof dlopen<typeof SYMBOLS>>;
  private readonly scratch: Record<Algo, Uint8Array | null>;
  private readonly hits = new Uint32Array(1024);
  private readonly digest = new Uint8Array(32);

  constructor(readonly path: string) {
    try {
      this.lib = dlopen(path, SYMBOLS);
    } catch (cause) {
      throw new RignodeError("kernel", `cannot load kernel library ${path}: ${(cause as Error).message}`, { cause });
    }
    const s = this.lib.symbols;
    const abi = s.rn_abi_version();
    if (abi !== ABI_VERSION) throw new RignodeError("kernel", `kernel ABI ${abi} does not match the binding's ${ABI_VERSION}`);
    this.variant = KERNEL_VARIANTS[s.rn_variant()] ?? "baseline";
    this.lanes = s.rn_lanes();
    this.version = String(s.rn_kernel_version());
    this.name = `zig-${this.variant}`;
    this.scratch = { sha256d: this.allocScratch("sha256d"), scrypt: this.allocScratch("scrypt") };
  }

  /** CPU features as the CPU reports them: only trust this from the baseline build, which runs everywhere. */
  features(): number {
    return this.lib.symbols.rn_features();
  }

  private allocScratch(algo: Algo): Uint8Array | null {
    const n = Number(this.lib.symbols.rn_scratch_size(ALGO_ID[algo]));
    if (n < 0) throw new RignodeError("kernel", `kernel does not know algorithm ${algo}`);
    return n === 0 ? null : new Uint8Array(n);
  }

  hash(algo: Algo, header: Uint8Array): Uint8Array {
    checkHeader(header);
    const scr = this.scratch[algo];
    const rc = this.lib.symbols.rn_hash(ALGO_ID[algo], header, this.digest, scr, scr ? scr.length : 0);
    if (rc !== 0) throw new RignodeError("kernel", `rn_hash: ${STATUS[rc] ?? rc}`);
    return this.digest.slice();
  }

  /**
   * Hashes n distinct 80-byte headers laid end to end; returns n digests of 32 bytes end to end. scrypt goes
   * through the SIMD lanes, which is how a pool validates a burst of shares at the kernel's full throughput.
   */
  hashMany(algo: Algo, headers: Uint8Array, n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0 || headers.length !== n * 80) throw new RignodeError("input", `hashMany needs ${n} x 80 bytes, got ${headers.length}`);
    const out = new Uint8Array(n * 32);
    if (n === 0) return out;
    const scr = this.scratch[algo];
    const rc = this.lib.symbols.rn_hash_many(ALGO_ID[algo], headers, n, out, scr, scr ? scr.length : 0);
    if (rc !== 0) throw new RignodeError("kernel", `rn_hash_many: ${STATUS[rc] ?? rc}`);
    return out;
  }

  /** The implementations that can scan `algo` in this build on this CPU. */
  impls(algo: Algo): Impl[] {
    const mask = this.lib.symbols.rn_impls(ALGO_ID[algo]);
    return IMPLS.filter((_, i) => mask & (1 << i));
  }

  /**
   * Scans [start, start+count) and writes up to out.length hits into `out`; returns how many hits there were.
   * The hot path of the miner: no allocation per call.
   */
  scanInto(algo: Algo, header: Uint8Array, start: number, count: number, target: Uint8Array, out: Uint32Array, impl: Impl = "simd"): number {
    const scr = this.scratch[algo];
    const n = this.lib.symbols.rn_scan(ALGO_ID[algo], IMPLS.indexOf(impl), header, start >>> 0, count >>> 0, target, out, out.length, scr, scr ? scr.length : 0) as number;
    if (n < 0) throw new RignodeError("kernel", `rn_scan: ${STATUS[n] ?? n}`);
    return n;
  }

  scan(algo: Algo, header: Uint8Array, start: number, count: number, target: Uint8Array, impl: Impl = "simd"): number[] {
    checkHeader(header);
    checkRange(start, count);
    if (target.length !== 32) throw new RignodeError("input", `target must be 32 bytes, got ${target.length}`);
    let n = this.scanInto(algo, header, start, count, target, this.hits, impl);
    if (n <= this.hits.length) return Array.from(this.hits.subarray(0, n));
    const big = new Uint32Array(n);
    n = this.scanInto(algo, header, start, count, target, big, impl);
    return Array.from(big);
  }

  /** This library as a HashBackend whose scans use `impl` (for the shared test suite and selftest). */
  withImpl(impl: Impl): HashBackend {
    return {
      name: impl === "simd" ? this.name : `${this.name}/${impl}`,
      hash: (algo, header) => this.hash(algo, header),
      scan: (algo, header, start, count, target) => this.scan(algo, header, start, count, target, this.impls(algo).includes(impl) ? impl : "simd"),
    };
  }

  close(): void {
    this.lib.close();
  }
}

/** A header is exactly 80 bytes. */
export function checkHeader(header: Uint8Array): void {
  if (header.length !== 80) throw new RignodeError("input", `header must be 80 bytes, got ${header.length}`);
}

/** A nonce range lies inside the 32-bit nonce space. */
export function checkRange(start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || count > 0xffffffff || start + count > 2 ** 32) {
    throw new RignodeError("input", `nonce range [${start}, ${start}+${count}) is outside 0..2^32`);
  }
}

/** Pointer type re-exported for the worker. */
export type { Pointer };

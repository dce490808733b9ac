import { dlopen, FFIType } from "bun:ffi";

// Thread placement through the kernel's sched_{get,set}affinity (Linux). Elsewhere, or if libc cannot be opened,
// every call reports "not pinned" and mining goes on unpinned.
const MASK_BYTES = 128; // 1024 CPUs

let libc: ReturnType<typeof open> | null | undefined;

function open() {
  return dlopen("libc.so.6", {
    sched_getaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    sched_setaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  });
}

function lib() {
  if (libc === undefined) {
    try {
      libc = process.platform === "linux" ? open() : null;
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** The CPUs this thread may run on (respects taskset and cgroup cpusets), or null where that cannot be read. */
export function allowedCpus(): number[] | null {
  const l = lib();
  if (!l) return null;
  const mask = new Uint8Array(MASK_BYTES);
  if (l.symbols.sched_getaffinity(0, MASK_BYTES, mask) !== 0) return null;
  const cpus: number[] = [];
  for (let i = 0; i < MASK_BYTES * 8; i++) if (mask[i >> 3]! & (1 << (i & 7))) cpus.push(i);
  return cpus;
}

/** Pins the calling thread (pid 0 = this thread on Linux) to one CPU; true when the kernel accepted it. */
export function pinThisThread(cpu: number): boolean {
  const l = lib();
  if (!l || cpu < 0 || cpu >= MASK_BYTES * 8) return false;
  const mask = new Uint8Array(MASK_BYTES);
  mask[cpu >> 3] = 1 << (cpu & 7);
  return l.symbols.sched_setaffinity(0, MASK_BYTES, mask) === 0;
}

/** CPU for each of `threads` mining threads: round-robin over the allowed CPUs, or null for no pinning. */
export function placeThreads(threads: number, allowed: number[] | null): (number | null)[] {
  return Array.from({ length: threads }, (_, t) => (allowed && allowed.length ? allowed[t % allowed.length]! : null));
}

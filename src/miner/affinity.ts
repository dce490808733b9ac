import { dlopen, FFIType } from "bun:ffi";

// Thread placement through the kernel's sched_{get,set}affinity (Linux). Elsewhere, or if libc cannot be opened,
// every call reports "not pinned" and mining goes on unpinned.
const MASK_BYTES = 128; // 1024 CPUs

let libc: ReturnType<typeof open> | null | undefined;

function open() {
  return dlopen("libc.so.6", {
    sched_getaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    sched_setaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
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

const LOCK_EX = 2;
const LOCK_NB = 4;

/**
 * Takes an exclusive flock(2) on an open file without waiting; false when another open file holds it (or where
 * flock cannot be called). The kernel drops the lock when the file is closed or its process dies.
 */
export function tryLockFile(fd: number): boolean {
  const l = lib();
  return !!l && l.symbols.flock(fd, LOCK_EX | LOCK_NB) === 0;
}

/**
 * CPU for each of `threads` mining threads. Without `claim`: round-robin over the allowed CPUs. With it: each
 * thread gets the next allowed CPU that `claim` grants (CPUs other processes hold are skipped), and threads left
 * when none is free are not pinned (null). No allowed CPUs: no pinning.
 */
export function placeThreads(threads: number, allowed: number[] | null, claim?: (cpu: number) => boolean): (number | null)[] {
  if (!allowed || !allowed.length) return Array.from({ length: threads }, () => null);
  if (!claim) return Array.from({ length: threads }, (_, t) => allowed[t % allowed.length]!);
  const out: (number | null)[] = [];
  let i = 0;
  for (let t = 0; t < threads; t++) {
    while (i < allowed.length && !claim(allowed[i]!)) i++;
    out.push(i < allowed.length ? allowed[i++]! : null);
  }
  return out;
}

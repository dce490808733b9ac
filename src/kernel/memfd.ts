import { dlopen, FFIType } from "bun:ffi";
import { writeSync } from "node:fs";
import { RignodeError } from "../core";

// Bun would extract an embedded .so to a predictable, reused file in $TMPDIR and cannot load it from a noexec
// TMPDIR. An anonymous memory file avoids both: nothing touches the disk and the path dies with the process.
const MFD_CLOEXEC = 1;

let libc: ReturnType<typeof openLibc> | undefined;

function openLibc() {
  return dlopen("libc.so.6", {
    memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  });
}

/** Copies a shared library into an anonymous memory file; returns the /proc/self/fd path to dlopen. */
export async function libraryInMemory(sourcePath: string, name: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Bun.file(sourcePath).bytes();
  } catch (cause) {
    throw new RignodeError("kernel", `kernel library ${name} not found at ${sourcePath} (run 'bun run build.ts' first)`, { cause });
  }
  if (process.platform !== "linux") {
    throw new RignodeError("kernel", `loading the embedded kernel needs Linux memfd_create; this is ${process.platform}`);
  }
  libc ??= openLibc();
  const fd = libc.symbols.memfd_create(Buffer.from(`rignode-${name}\0`), MFD_CLOEXEC);
  if (fd < 0) throw new RignodeError("kernel", `memfd_create failed for kernel ${name}`);
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  // The descriptor stays open for the life of the process: every Worker dlopens the same path.
  return `/proc/self/fd/${fd}`;
}

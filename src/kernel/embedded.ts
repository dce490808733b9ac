// The kernel builds, embedded in the compiled binary (paths under /$bunfs) or read from zig-hash/zig-out from source.
import baseline from "../../zig-hash/zig-out/librnhash-baseline.so" with { type: "file" };
import v3 from "../../zig-hash/zig-out/librnhash-v3.so" with { type: "file" };
import v4 from "../../zig-hash/zig-out/librnhash-v4.so" with { type: "file" };
import type { KernelVariant } from "../core";

/** Path of each variant's shared library as shipped in this build. */
export const EMBEDDED_LIBRARIES: Record<KernelVariant, string> = {
  baseline: baseline as unknown as string,
  v3: v3 as unknown as string,
  v4: v4 as unknown as string,
};

import { KERNEL_VARIANTS, type KernelVariant } from "../core";
import { EMBEDDED_LIBRARIES } from "./embedded";
import { KernelLib } from "./ffi";
import { libraryInMemory } from "./memfd";
import { chooseVariant, featureNames, supportedVariants } from "./select";

/** What was loaded and why: reported by --version, /info, /metrics and logs. */
export interface KernelInfo {
  variant: KernelVariant;
  /** Path any thread of this process can dlopen (a /proc/self/fd memory file). */
  path: string;
  lanes: number;
  version: string;
  features: number;
  featureNames: string[];
  /** Variants shipped in this build. */
  available: KernelVariant[];
  /** Variants this CPU can run. */
  supported: KernelVariant[];
  forced: boolean;
}

const paths = new Map<KernelVariant, Promise<string>>();

/** The in-memory path of a variant, created once per process. */
export function variantPath(v: KernelVariant): Promise<string> {
  let p = paths.get(v);
  if (!p) {
    p = libraryInMemory(EMBEDDED_LIBRARIES[v], `kernel-${v}`);
    paths.set(v, p);
  }
  return p;
}

let featuresCache: number | undefined;

/** CPU features by CPUID, asked through the baseline build (which any x86-64 CPU runs). */
export async function cpuFeatures(): Promise<number> {
  if (featuresCache === undefined) {
    const base = new KernelLib(await variantPath("baseline"));
    featuresCache = base.features();
  }
  return featuresCache;
}

/** Loads the variant to mine with: the forced one (checked against the CPU first) or the fastest supported. */
export async function loadKernel(forced: KernelVariant | "auto" = "auto"): Promise<{ info: KernelInfo; lib: KernelLib }> {
  const features = await cpuFeatures();
  const variant = chooseVariant(features, forced);
  const path = await variantPath(variant);
  const lib = new KernelLib(path);
  return {
    lib,
    info: {
      variant,
      path,
      lanes: lib.lanes,
      version: lib.version,
      features,
      featureNames: featureNames(features),
      available: [...KERNEL_VARIANTS],
      supported: supportedVariants(features),
      forced: forced !== "auto",
    },
  };
}

/** Every variant this CPU can run, loaded (for selftest and the shared test suite). */
export async function loadSupportedVariants(): Promise<KernelLib[]> {
  const features = await cpuFeatures();
  const out: KernelLib[] = [];
  for (const v of supportedVariants(features)) out.push(new KernelLib(await variantPath(v)));
  return out;
}

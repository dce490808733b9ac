import { KERNEL_VARIANTS, RignodeError, type KernelVariant } from "../core";
import { FEATURE } from "./ffi";

/** The variants a CPU with these feature bits can run, slowest first. */
export function supportedVariants(features: number): KernelVariant[] {
  const out: KernelVariant[] = ["baseline"];
  if (features & FEATURE.v3) out.push("v3");
  if (features & FEATURE.v4) out.push("v4");
  return out;
}

const NEEDS: Record<KernelVariant, string> = {
  baseline: "x86-64",
  v3: "x86-64-v3 (AVX2, FMA, BMI2, MOVBE, enabled by the OS)",
  v4: "x86-64-v4 (AVX-512 F/BW/CD/DQ/VL, enabled by the OS)",
};

/**
 * The variant to run: the forced one if it is set and supported, else the fastest supported one.
 * A forced variant the CPU cannot run is an error, never a SIGILL later.
 */
export function chooseVariant(features: number, forced: KernelVariant | "auto"): KernelVariant {
  const ok = supportedVariants(features);
  if (forced === "auto") return ok[ok.length - 1]!;
  if (!KERNEL_VARIANTS.includes(forced)) {
    throw new RignodeError("config", `kernel variant '${forced}' is unknown; allowed: auto, ${KERNEL_VARIANTS.join(", ")}`);
  }
  if (!ok.includes(forced)) {
    // The operator asked for it, so it is a configuration error (exit 2), caught before any code of that build runs.
    throw new RignodeError(
      "config",
      `kernel variant '${forced}' needs ${NEEDS[forced]}, which this CPU does not have; it supports: ${ok.join(", ")}`,
    );
  }
  return forced;
}

/** Feature bits as names, for --version, /info and logs. */
export function featureNames(features: number): string[] {
  const names: string[] = ["x86-64"];
  if (features & FEATURE.v2) names.push("x86-64-v2");
  if (features & FEATURE.v3) names.push("x86-64-v3");
  if (features & FEATURE.v4) names.push("x86-64-v4");
  if (features & FEATURE.sha) names.push("sha-ni");
  return names;
}

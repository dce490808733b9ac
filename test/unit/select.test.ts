import { describe, expect, test } from "bun:test";
import { chooseVariant, FEATURE, featureNames, supportedVariants } from "../../src/kernel";

const HASWELL = 1 | FEATURE.v2 | FEATURE.v3; // AVX2, no AVX-512, no SHA-NI
const SAPPHIRE = HASWELL | FEATURE.v4 | FEATURE.sha;
const NEHALEM = 1 | FEATURE.v2;

describe("kernel variant choice", () => {
  test("auto picks the fastest variant the CPU runs", () => {
    expect(chooseVariant(SAPPHIRE, "auto")).toBe("v4");
    expect(chooseVariant(HASWELL, "auto")).toBe("v3");
    expect(chooseVariant(NEHALEM, "auto")).toBe("baseline");
    expect(chooseVariant(1, "auto")).toBe("baseline");
  });

  test("a forced variant the CPU supports is used", () => {
    expect(chooseVariant(SAPPHIRE, "baseline")).toBe("baseline");
    expect(chooseVariant(HASWELL, "v3")).toBe("v3");
  });

  test("forcing v4 on a CPU without AVX-512 fails with a clear message", () => {
    expect(() => chooseVariant(HASWELL, "v4")).toThrow(
      "kernel variant 'v4' needs x86-64-v4 (AVX-512 F/BW/CD/DQ/VL, enabled by the OS), which this CPU does not have; it supports: baseline, v3",
    );
    expect(() => chooseVariant(NEHALEM, "v3")).toThrow("it supports: baseline");
  });

  test("supported variants and feature names follow the bits", () => {
    expect(supportedVariants(HASWELL)).toEqual(["baseline", "v3"]);
    expect(featureNames(SAPPHIRE)).toEqual(["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "sha-ni"]);
  });
});

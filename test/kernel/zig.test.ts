// The Zig inline tests (standard vectors, scans, ABI error codes), compiled for each variant this CPU runs.
import { expect, test } from "bun:test";
import { cpuFeatures, supportedVariants } from "../../src/kernel";
import { KERNEL_VARIANTS } from "../../src/core";
import { ROOT, run } from "../helpers";

const variants = supportedVariants(await cpuFeatures());

// Every variant is listed; the ones this CPU cannot run are reported as skipped, never silently left out.
for (const v of KERNEL_VARIANTS) {
  test.skipIf(!variants.includes(v))(`zig test passes for the ${v} build${variants.includes(v) ? "" : " (skipped: this CPU does not run it)"}`, () => {
    const r = run([process.execPath, "run", "build.ts", "--zig-test", v], { cwd: ROOT, timeoutMs: 600_000 });
    if (r.code !== 0) console.error(r.stderr);
    expect(r.code).toBe(0);
    const passed = /All (\d+) tests passed/.exec(r.stderr);
    expect(passed).not.toBeNull();
    expect(Number(passed![1])).toBeGreaterThanOrEqual(9);
  }, 600_000);
}

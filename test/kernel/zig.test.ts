// The Zig inline tests (standard vectors, scans, ABI error codes), compiled for each variant this CPU runs.
import { expect, test } from "bun:test";
import { cpuFeatures, supportedVariants } from "../../src/kernel";
import { ROOT, run } from "../helpers";

const variants = supportedVariants(await cpuFeatures());

for (const v of variants) {
  test(`zig test passes for the ${v} build`, () => {
    const r = run([process.execPath, "run", "build.ts", "--zig-test", v], { cwd: ROOT, timeoutMs: 600_000 });
    if (r.code !== 0) console.error(r.stderr);
    expect(r.code).toBe(0);
    const passed = /All (\d+) tests passed/.exec(r.stderr);
    expect(passed).not.toBeNull();
    expect(Number(passed![1])).toBeGreaterThanOrEqual(9);
  }, 600_000);
}

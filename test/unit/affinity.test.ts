import { describe, expect, test } from "bun:test";
import { allowedCpus, placeThreads } from "../../src/miner";

describe("thread placement", () => {
  test("round-robin over the allowed CPUs; no pinning when they cannot be read", () => {
    expect(placeThreads(5, [2, 3])).toEqual([2, 3, 2, 3, 2]);
    expect(placeThreads(2, null)).toEqual([null, null]);
    expect(placeThreads(1, [])).toEqual([null]);
  });

  test.skipIf(process.platform !== "linux")("sched_getaffinity reads the CPUs this process may use", () => {
    const cpus = allowedCpus();
    expect(cpus).not.toBeNull();
    expect(cpus!.length).toBeGreaterThanOrEqual(1);
    expect(cpus!.length).toBeLessThanOrEqual(navigator.hardwareConcurrency);
  });
});

// CPUs for threads added while an engine mines: the preference order, claims of other processes, round-robin.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpuClaims } from "../../src/miner";
import { CpuPlacer } from "../../src/miner/placer";
import { createLogger } from "../../src/core";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rignode-claims-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(process.platform !== "linux")("CPU placer", () => {
  test("added threads take the first CPU of the order nobody holds; a retired thread's CPU is free at once", () => {
    const dir = tempDir();
    const other = new CpuClaims(dir);
    expect(other.tryClaim(6)).toBe(true); // another process holds CPU 6
    const p = new CpuPlacer([4, 6, 5, 7], dir);
    expect(p.initial(1)).toEqual([4]);
    expect(p.next(1, new Set([4]))).toBe(5);
    expect(p.next(2, new Set([4, 5]))).toBe(7);
    p.release(5); // thread 1 retired: its CPU is free for anyone at once
    const checker = new CpuClaims(dir);
    expect(checker.tryClaim(5)).toBe(true);
    checker.release();
    other.release(); // CPU 6 freed by the other process
    expect(p.next(1, new Set([4, 7]))).toBe(6); // the order decides: 6 before 5
    expect(p.next(3, new Set([4, 7, 6]))).toBe(5);
    p.releaseAll();
    expect(other.tryClaim(4)).toBe(true);
    other.release();
  });

  test("every CPU held: the added thread runs unpinned and it is said", () => {
    const dir = tempDir();
    const other = new CpuClaims(dir);
    other.tryClaim(1);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ json: true, level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const p = new CpuPlacer([0, 1], dir, log);
    expect(p.initial(1)).toEqual([0]);
    expect(p.next(1, new Set([0]))).toBeNull();
    expect(lines.find((l) => l.event === "miner.cpus_taken")).toMatchObject({ unpinned_threads: 1, taken_by: `1:pid${process.pid}` });
    p.releaseAll();
    other.release();
  });

  test("without claims: round-robin over the order, a free CPU of ours first; without an order: unpinned", () => {
    const p = new CpuPlacer([2, 3], null);
    expect(p.initial(3)).toEqual([2, 3, 2]);
    expect(p.next(1, new Set([2]))).toBe(3);
    expect(p.next(3, new Set([2, 3]))).toBe(3);
    const none = new CpuPlacer(null, tempDir());
    expect(none.initial(2)).toEqual([null, null]);
    expect(none.next(0, new Set())).toBeNull();
  });
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerfMemory, PERF_FILE, type PerfKey } from "../../src/tuning/memory";

const key = (over: Partial<PerfKey> = {}): PerfKey => ({ cpu: "amd epyc 9b14", profile: "balanced", algo: "sha256d", threads: 2, batch: 16, layout: "node0:2", ...over });

describe("performance memory", () => {
  test("one row per configuration: sample count, running mean, best and last update per window", () => {
    const m = PerfMemory.open(":memory:");
    m.record(key(), 100, 1_000);
    m.record(key(), 200, 2_000);
    const r = m.record(key(), 120, 3_000);
    expect(r).toMatchObject({ samples: 3, best: 200, updated: 3_000 });
    expect(r.avg).toBeCloseTo(140, 9);
    expect(m.list("amd epyc 9b14")).toHaveLength(1);
    m.record(key({ layout: "node0:1,node1:1" }), 90);
    expect(m.list("amd epyc 9b14")).toHaveLength(2); // the layout is part of the key
  });

  test("best-for(cpu, profile, algo) is the highest mean of that algorithm only; other algorithms are hints", () => {
    const m = PerfMemory.open(":memory:");
    m.record(key({ threads: 1 }), 50);
    m.record(key({ threads: 2 }), 95);
    m.record(key({ threads: 2, batch: 4 }), 90);
    m.record(key({ algo: "scrypt", threads: 1, batch: 8 }), 1_000_000); // far larger numbers, another algorithm
    m.record(key({ profile: "laptop", threads: 1 }), 500);
    expect(m.bestFor("amd epyc 9b14", "balanced", "sha256d")).toMatchObject({ threads: 2, batch: 16, avg: 95 });
    expect(m.bestFor("amd epyc 9b14", "balanced", "scrypt")).toMatchObject({ threads: 1, batch: 8 });
    expect(m.bestFor("intel core i7-8700k", "balanced", "sha256d")).toBeNull();
    expect(m.hints("amd epyc 9b14", "balanced", "sha256d").map((r) => [r.algo, r.threads])).toEqual([["scrypt", 1]]);
    expect(m.hints("amd epyc 9b14", "balanced", "scrypt").map((r) => [r.algo, r.threads, r.batch])).toEqual([["sha256d", 2, 16]]);
  });

  test("two processes' handles on one file both write, and a new open reads what they wrote", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-perf-"));
    const a = PerfMemory.open(dir);
    const b = PerfMemory.open(dir);
    a.record(key(), 100);
    b.record(key(), 300);
    a.close();
    b.close();
    const c = PerfMemory.open(dir);
    expect(c.get(key())).toMatchObject({ samples: 2, avg: 200, best: 300 });
    c.close();
  });

  test("a damaged file is a clear error naming it, and bad hashrates are refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-perf-"));
    writeFileSync(join(dir, PERF_FILE), "this is not a database".repeat(100));
    expect(() => PerfMemory.open(dir)).toThrow(new RegExp(`performance memory .*${PERF_FILE}.*move the file away`));
    const m = PerfMemory.open(":memory:");
    expect(() => m.record(key(), Number.NaN)).toThrow("finite");
    expect(() => m.record(key(), -1)).toThrow("finite");
  });
});

// Steering the mining engine while it mines: real Workers, the real kernel, a temp CPU claims directory.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelLib, loadKernel, referenceBackend } from "../../src/kernel";
import { allowedCpus, CpuClaims, MiningEngine } from "../../src/miner";
import { createLogger, type FoundNonce, type JobSource, type MinerJob } from "../../src/core";
import { waitFor } from "../helpers";

const { info: kernel } = await loadKernel("auto");
const lib = new KernelLib(kernel.path);
const allowed = allowedCpus() ?? [];

const dirs: string[] = [];
const claimsDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rignode-claims-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A source with one job: it counts every request for another (there must be none while steering). */
class OneJob implements JobSource {
  found_: FoundNonce[] = [];
  nextJobCalls = 0;
  nextJob(): MinerJob | null {
    this.nextJobCalls++;
    return null;
  }
  found(f: FoundNonce): void {
    this.found_.push(f);
  }
}

function header(seed: number): Uint8Array {
  return new Uint8Array(80).map((_, i) => (i * 17 + seed * 13) & 0xff);
}

/** 1 nonce in 256 hits: every batch of a thread has hits, a retiring thread's last one too. */
function easyTarget(): Uint8Array {
  const t = new Uint8Array(32).fill(0xff);
  t[31] = 0x00;
  return t;
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ json: true, level: "info", write: (l) => lines.push(JSON.parse(l)) });
  return { log, changed: () => lines.filter((l) => l.event === "miner.changed") };
}

/** Records engine.totalHashes() every 20 ms; `check()` says whether it ever went down. */
function watchHashes(engine: MiningEngine) {
  const seen: number[] = [];
  const timer = setInterval(() => seen.push(engine.totalHashes(), engine.stats().hashes), 20);
  return {
    check() {
      clearInterval(timer);
      for (let i = 1; i < seen.length; i++) if (seen[i]! < seen[i - 1]!) return `went down at ${i}: ${seen[i - 1]} -> ${seen[i]}`;
      return seen.length > 10 ? "monotonic" : `only ${seen.length} samples`;
    },
  };
}

/**
 * Every nonce of the job's range that was hashed (the shared cursor hands out [start, start + hashes) when no job
 * changed) was reported exactly once if it is a hit, and nothing else was: compared with the kernel scanning the
 * same range in this thread, and a sample checked against the independent node:crypto reference.
 */
function expectNoNonceLost(src: OneJob, job: MinerJob, hashes: number) {
  const got = src.found_.map((f) => f.nonce).sort((a, b) => a - b);
  const want = lib.scan("sha256d", job.header, job.nonceStart ?? 0, hashes, job.target);
  expect(got.length).toBe(want.length);
  expect(got).toEqual(want);
  expect(src.found_.every((f) => f.jobId === job.id)).toBe(true);
  for (const n of [...got.slice(0, 50), ...got.slice(-50)]) expect(referenceBackend.scan("sha256d", job.header, n, 1, job.target)).toEqual([n]);
}

describe("steering the mining engine", () => {
  test("threads 1→2→1→3 while a job runs: Workers counted, hashes keep rising, the same job goes on, no nonce lost, CPUs given back", async () => {
    const dir = claimsDir();
    const src = new OneJob();
    const { log, changed } = logSink();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 100_000, source: src, claimsDir: dir, cpuOrder: allowed, log });
    await engine.start();
    const job: MinerJob = { id: "steer", algo: "sha256d", header: header(1), target: easyTarget(), nonceStart: 1000 };
    engine.setJob(job);
    const watch = watchHashes(engine);
    await waitFor(() => (engine.totalHashes() > 0 ? true : undefined));
    expect(engine.stats().activeWorkers).toBe(1);

    for (const [n, reason] of [[2, "tuner: more"], [1, "thermal:hot cap 1"], [3, "cooled"]] as const) {
      const before = engine.totalHashes();
      await engine.setThreads(n, reason);
      const s = engine.stats();
      expect(s.activeWorkers).toBe(n);
      expect(s.threads).toBe(n);
      // Per-thread stats list the threads alive: the lowest slots, the highest retired first.
      expect(s.perThread.map((t) => t.thread)).toEqual(Array.from({ length: n }, (_, i) => i));
      // Retired threads' hashes still count; the engine goes on hashing with the new set.
      expect(engine.totalHashes()).toBeGreaterThanOrEqual(before);
      const mark = engine.totalHashes();
      await waitFor(() => (engine.totalHashes() > mark + 4 * 100_000 ? true : undefined));
      // Every thread alive does its share.
      await waitFor(() => (engine.stats().perThread.every((t) => t.hashes > 0) ? true : undefined));
      if (n === 2 && allowed.length >= 2) expect(s.perThread.map((t) => t.cpu)).toEqual([allowed[0]!, allowed[1]!]);
      if (n === 1 && allowed.length >= 2) {
        // The retired thread's CPU was given back: another claimer (as another process would) gets it now.
        const other = new CpuClaims(dir);
        expect(other.tryClaim(allowed[1]!)).toBe(true);
        expect(other.tryClaim(allowed[0]!)).toBe(false); // thread 0 still holds its CPU
        other.release();
      }
      if (n === 3) expect(s.perThread.map((t) => t.cpu)).toEqual([allowed[0] ?? null, allowed[1] ?? null, allowed[2] ?? null]);
    }
    expect(engine.changes().threads).toBe(3);
    expect(changed().map((l) => [l.knob, l.from, l.to, l.reason])).toEqual([
      ["threads", 1, 2, "tuner: more"],
      ["threads", 2, 1, "thermal:hot cap 1"],
      ["threads", 1, 3, "cooled"],
    ]);
    await engine.stop();
    expect(watch.check()).toBe("monotonic");
    expect(engine.stats().activeWorkers).toBe(0);
    // The same job the whole time: never a new one asked for, nothing dropped as stale.
    expect(src.nextJobCalls).toBe(0);
    expect(engine.currentJob()!.id).toBe("steer");
    expect(engine.stats().staleDropped).toBe(0);
    expect(engine.stats().found).toBe(src.found_.length);
    expectNoNonceLost(src, job, engine.totalHashes());
    // Stopped: every CPU is free again.
    const after = new CpuClaims(dir);
    for (const c of allowed) expect(after.tryClaim(c)).toBe(true);
    after.release();
  });

  test("a retiring thread finishes the batch it holds and its nonces are delivered", async () => {
    const src = new OneJob();
    const batch = 3_000_000; // long batches: the retire surely lands while the thread is scanning one
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch, source: src, claimsDir: claimsDir() });
    await engine.start();
    const job: MinerJob = { id: "retire", algo: "sha256d", header: header(2), target: easyTarget(), nonceStart: 0 };
    engine.setJob(job);
    // Both threads have finished a batch, so each holds its next one.
    await waitFor(() => (engine.stats().perThread.every((t) => t.hashes >= batch) ? true : undefined), 60_000);
    const retiringBefore = engine.stats().perThread[1]!.hashes;
    await engine.setThreads(1, "test");
    expect(engine.stats().activeWorkers).toBe(1);
    await engine.stop();
    // The retired thread's batches were finished and counted (its counter is in the total) ...
    const total = engine.totalHashes();
    expect(total % batch).toBe(0);
    expect(total - engine.stats().perThread[0]!.hashes).toBeGreaterThanOrEqual(retiringBefore);
    // ... and every hit in every batch handed out was delivered.
    expectNoNonceLost(src, job, total);
    expect(src.nextJobCalls).toBe(0);
  });

  test("a batch change is read at each thread's next batch", async () => {
    const src = new OneJob();
    const { log, changed } = logSink();
    const b1 = 1_000_000;
    const b2 = 65_537;
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: b1, source: src, claimsDir: null, log });
    await engine.start();
    engine.setJob({ id: "b", algo: "sha256d", header: header(3), target: new Uint8Array(32) });
    await waitFor(() => (engine.totalHashes() >= b1 ? true : undefined));
    engine.setBatch(b2, "tuner: batch 1");
    const h0 = engine.totalHashes();
    // The one thread's counter grows by whole batches: at most one old batch (in hand at the change), then new ones.
    const fits = (v: number) => (v - h0) % b2 === 0 || (v - h0 >= b1 && (v - h0 - b1) % b2 === 0);
    const seen: number[] = [];
    await waitFor(() => {
      const v = engine.totalHashes();
      seen.push(v);
      return v - h0 > 3 * b1 ? true : undefined;
    }, 60_000);
    await engine.stop();
    expect(seen.filter((v) => !fits(v))).toEqual([]);
    expect(new Set(seen).size).toBeGreaterThan(1);
    expect(engine.stats().batch).toBe(b2);
    engine.setBatch(b2, "same"); // not a change
    expect(engine.changes().batch).toBe(1);
    expect(changed()).toEqual([expect.objectContaining({ knob: "batch", from: b1, to: b2, reason: "tuner: batch 1" })]);
    expect(() => engine.setBatch(0)).toThrow("batch must be >= 1");
  });

  test("pause and resume carry their reasons and are counted; a paused thread retires at once", async () => {
    const src = new OneJob();
    const { log, changed } = logSink();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 50_000, source: src, claimsDir: claimsDir(), log });
    await engine.start();
    engine.setJob({ id: "p", algo: "sha256d", header: header(4), target: new Uint8Array(32) });
    await waitFor(() => (engine.totalHashes() > 0 ? true : undefined));
    engine.pause("thermal:critical");
    engine.pause("again"); // already paused: no change
    expect(engine.stats().state).toBe("paused");
    // Paused threads sleep: the count settles (the batches in hand finish).
    let last = -1;
    await waitFor(async () => {
      const v = engine.totalHashes();
      if (v === last) return true;
      last = v;
      await Bun.sleep(300);
      return undefined;
    });
    await engine.setThreads(1, "power:battery cap 1");
    expect(engine.stats().activeWorkers).toBe(1);
    expect(engine.totalHashes()).toBe(last);
    engine.resume("cooled");
    engine.resume("again");
    await waitFor(() => (engine.totalHashes() > last ? true : undefined));
    await engine.stop();
    expect(engine.changes()).toEqual({ threads: 1, batch: 0, pause: 1, resume: 1 });
    expect(changed().map((l) => [l.knob, l.from, l.to, l.reason])).toEqual([
      ["pause", "running", "paused", "operator: thermal:critical"],
      ["threads", 2, 1, "power:battery cap 1"],
      ["resume", "paused", "running", "operator: cooled"],
    ]);
  });

  test("holds: the engine mines only when no holder is left (new pool work does not end a governor's pause)", async () => {
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 4096, source: new OneJob(), claimsDir: null });
    await engine.start();
    try {
      engine.hold("pool", "waiting for work");
      engine.setJob({ id: "h", algo: "sha256d", header: header(5), target: new Uint8Array(32) });
      expect(engine.stats().state).toBe("paused"); // a job alone does not start a held engine
      engine.hold("governor", "thermal:critical pause");
      engine.release("pool", "work from the pool");
      expect(engine.stats().state).toBe("paused");
      expect(engine.heldBy()).toEqual({ governor: "thermal:critical pause" });
      engine.release("governor", "cooled");
      expect(engine.stats().state).toBe("running");
      engine.release("governor", "again"); // not held: nothing changes
      expect(engine.changes()).toMatchObject({ pause: 1, resume: 1 });
    } finally {
      await engine.stop();
    }
  });

  test("concurrent setThreads calls are applied one at a time and the last one wins", async () => {
    const { log, changed } = logSink();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 50_000, source: new OneJob(), claimsDir: claimsDir(), log });
    await engine.start();
    engine.setJob({ id: "c", algo: "sha256d", header: header(5), target: new Uint8Array(32) });
    const first = engine.setThreads(3, "a");
    await Bun.sleep(1); // let the first one start
    const rest = [engine.setThreads(1, "b"), engine.setThreads(2, "c")];
    await Promise.all([first, ...rest]);
    const s = engine.stats();
    expect(s.activeWorkers).toBe(2);
    expect(s.threads).toBe(2);
    expect(s.perThread.map((t) => t.thread)).toEqual([0, 1]);
    // The changes made form one chain from 1 to 2 (an intermediate request may be skipped, never reordered).
    const chain = changed().map((l) => [l.from, l.to]);
    expect(chain[0]![0]).toBe(1);
    expect(chain[chain.length - 1]![1]).toBe(2);
    for (let i = 1; i < chain.length; i++) expect(chain[i]![0]).toBe(chain[i - 1]![1]);
    expect(engine.changes().threads).toBe(chain.length);
    await engine.stop();
  });

  test("stop() while a setThreads is in flight stops every Worker and frees every CPU", async () => {
    const dir = claimsDir();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 50_000, source: new OneJob(), claimsDir: dir, cpuOrder: allowed });
    await engine.start();
    engine.setJob({ id: "s", algo: "sha256d", header: header(6), target: new Uint8Array(32) });
    const adding = engine.setThreads(3, "more");
    await Bun.sleep(1);
    await engine.stop();
    await adding.catch(() => {});
    expect(engine.stats().activeWorkers).toBe(0);
    const after = new CpuClaims(dir);
    for (const c of allowed) expect(after.tryClaim(c)).toBe(true);
    after.release();
    // Nothing hashes any more, and the stopped engine refuses to be steered.
    const h = engine.totalHashes();
    await Bun.sleep(200);
    expect(engine.totalHashes()).toBe(h);
    await expect(engine.setThreads(2, "late")).rejects.toThrow("stopped");

    // A retire in flight when stop() comes is finished too.
    const e2 = new MiningEngine({ kernelPath: kernel.path, threads: 3, batch: 1_000_000, source: new OneJob(), claimsDir: dir, cpuOrder: allowed });
    await e2.start();
    e2.setJob({ id: "s2", algo: "sha256d", header: header(7), target: new Uint8Array(32) });
    const retiring = e2.setThreads(1, "less");
    await e2.stop();
    await retiring;
    expect(e2.stats().activeWorkers).toBe(0);
    const again = new CpuClaims(dir);
    for (const c of allowed) expect(again.tryClaim(c)).toBe(true);
    again.release();
  });

  test("stop() while start() is still bringing threads up stops them all", async () => {
    const dir = claimsDir();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 50_000, source: new OneJob(), claimsDir: dir, cpuOrder: allowed });
    const starting = engine.start();
    await engine.stop();
    await starting;
    expect(engine.stats().activeWorkers).toBe(0);
    const after = new CpuClaims(dir);
    for (const c of allowed) expect(after.tryClaim(c)).toBe(true);
    after.release();
  });

  test("bad thread counts are refused and change nothing", async () => {
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 1000, source: new OneJob(), claimsDir: null, maxThreads: 4 });
    expect(() => engine.setThreads(0, "x")).toThrow("threads must be >= 1");
    expect(() => engine.setThreads(1.5, "x")).toThrow("threads must be >= 1");
    expect(() => engine.setThreads(5, "x")).toThrow("maxThreads (4)");
    expect(() => new MiningEngine({ kernelPath: kernel.path, threads: 5, batch: 1000, source: new OneJob(), maxThreads: 4 })).toThrow("maxThreads (4)");
    // Before start(): it sets how many start() spawns.
    await engine.setThreads(2, "config");
    await engine.start();
    expect(engine.stats().activeWorkers).toBe(2);
    await engine.stop();
    expect(engine.changes().threads).toBe(1);
  });
});

// The mining engine with real Workers and the real kernel, in this process.
import { describe, expect, test } from "bun:test";
import { loadKernel, referenceBackend } from "../../src/kernel";
import { allowedCpus, MiningEngine } from "../../src/miner";
import type { FoundNonce, JobSource, MinerJob } from "../../src/core";
import { createLogger } from "../../src/core";
import { waitFor } from "../helpers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { info: kernel } = await loadKernel("auto");

class Collect implements JobSource {
  found_: FoundNonce[] = [];
  exhausted = 0;
  next: MinerJob | null = null;
  nextJob(): MinerJob | null {
    this.exhausted++;
    const n = this.next;
    this.next = null;
    return n;
  }
  found(f: FoundNonce): void {
    this.found_.push(f);
  }
}

function header(seed: number): Uint8Array {
  return new Uint8Array(80).map((_, i) => (i * 31 + seed * 7) & 0xff);
}

describe("mining engine", () => {
  test("two threads cover a nonce range exactly once: every nonce reported once, none outside", async () => {
    const src = new Collect();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 997, source: src });
    await engine.start();
    engine.setJob({ id: "all", algo: "sha256d", header: header(1), target: new Uint8Array(32).fill(0xff), nonceStart: 5000, nonceEnd: 65000 });
    await waitFor(() => (src.exhausted > 0 && src.found_.length >= 60000 ? true : undefined));
    await engine.stop();
    const nonces = src.found_.map((f) => f.nonce).sort((a, b) => a - b);
    expect(nonces.length).toBe(60000);
    expect(nonces[0]).toBe(5000);
    expect(nonces[59999]).toBe(64999);
    expect(new Set(nonces).size).toBe(60000);
    expect(engine.stats().hashes).toBe(60000);
  });

  test("found nonces equal the reference scan for the same job", async () => {
    const src = new Collect();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 4096, source: src });
    await engine.start();
    const target = new Uint8Array(32).fill(0xff);
    target[31] = 0x00; // 1 in 256
    const job: MinerJob = { id: "ref", algo: "sha256d", header: header(2), target, nonceStart: 2 ** 32 - 40000, nonceEnd: 2 ** 32 };
    engine.setJob(job);
    await waitFor(() => (src.exhausted > 0 ? true : undefined));
    await engine.stop();
    const want = referenceBackend.scan("sha256d", job.header, job.nonceStart!, 40000, target);
    expect(src.found_.map((f) => f.nonce).sort((a, b) => a - b)).toEqual(want);
    expect(src.found_.every((f) => f.jobId === "ref")).toBe(true);
  });

  test("a job switch never yields a share for the old job", async () => {
    const src = new Collect();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 50_000, source: src });
    await engine.start();
    const easy = new Uint8Array(32).fill(0xff);
    easy[31] = 0x00; // 1 nonce in 256 hits: the old job has results in flight at every switch
    for (let round = 0; round < 5; round++) {
      const old = `old-${round}`;
      engine.setJob({ id: old, algo: "sha256d", header: header(10 + round), target: easy });
      // The old job is producing results when the switch comes (so there are some in flight to be dropped).
      await waitFor(() => (src.found_.filter((f) => f.jobId === old).length >= 20 ? true : undefined));
      const mark = src.found_.length;
      const newTarget = new Uint8Array(32).fill(0xff);
      newTarget[31] = 0x0f;
      const job: MinerJob = { id: `new-${round}`, algo: "sha256d", header: header(100 + round), target: newTarget };
      const hashesAtSwitch = engine.totalHashes();
      engine.setJob(job);
      // Every batch in flight at the switch (one per thread, at most 50,000 nonces) has come back: two batches per
      // thread hashed since, and the new job has shares.
      await waitFor(() => (engine.totalHashes() - hashesAtSwitch >= 2 * 2 * 50_000 && src.found_.slice(mark).filter((f) => f.jobId === job.id).length >= 50 ? true : undefined));
      const after = src.found_.slice(mark);
      expect(after.filter((f) => f.jobId === job.id).length).toBeGreaterThanOrEqual(50);
      expect(after.filter((f) => f.jobId !== job.id)).toEqual([]);
      // Every nonce reported for the new job really meets the new job's target.
      for (const f of after) {
        expect(referenceBackend.scan("sha256d", job.header, f.nonce, 1, newTarget)).toEqual([f.nonce]);
      }
    }
    await engine.stop();
  });

  test("a source that switches jobs inside found() never gets a nonce of the old job under the new id", async () => {
    const jobs = new Map<string, MinerJob>();
    let n = 0;
    const make = (): MinerJob => {
      const target = new Uint8Array(32).fill(0xff);
      target[31] = 0x03; // many hits per batch, so one message carries several nonces
      const j: MinerJob = { id: `j${++n}`, algo: "sha256d", header: header(200 + n), target };
      jobs.set(j.id, j);
      return j;
    };
    const reported: FoundNonce[] = [];
    let engine: MiningEngine;
    const src: JobSource = {
      nextJob: () => make(),
      found: (f) => {
        reported.push(f);
        if (reported.length % 3 === 0) engine.setJob(make()); // like a solo node whose block changed the tip
      },
    };
    engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 4096, source: src });
    await engine.start();
    engine.setJob(make());
    await waitFor(() => (reported.length >= 60 ? true : undefined));
    await engine.stop();
    for (const f of reported) {
      const j = jobs.get(f.jobId)!;
      expect(referenceBackend.scan("sha256d", j.header, f.nonce, 1, j.target)).toEqual([f.nonce]);
    }
  });

  test("pause stops hashing without stopping the threads; resume continues", async () => {
    const src = new Collect();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 20_000, source: src });
    await engine.start();
    engine.setJob({ id: "p", algo: "sha256d", header: header(3), target: new Uint8Array(32) });
    await waitFor(() => (engine.totalHashes() > 0 ? true : undefined));
    engine.pause();
    await Bun.sleep(100); // let batches in hand finish
    const paused = engine.totalHashes();
    await Bun.sleep(300);
    expect(engine.totalHashes()).toBe(paused);
    expect(engine.stats().state).toBe("paused");
    engine.resume();
    await waitFor(() => (engine.totalHashes() > paused ? true : undefined));
    await engine.stop();
  });

  test("scrypt jobs run through the same engine", async () => {
    const src = new Collect();
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 64, source: src });
    await engine.start();
    const target = new Uint8Array(32).fill(0xff);
    target[31] = 0x1f;
    const job: MinerJob = { id: "s", algo: "scrypt", header: header(4), target, nonceStart: 0, nonceEnd: 600 };
    engine.setJob(job);
    await waitFor(() => (src.exhausted > 0 ? true : undefined));
    await engine.stop();
    expect(src.found_.map((f) => f.nonce).sort((a, b) => a - b)).toEqual(referenceBackend.scan("scrypt", job.header, 0, 600, target));
  });

  test("threads are pinned to the CPUs this process may use, never one another engine holds, and report where", async () => {
    const src = new Collect();
    // A private claims directory: other rignode processes on this machine must not change what this test sees.
    const claimsDir = mkdtempSync(join(tmpdir(), "rignode-claims-"));
    const allowed = allowedCpus()!;
    const engine = new MiningEngine({ kernelPath: kernel.path, threads: 2, batch: 1000, source: src, pin: true, claimsDir });
    await engine.start();
    const cpus = engine.stats().perThread.map((t) => t.cpu);
    expect(cpus).toEqual(allowed.length >= 2 ? [allowed[0]!, allowed[1]!] : [allowed[0]!, null]);
    // A second engine while the first runs (as another process would): only CPUs nobody holds, else unpinned.
    const lines: string[] = [];
    const log = createLogger({ json: true, level: "info", write: (l) => lines.push(l) });
    const second = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 1000, source: src, pin: true, claimsDir, log });
    await second.start();
    const free = allowed.slice(2);
    expect(second.stats().perThread[0]!.cpu).toBe(free.length ? free[0]! : null);
    if (!free.length) expect(lines.some((l) => JSON.parse(l).event === "miner.cpus_taken")).toBe(true);
    await second.stop();
    await engine.stop();
    // Stopped engines hold nothing: a new one gets the first CPU again.
    const third = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 1000, source: src, pin: true, claimsDir });
    await third.start();
    expect(third.stats().perThread[0]!.cpu).toBe(allowed[0]!);
    await third.stop();
    rmSync(claimsDir, { recursive: true });
    const unpinned = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 1000, source: src, pin: false });
    await unpinned.start();
    expect(unpinned.stats().perThread[0]!.cpu).toBeNull();
    await unpinned.stop();
  });

  test("bad engine settings are refused", () => {
    expect(() => new MiningEngine({ kernelPath: kernel.path, threads: 0, batch: 1, source: new Collect() })).toThrow("threads must be >= 1");
    const e = new MiningEngine({ kernelPath: kernel.path, threads: 1, batch: 1, source: new Collect() });
    expect(() => e.setJob({ id: "x", algo: "sha256d", header: new Uint8Array(79), target: new Uint8Array(32) })).toThrow("80 bytes");
  });
});

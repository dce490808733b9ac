import { RignodeError, type Algo, type JobSource, type Logger, type MinerJob } from "../core";
import { checkHeader, chooseImpls, KernelLib, type ImplChoice } from "../kernel";
import { Control, STATE } from "./control";
import { HashrateMeter } from "./hashrate";
import { allowedCpus, placeThreads } from "./affinity";
import { CpuClaims, defaultClaimsDir } from "./cpu-claims";
import type { WorkerInit, WorkerMessage } from "./worker";

export interface EngineOptions {
  /** dlopen path of the kernel variant to mine with (KernelInfo.path). */
  kernelPath: string;
  threads: number;
  /** Nonces per kernel call. */
  batch: number;
  source: JobSource;
  log?: Logger;
  /** Pin each thread to a CPU (sched_setaffinity on Linux); default true. */
  pin?: boolean;
  /** Implementation per algorithm; measured at start when not given. */
  impls?: Record<Algo, ImplChoice>;
  /**
   * Directory where rignode processes on this host claim the CPUs they pin to (default: defaultClaimsDir());
   * null: pin round-robin without asking other processes.
   */
  claimsDir?: string | null;
}

export interface ThreadStats {
  thread: number;
  /** CPU the thread is pinned to, or null when it is not pinned. */
  cpu: number | null;
  hashes: number;
  hashrate: { "10s": number; "60s": number; "15m": number };
}

export interface EngineStats {
  threads: number;
  batch: number;
  state: "idle" | "running" | "paused" | "stopping";
  impls: Record<Algo, ImplChoice> | null;
  hashes: number;
  hashrate: { "10s": number; "60s": number; "15m": number };
  perThread: ThreadStats[];
  found: number;
  staleDropped: number;
}

/**
 * Where the worker entry point is: beside this file when run from source; in a compiled binary this module is
 * bundled into the main chunk at the root of the embedded file system and the worker keeps its path under src/.
 */
function workerUrl(): string {
  const here = import.meta.url;
  return here.includes("$bunfs") ? new URL("./miner/worker.ts", here).href : new URL("./worker.ts", here).href;
}

const STATE_NAMES = ["idle", "running", "paused", "stopping"] as const;

/** The mining engine: one Worker per thread, lock-free job switching through a shared control block. */
export class MiningEngine {
  private readonly ctl: Control;
  private readonly workers: Worker[] = [];
  private job: MinerJob | null = null;
  private seq = 0;
  private readonly meters: HashrateMeter[];
  private readonly total = new HashrateMeter();
  private sampler: ReturnType<typeof setInterval> | undefined;
  private stoppedWaiters: (() => void)[] = [];
  private stoppedCount = 0;
  private foundCount = 0;
  private staleDropped = 0;
  private impls: Record<Algo, ImplChoice> | null = null;
  private pinned: (number | null)[] = [];
  private claims: CpuClaims | null = null;

  constructor(private readonly opts: EngineOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RignodeError("config", `threads must be >= 1, got ${opts.threads}`);
    if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new RignodeError("config", `batch must be >= 1, got ${opts.batch}`);
    this.ctl = Control.create(opts.threads);
    this.ctl.setBatch(opts.batch);
    this.meters = Array.from({ length: opts.threads }, () => new HashrateMeter());
  }

  /** Spawns the workers; resolves when each has loaded the kernel. */
  async start(): Promise<void> {
    this.impls = this.opts.impls ?? chooseImpls(new KernelLib(this.opts.kernelPath));
    const impls = { sha256d: this.impls.sha256d.impl, scrypt: this.impls.scrypt.impl };
    const placement = this.place();
    this.pinned = placement.map(() => null);
    const ready: Promise<void>[] = [];
    for (let t = 0; t < this.opts.threads; t++) {
      const w = new Worker(workerUrl());
      this.workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.onmessage = (ev: MessageEvent<WorkerMessage>) => {
            if (ev.data.type === "ready") {
              this.pinned[t] = ev.data.pinned;
              resolve();
            }
            else if (ev.data.type === "error") reject(new RignodeError("kernel", `mining thread ${t}: ${ev.data.message}`));
            this.onMessage(ev.data);
          };
          w.onerror = (ev) => reject(new RignodeError("internal", `mining thread ${t} failed: ${ev.message}`));
        }),
      );
      w.postMessage({ type: "init", thread: t, kernelPath: this.opts.kernelPath, sab: this.ctl.sab, impls, cpu: placement[t] ?? null } satisfies WorkerInit);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      this.claims?.release();
      throw e;
    }
    // A thread the kernel would not pin holds no CPU: give its claim back.
    for (let t = 0; t < placement.length; t++) if (placement[t] !== null && this.pinned[t] === null) this.claims?.releaseCpu(placement[t]!);
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref?.();
    this.sample();
    this.opts.log?.info("miner.started", {
      threads: this.opts.threads,
      batch: this.opts.batch,
      sha256d_impl: impls.sha256d,
      pinned: this.pinned.map((c) => (c === null ? "-" : c)).join(","),
      cpu_claims: this.claims?.dir,
      impl_measured: this.impls.sha256d.measured.map((m) => `${m.impl}=${(m.hs / 1e6).toFixed(1)}MH/s`).join(",") || undefined,
    });
  }

  /**
   * CPU per thread: from the CPUs this process may run on (sched_getaffinity), skipping those another rignode
   * process has pinned a thread to; threads left over when every allowed CPU is taken run unpinned.
   */
  private place(): (number | null)[] {
    const allowed = this.opts.pin === false ? null : allowedCpus();
    if (!allowed?.length || this.opts.claimsDir === null) return placeThreads(this.opts.threads, allowed);
    const dir = this.opts.claimsDir ?? defaultClaimsDir();
    try {
      this.claims = new CpuClaims(dir);
    } catch (e) {
      this.opts.log?.warn("miner.cpu_claims_unavailable", { dir, error: (e as Error).message, note: "pinning without checking other rignode processes" });
      return placeThreads(this.opts.threads, allowed);
    }
    const claims = this.claims;
    const placement = placeThreads(this.opts.threads, allowed, (cpu) => claims.tryClaim(cpu));
    const unpinned = placement.filter((c) => c === null).length;
    if (unpinned > 0) {
      const taken = allowed.filter((c) => !claims.held().includes(c));
      this.opts.log?.warn("miner.cpus_taken", {
        unpinned_threads: unpinned,
        allowed: allowed.join(","),
        taken_by: taken.map((c) => `${c}:pid${claims.holder(c) ?? "?"}`).join(","),
        cpu_claims: dir,
        note: "every allowed CPU is pinned by another rignode process (or thread); these threads run unpinned",
      });
    }
    return placement;
  }

  /** Switches every thread to `job` at its next batch boundary; results of the old job are dropped from then on. */
  setJob(job: MinerJob): void {
    checkHeader(job.header);
    if (job.target.length !== 32) throw new RignodeError("input", `target must be 32 bytes, got ${job.target.length}`);
    const start = job.nonceStart ?? 0;
    const end = job.nonceEnd ?? 2 ** 32;
    if (start < 0 || end > 2 ** 32 || start > end) throw new RignodeError("input", `nonce range [${start}, ${end}) is invalid`);
    this.job = job;
    this.seq = this.ctl.publish(job.algo, job.header, job.target, start, end);
    if (this.ctl.state === STATE.idle) this.ctl.setState(STATE.running);
  }

  /** The current job, if any. */
  currentJob(): MinerJob | null {
    return this.job;
  }

  /** Threads finish their batch and sleep without spinning until resume(). */
  pause(): void {
    if (this.ctl.state === STATE.running) this.ctl.setState(STATE.paused);
  }

  resume(): void {
    if (this.ctl.state === STATE.paused) this.ctl.setState(this.job ? STATE.running : STATE.idle);
  }

  /** Nonces per kernel call, changed live (the auto-tuner's knob). */
  setBatch(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RignodeError("config", `batch must be >= 1, got ${n}`);
    this.opts.batch = n;
    this.ctl.setBatch(n);
  }

  /** Stops every thread after its current batch and waits for them. */
  async stop(): Promise<void> {
    if (this.workers.length === 0) return;
    this.ctl.setState(STATE.stopping);
    if (this.stoppedCount < this.workers.length) {
      await new Promise<void>((resolve) => this.stoppedWaiters.push(resolve));
    }
    clearInterval(this.sampler);
    this.sample();
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.claims?.release();
    this.opts.log?.info("miner.stopped", { hashes: this.totalHashes() });
  }

  /** Hashes done so far by all threads (counted after each finished batch). */
  totalHashes(): number {
    let s = 0;
    for (let t = 0; t < this.opts.threads; t++) s += this.ctl.hashes(t);
    return s;
  }

  stats(): EngineStats {
    return {
      threads: this.opts.threads,
      batch: this.opts.batch,
      state: STATE_NAMES[this.ctl.state] ?? "idle",
      impls: this.impls,
      hashes: this.totalHashes(),
      hashrate: this.total.windows(),
      perThread: this.meters.map((m, thread) => ({ thread, cpu: this.pinned[thread] ?? null, hashes: this.ctl.hashes(thread), hashrate: m.windows() })),
      found: this.foundCount,
      staleDropped: this.staleDropped,
    };
  }

  private sample(): void {
    const now = performance.now();
    let sum = 0;
    for (let t = 0; t < this.opts.threads; t++) {
      const h = this.ctl.hashes(t);
      sum += h;
      this.meters[t]!.sample(now, h);
    }
    this.total.sample(now, sum);
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case "found": {
        const job = this.job;
        for (let i = 0; i < m.nonces.length; i++) {
          // The source may switch jobs inside found() (a solo block changes the tip): the rest are then stale.
          if (m.seq !== this.seq || !job) {
            this.staleDropped += m.nonces.length - i;
            return;
          }
          this.foundCount++;
          this.opts.source.found({ jobId: job.id, nonce: m.nonces[i]! });
        }
        return;
      }
      case "exhausted": {
        if (m.seq !== this.seq || !this.job) return;
        const next = this.opts.source.nextJob(this.job);
        if (next) this.setJob(next);
        else if (this.ctl.state === STATE.running) this.ctl.setState(STATE.idle);
        return;
      }
      case "error":
        this.opts.log?.error("miner.thread_error", { thread: m.thread, error: m.message });
        return;
      case "stopped":
        this.stoppedCount++;
        if (this.stoppedCount >= this.workers.length) for (const r of this.stoppedWaiters.splice(0)) r();
        return;
      case "ready":
        return;
    }
  }
}

import { RignodeError, type Algo, type JobSource, type Logger, type MinerJob } from "../core";
import { checkHeader, chooseImpls, KernelLib, type ImplChoice } from "../kernel";
import { Control, STATE } from "./control";
import { HashrateMeter } from "./hashrate";
import { allowedCpus } from "./affinity";
import { CpuPlacer } from "./placer";
import { ThreadPool } from "./threads";
import type { WorkerMessage } from "./worker";

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
  /** CPUs in the order threads take them (default: the allowed mask, allowedCpus(), in order). */
  cpuOrder?: number[];
  /** Most threads setThreads may ask for (the control block is sized for it); default 1024. */
  maxThreads?: number;
}

export interface ThreadStats {
  thread: number;
  /** CPU the thread is pinned to, or null when it is not pinned. */
  cpu: number | null;
  /** Hashes of this thread (since it was started in its slot). */
  hashes: number;
  hashrate: { "10s": number; "60s": number; "15m": number };
}

export interface EngineStats {
  /** Threads asked for (after the last finished setThreads). */
  threads: number;
  /** Workers alive (threads mining, and retiring ones until they are gone). */
  activeWorkers: number;
  batch: number;
  state: "idle" | "running" | "paused" | "stopping";
  impls: Record<Algo, ImplChoice> | null;
  /** Every hash done, retired threads' included: it never goes down. */
  hashes: number;
  hashrate: { "10s": number; "60s": number; "15m": number };
  /** The threads alive now (after stop(): the last ones). */
  perThread: ThreadStats[];
  found: number;
  staleDropped: number;
}

/** The knobs steered while mining; each change is logged (`miner.changed`) and counted. */
export type Knob = "threads" | "batch" | "pause" | "resume";

const STATE_NAMES = ["idle", "running", "paused", "stopping"] as const;

/**
 * The mining engine: one Worker per thread, lock-free job switching through a shared control block, and steerable
 * while it mines (threads added and retired, batch size, pause) without dropping the job or a found nonce.
 */
export class MiningEngine {
  private readonly ctl: Control;
  private pool: ThreadPool | null = null;
  private job: MinerJob | null = null;
  private seq = 0;
  private readonly total = new HashrateMeter();
  private sampler: ReturnType<typeof setInterval> | undefined;
  private foundCount = 0;
  private staleDropped = 0;
  private impls: Record<Algo, ImplChoice> | null = null;
  private placer: CpuPlacer | null = null;
  private readonly counts: Record<Knob, number> = { threads: 0, batch: 0, pause: 0, resume: 0 };
  /** Who holds the engine paused (holder -> reason); it runs only when this is empty. */
  private readonly holders = new Map<string, string>();
  /** The latest setThreads not yet applied (the last call wins), and the loop applying them. */
  private wanted: { n: number; reason: string } | null = null;
  private steering: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: EngineOptions) {
    const max = opts.maxThreads ?? 1024;
    if (!Number.isInteger(max) || max < 1 || max > 65536) throw new RignodeError("config", `maxThreads must be 1..65536, got ${max}`);
    this.checkThreads(opts.threads, max);
    if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new RignodeError("config", `batch must be >= 1, got ${opts.batch}`);
    this.ctl = Control.create(max);
    this.ctl.setBatch(opts.batch);
  }

  private checkThreads(n: number, max: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RignodeError("config", `threads must be >= 1, got ${n}`);
    if (n > max) throw new RignodeError("config", `threads must be <= maxThreads (${max}), got ${n}`);
  }

  /** Spawns the workers; resolves when each has loaded the kernel. */
  async start(): Promise<void> {
    if (this.pool) throw new RignodeError("internal", "the engine is started already");
    this.impls = this.opts.impls ?? chooseImpls(new KernelLib(this.opts.kernelPath));
    const impls = { sha256d: this.impls.sha256d.impl, scrypt: this.impls.scrypt.impl };
    // CPUs from those this process may run on (sched_getaffinity) in preference order, skipping those another
    // rignode process has pinned a thread to; threads left over when every one is taken run unpinned.
    const order = this.opts.pin === false ? null : (this.opts.cpuOrder ?? allowedCpus());
    const placer = (this.placer = new CpuPlacer(order, this.opts.claimsDir, this.opts.log));
    const pool = (this.pool = new ThreadPool(this.ctl, this.opts.kernelPath, impls, placer, (m) => this.onMessage(m)));
    const threads = Array.from({ length: this.opts.threads }, (_, t) => t);
    try {
      await pool.spawn(threads, placer.initial(this.opts.threads));
    } catch (e) {
      this.stopping = (async () => {
        this.ctl.setState(STATE.stopping);
        await pool.stopAll();
      })();
      await this.stopping;
      throw e;
    }
    if (this.stopping) return; // stop() came while the threads were starting
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref?.();
    this.sample();
    this.opts.log?.info("miner.started", {
      threads: this.opts.threads,
      batch: this.opts.batch,
      sha256d_impl: impls.sha256d,
      pinned: this.pinnedList(),
      cpu_claims: placer.dir,
      impl_measured: this.impls.sha256d.measured.map((m) => `${m.impl}=${(m.hs / 1e6).toFixed(1)}MH/s`).join(",") || undefined,
    });
  }

  private pinnedList(): string {
    return (this.pool?.active() ?? []).map((s) => (s.pinned === null ? "-" : s.pinned)).join(",");
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
    if (this.ctl.state === STATE.idle) this.ctl.setState(this.holders.size ? STATE.paused : STATE.running);
  }

  /** The current job, if any. */
  currentJob(): MinerJob | null {
    return this.job;
  }

  /**
   * Holds the engine paused on behalf of `holder` ("pool": no work; "operator": the API; "governor": heat or battery)
   * until that holder releases it: threads finish their batch and sleep without spinning. It mines again only when no
   * holder is left, so new work from the pool cannot end a thermal pause, nor a cool-down an operator's pause.
   */
  hold(holder: string, reason?: string): void {
    if (this.holders.has(holder)) return;
    this.holders.set(holder, reason ?? "unspecified");
    const s = this.ctl.state;
    if (s !== STATE.running && s !== STATE.idle) return;
    this.ctl.setState(STATE.paused);
    this.changed("pause", STATE_NAMES[s], "paused", `${holder}: ${reason ?? "unspecified"}`);
  }

  release(holder: string, reason?: string): void {
    if (!this.holders.delete(holder) || this.holders.size > 0 || this.ctl.state !== STATE.paused) return;
    const to = this.job ? STATE.running : STATE.idle;
    this.ctl.setState(to);
    this.changed("resume", "paused", STATE_NAMES[to], `${holder}: ${reason ?? "unspecified"}`);
  }

  /** Who holds the engine paused, and why. */
  heldBy(): Record<string, string> {
    return Object.fromEntries(this.holders);
  }

  /** The operator's pause (POST /api/miner/pause): hold("operator"). */
  pause(reason?: string): void {
    this.hold("operator", reason);
  }

  resume(reason?: string): void {
    this.release("operator", reason);
  }

  /** Nonces per kernel call, changed live (the auto-tuner's knob): each thread reads it at its next claim. */
  setBatch(n: number, reason?: string): void {
    if (!Number.isInteger(n) || n < 1) throw new RignodeError("config", `batch must be >= 1, got ${n}`);
    const from = this.opts.batch;
    if (n === from) return;
    this.opts.batch = n;
    this.ctl.setBatch(n);
    this.changed("batch", from, n, reason);
  }

  /**
   * Runs `n` threads: adds Workers in free slots (pinned to the next free CPU of the order) or retires the
   * highest-numbered ones after their current batch. The job goes on: new threads claim from the shared nonce cursor.
   * Calls made while one is applied are applied after it, the last one winning; each returns when the engine has
   * settled. Before start() it sets the number start() spawns. Rejects (and logs miner.change_failed) when a new
   * thread cannot start; the threads that did start keep mining.
   */
  setThreads(n: number, reason: string): Promise<void> {
    this.checkThreads(n, this.ctl.max);
    if (this.stopping) return Promise.reject(new RignodeError("unavailable", "the mining engine is stopped"));
    if (!this.pool) {
      if (n !== this.opts.threads) this.changed("threads", this.opts.threads, n, reason);
      this.opts.threads = n;
      return Promise.resolve();
    }
    this.wanted = { n, reason };
    this.steering ??= this.steer();
    return this.steering;
  }

  private async steer(): Promise<void> {
    await Promise.resolve(); // this.steering is set before the loop can clear it
    try {
      for (;;) {
        const w = this.wanted;
        // No await between this check and clearing `steering`: a call after it starts a new loop.
        if (!w || this.stopping) {
          this.steering = null;
          this.wanted = null;
          return;
        }
        this.wanted = null;
        await this.applyThreads(w.n, w.reason);
      }
    } catch (e) {
      this.steering = null;
      this.wanted = null;
      throw e;
    }
  }

  private async applyThreads(n: number, reason: string): Promise<void> {
    const pool = this.pool!;
    const active = pool.active();
    const from = active.length;
    if (n === from) return;
    let failure: unknown = null;
    try {
      if (n > from) {
        const inUse = new Set(active.map((s) => s.cpu).filter((c): c is number => c !== null));
        const slots = pool.freeSlots(n - from);
        const cpus = slots.map((t) => {
          const cpu = this.placer!.next(t, inUse);
          if (cpu !== null) inUse.add(cpu);
          return cpu;
        });
        await pool.spawn(slots, cpus);
      } else {
        await pool.retire(active.slice(n).map((s) => s.thread));
      }
    } catch (e) {
      failure = e;
    }
    this.opts.threads = pool.active().length;
    if (this.opts.threads !== from) this.changed("threads", from, this.opts.threads, reason, { pinned: this.pinnedList() });
    if (failure) {
      this.opts.log?.error("miner.change_failed", { knob: "threads", from, wanted: n, to: this.opts.threads, reason, error: (failure as Error).message });
      throw failure;
    }
  }

  /** Changes made while mining, per knob (no-op calls are not changes). */
  changes(): Record<Knob, number> {
    return { ...this.counts };
  }

  private changed(knob: Knob, from: number | string, to: number | string, reason: string | undefined, extra: Record<string, string> = {}): void {
    this.counts[knob]++;
    this.opts.log?.info("miner.changed", { knob, from, to, reason: reason ?? "unspecified", ...extra });
  }

  /** Stops every thread after its current batch (a setThreads in flight included) and waits for them. */
  stop(): Promise<void> {
    if (!this.pool) return Promise.resolve();
    this.stopping ??= this.shutdown(this.pool);
    return this.stopping;
  }

  private async shutdown(pool: ThreadPool): Promise<void> {
    this.ctl.setState(STATE.stopping);
    // Threads being added come up and stop at once; threads retiring finish as they would.
    await this.steering?.catch(() => {});
    await pool.stopAll();
    clearInterval(this.sampler);
    this.sample();
    this.opts.log?.info("miner.stopped", { hashes: this.totalHashes() });
  }

  /** Hashes done so far by all threads, retired ones included (counted after each finished batch). */
  totalHashes(): number {
    let s = 0;
    for (let t = 0; t < (this.pool?.used ?? 0); t++) s += this.ctl.hashes(t);
    return s;
  }

  stats(): EngineStats {
    const slots = [...(this.pool?.slots.values() ?? [])].sort((a, b) => a.thread - b.thread);
    return {
      threads: this.opts.threads,
      activeWorkers: this.pool?.alive() ?? 0,
      batch: this.opts.batch,
      state: STATE_NAMES[this.ctl.state] ?? "idle",
      impls: this.impls,
      hashes: this.totalHashes(),
      hashrate: this.total.windows(),
      perThread: slots.map((s) => ({ thread: s.thread, cpu: s.pinned, hashes: this.ctl.hashes(s.thread) - s.base, hashrate: s.meter.windows() })),
      found: this.foundCount,
      staleDropped: this.staleDropped,
    };
  }

  private sample(): void {
    const now = performance.now();
    for (const s of this.pool?.slots.values() ?? []) s.meter.sample(now, this.ctl.hashes(s.thread) - s.base);
    this.total.sample(now, this.totalHashes());
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
      case "ready":
        return;
    }
  }
}

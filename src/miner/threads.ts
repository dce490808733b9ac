import { RignodeError, type Algo } from "../core";
import type { Impl } from "../kernel";
import type { Control } from "./control";
import { HashrateMeter } from "./hashrate";
import type { CpuPlacer } from "./placer";
import type { WorkerInit, WorkerMessage } from "./worker";

/**
 * Where the worker entry point is: beside this file when run from source; in a compiled binary this module is
 * bundled into the main chunk at the root of the embedded file system and the worker keeps its path under src/.
 */
function workerUrl(): string {
  const here = import.meta.url;
  return here.includes("$bunfs") ? new URL("./miner/worker.ts", here).href : new URL("./worker.ts", here).href;
}

/** One mining thread: a Worker in a slot of the control block. */
export interface Slot {
  thread: number;
  worker: Worker;
  /** CPU claimed for it (given back when it retires), or null. */
  cpu: number | null;
  /** CPU the kernel pinned it to, known once it is ready. */
  pinned: number | null;
  meter: HashrateMeter;
  /** The slot's counter when this Worker took it (a reused slot's counter goes on from its last thread). */
  base: number;
  retiring: boolean;
  /** False once the Worker is terminated. */
  alive: boolean;
  /** Resolves when the thread has left its loop (stopped, retired, failed or crashed): nothing more will come. */
  done: Promise<void>;
}

/**
 * The engine's Workers. Threads are added into free slots and retired through the control block: a retiring
 * thread finishes its batch, posts what it found, then "stopped"; only then is it terminated and its CPU given back,
 * so no result is lost. Worker messages arrive in order, so its "found" is handled before its "stopped".
 */
export class ThreadPool {
  readonly slots = new Map<number, Slot>();
  /** Slots 0..used-1 have ever had a thread (their counters make up the engine's total). */
  used = 0;

  constructor(
    private readonly ctl: Control,
    private readonly kernelPath: string,
    private readonly impls: Record<Algo, Impl>,
    private readonly placer: CpuPlacer,
    private readonly onMessage: (m: WorkerMessage) => void,
  ) {}

  /** Workers not yet terminated (retiring ones included). */
  alive(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.alive) n++;
    return n;
  }

  /** Running threads that are not retiring, in slot order. */
  active(): Slot[] {
    return [...this.slots.values()].filter((s) => s.alive && !s.retiring).sort((a, b) => a.thread - b.thread);
  }

  /** The lowest `n` slot numbers without a thread. */
  freeSlots(n: number): number[] {
    const out: number[] = [];
    for (let t = 0; out.length < n && t < this.ctl.max; t++) if (!this.slots.has(t)) out.push(t);
    if (out.length < n) throw new RignodeError("config", `the engine has slots for ${this.ctl.max} threads (maxThreads)`);
    return out;
  }

  /**
   * Starts a thread in each slot of `threads` (pinned to `cpus[i]`); resolves when every one has loaded the kernel.
   * A thread that fails is removed (its CPU given back) and the first failure is thrown once all have answered;
   * the others keep running.
   */
  async spawn(threads: number[], cpus: (number | null)[]): Promise<void> {
    const ready = threads.map((t, i) => this.spawnOne(t, cpus[i] ?? null));
    const results = await Promise.allSettled(ready);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private spawnOne(thread: number, cpu: number | null): Promise<void> {
    this.ctl.unretire(thread);
    const worker = new Worker(workerUrl());
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const slot: Slot = { thread, worker, cpu, pinned: null, meter: new HashrateMeter(), base: this.ctl.hashes(thread), retiring: false, alive: true, done };
    this.slots.set(thread, slot);
    this.used = Math.max(this.used, thread + 1);
    const ready = new Promise<void>((resolve, reject) => {
      let isReady = false;
      worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
        const m = ev.data;
        if (m.type === "ready") {
          isReady = true;
          slot.pinned = m.pinned;
          // A thread the kernel would not pin holds no CPU: give its claim back.
          if (slot.cpu !== null && m.pinned === null) {
            this.placer.release(slot.cpu);
            slot.cpu = null;
          }
          resolve();
        } else if (m.type === "stopped") finish();
        else if (m.type === "error") {
          finish(); // the thread's loop has ended
          if (!isReady) reject(new RignodeError("kernel", `mining thread ${thread}: ${m.message}`));
        }
        this.onMessage(m);
      };
      worker.onerror = (ev) => {
        finish();
        reject(new RignodeError("internal", `mining thread ${thread} failed: ${ev.message}`));
      };
    });
    worker.postMessage({ type: "init", thread, kernelPath: this.kernelPath, sab: this.ctl.sab, impls: this.impls, cpu } satisfies WorkerInit);
    return ready.catch((e) => {
      this.remove(slot);
      throw e;
    });
  }

  /** Retires the threads in `threads` after their current batch; resolves when they are gone and their CPUs free. */
  async retire(threads: number[]): Promise<void> {
    const slots = threads.map((t) => this.slots.get(t)).filter((s): s is Slot => !!s);
    for (const s of slots) {
      s.retiring = true;
      this.ctl.retire(s.thread);
    }
    await Promise.all(slots.map((s) => s.done));
    for (const s of slots) this.remove(s);
  }

  /**
   * Waits until every thread has left its loop (the caller has set the stopping state), then terminates them and
   * gives every CPU back. The slots stay listed (the last threads' stats); none is alive.
   */
  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => s.done));
    for (const s of this.slots.values()) {
      s.worker.terminate();
      s.alive = false;
    }
    this.placer.releaseAll();
  }

  private remove(s: Slot): void {
    s.worker.terminate();
    s.alive = false;
    this.placer.release(s.cpu);
    if (this.slots.get(s.thread) === s) this.slots.delete(s.thread);
  }
}

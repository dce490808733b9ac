import { ALGO_ID, type Algo } from "../core";

// One SharedArrayBuffer carries the current job and the run state to every worker, so the hot loop never waits
// for a message: a job change is a seqlock write, and workers notice it between batches (as XMRig's Nonce.h).
// Layout (byte offsets), for a block sized for `max` threads:
//   Int32 [0] seq (odd while the job is being written)  [1] state  [2] algo  [3] batch  [4] max
//   64..144 header   144..176 target   BigInt64 at 192 next nonce, 200 end nonce
//   256.. per-thread hash counters (BigInt64 × max)   then per-thread retire flags (Int32 × max)
// A thread slot is reused when a thread is added after one was retired: its counter goes on counting, so the sum
// over all slots (the engine's total) never goes down.
const I_SEQ = 0;
const I_STATE = 1;
const I_ALGO = 2;
const I_BATCH = 3;
const I_MAX = 4;
const HEADER_OFF = 64;
const TARGET_OFF = 144;
const CURSOR_IDX = 24; // BigInt64 index of byte 192
const END_IDX = 25;
const COUNTERS_IDX = 32; // BigInt64 index of byte 256

export const STATE = { idle: 0, running: 1, paused: 2, stopping: 3 } as const;

/** A consistent copy of the job as a worker sees it. */
export interface JobSnapshot {
  seq: number;
  algo: number;
  header: Uint8Array;
  target: Uint8Array;
}

/** The shared control block of one mining engine. */
export class Control {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly u8: Uint8Array;
  /** Threads the block has slots for. */
  readonly max: number;
  private readonly retireIdx: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.i64 = new BigInt64Array(sab);
    this.u8 = new Uint8Array(sab);
    this.max = Atomics.load(this.i32, I_MAX);
    this.retireIdx = (256 + 8 * this.max) / 4;
  }

  /** A new block with slots for up to `max` worker threads. */
  static create(max: number): Control {
    const sab = new SharedArrayBuffer(256 + 12 * max);
    Atomics.store(new Int32Array(sab), I_MAX, max);
    return new Control(sab);
  }

  get seq(): number {
    return Atomics.load(this.i32, I_SEQ);
  }
  get state(): number {
    return Atomics.load(this.i32, I_STATE);
  }
  get batch(): number {
    return Atomics.load(this.i32, I_BATCH);
  }

  /** Sets the run state and wakes workers that wait on it. */
  setState(s: number): void {
    Atomics.store(this.i32, I_STATE, s);
    Atomics.notify(this.i32, I_STATE);
    Atomics.notify(this.i32, I_SEQ);
  }

  setBatch(n: number): void {
    Atomics.store(this.i32, I_BATCH, n);
  }

  /** Publishes a job; returns its sequence number. Only the engine's thread writes. */
  publish(algo: Algo, header: Uint8Array, target: Uint8Array, start: number, end: number): number {
    const s = Atomics.add(this.i32, I_SEQ, 1) + 1; // odd: writing
    Atomics.store(this.i32, I_ALGO, ALGO_ID[algo]);
    this.u8.set(header, HEADER_OFF);
    this.u8.set(target, TARGET_OFF);
    Atomics.store(this.i64, CURSOR_IDX, BigInt(start));
    Atomics.store(this.i64, END_IDX, BigInt(end));
    Atomics.store(this.i32, I_SEQ, s + 1); // even: published
    Atomics.notify(this.i32, I_SEQ);
    return s + 1;
  }

  /** A torn-free copy of the current job, or null while it is being written. */
  snapshot(): JobSnapshot | null {
    const seq = Atomics.load(this.i32, I_SEQ);
    if (seq === 0 || seq & 1) return null;
    const algo = Atomics.load(this.i32, I_ALGO);
    const header = this.u8.slice(HEADER_OFF, HEADER_OFF + 80);
    const target = this.u8.slice(TARGET_OFF, TARGET_OFF + 32);
    if (Atomics.load(this.i32, I_SEQ) !== seq) return null;
    return { seq, algo, header, target };
  }

  /** Claims the next `n` nonces of the job; null when the job's range is used up. */
  claim(n: number): { start: number; count: number } | null {
    const start = Atomics.add(this.i64, CURSOR_IDX, BigInt(n));
    const end = Atomics.load(this.i64, END_IDX);
    if (start >= end) return null;
    const count = end - start < BigInt(n) ? Number(end - start) : n;
    return { start: Number(start), count };
  }

  /** Blocks a worker until seq or state changes, at most `ms`. */
  waitForChange(seq: number, ms: number): void {
    Atomics.wait(this.i32, I_SEQ, seq, ms);
  }

  addHashes(thread: number, n: number): void {
    Atomics.add(this.i64, COUNTERS_IDX + thread, BigInt(n));
  }

  hashes(thread: number): number {
    return Number(Atomics.load(this.i64, COUNTERS_IDX + thread));
  }

  /** Asks `thread` to stop after the batch it is scanning (its results are posted first); wakes it if it waits. */
  retire(thread: number): void {
    Atomics.store(this.i32, this.retireIdx + thread, 1);
    Atomics.notify(this.i32, I_SEQ);
  }

  /** Clears the flag before a new thread takes a retired thread's slot. */
  unretire(thread: number): void {
    Atomics.store(this.i32, this.retireIdx + thread, 0);
  }

  retiring(thread: number): boolean {
    return Atomics.load(this.i32, this.retireIdx + thread) !== 0;
  }
}

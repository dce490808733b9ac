// One mining thread: claims nonce batches from the shared control block and scans them with the kernel.
// It needs no message to follow a job change: it checks the sequence number between batches.
declare var self: Worker;
import { KernelLib, type Impl } from "../kernel";
import { Control, STATE } from "./control";
import { pinThisThread } from "./affinity";
import { ALGOS, type Algo } from "../core";

export interface WorkerInit {
  type: "init";
  thread: number;
  kernelPath: string;
  sab: SharedArrayBuffer;
  /** Implementation to scan each algorithm with (chosen by measurement). */
  impls: Record<Algo, Impl>;
  /** CPU to pin this thread to, or null. */
  cpu: number | null;
}

export type WorkerMessage =
  | { type: "ready"; thread: number; variant: string; pinned: number | null }
  | { type: "found"; thread: number; seq: number; nonces: number[] }
  | { type: "exhausted"; thread: number; seq: number }
  | { type: "error"; thread: number; message: string }
  /** The thread left its loop (stop, or retired: every result it had was posted before this). */
  | { type: "stopped"; thread: number; retired: boolean };

self.onmessage = (ev: MessageEvent<WorkerInit>) => {
  const init = ev.data;
  if (init?.type !== "init") return;
  try {
    run(init);
  } catch (e) {
    self.postMessage({ type: "error", thread: init.thread, message: (e as Error).message } satisfies WorkerMessage);
  }
};

function run(init: WorkerInit): void {
  const { thread } = init;
  const ctl = new Control(init.sab);
  const kernel = new KernelLib(init.kernelPath);
  const hits = new Uint32Array(256);
  const pinned = init.cpu !== null && pinThisThread(init.cpu) ? init.cpu : null;
  self.postMessage({ type: "ready", thread, variant: kernel.variant, pinned } satisfies WorkerMessage);

  let reportedExhausted = -1;
  for (;;) {
    const state = ctl.state;
    // Retire is checked only here and after a finished batch: a claimed range is always scanned and reported.
    if (state === STATE.stopping || ctl.retiring(thread)) break;
    const job = state === STATE.running ? ctl.snapshot() : null;
    if (!job) {
      ctl.waitForChange(ctl.seq, 250);
      continue;
    }
    const algo = ALGOS[job.algo]!;
    for (;;) {
      const range = ctl.claim(ctl.batch);
      if (!range) {
        if (reportedExhausted !== job.seq) {
          reportedExhausted = job.seq;
          self.postMessage({ type: "exhausted", thread, seq: job.seq } satisfies WorkerMessage);
        }
        ctl.waitForChange(job.seq, 250);
        break;
      }
      // A claim made just after a job change belongs to the new job's range: give it up and re-read the job.
      if (ctl.seq !== job.seq) break;
      let out = hits;
      const impl = init.impls[algo];
      let n = kernel.scanInto(algo, job.header, range.start, range.count, job.target, out, impl);
      if (n > out.length) {
        // An easy target can hit more often than the buffer holds: scan that batch again into one that fits.
        out = new Uint32Array(n);
        n = kernel.scanInto(algo, job.header, range.start, range.count, job.target, out, impl);
      }
      ctl.addHashes(thread, range.count);
      // Results of a batch that ran across a job change are dropped: never a share for the old job.
      if (ctl.seq !== job.seq) break;
      if (n > 0) {
        const nonces = Array.from(out.subarray(0, n));
        self.postMessage({ type: "found", thread, seq: job.seq, nonces } satisfies WorkerMessage);
      }
      if (ctl.state !== STATE.running || ctl.retiring(thread)) break;
    }
  }
  self.postMessage({ type: "stopped", thread, retired: ctl.retiring(thread) } satisfies WorkerMessage);
}

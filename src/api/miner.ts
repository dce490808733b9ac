import type { Hono } from "hono";

export interface MinerView {
  threads: number;
  /** Mining Workers alive (fewer than threads while a change is being applied). */
  activeWorkers: number;
  batch: number;
  state: string;
  hashes: number;
  hashrate: Record<string, number>;
  perThread: { thread: number; cpu: number | null; hashes: number; hashrate: Record<string, number> }[];
  kernelVariant: string;
  impl: string;
  blocksFound: number;
}

export interface MinerControl {
  pause(reason?: string): void;
  resume(reason?: string): void;
}

/**
 * GET /api/miner: hashrate windows, threads, kernel variant, blocks found; POST /api/miner/pause and /resume
 * (write requests: they need the token off loopback). 404 when this node does not mine.
 */
export function minerRoutes(app: Hono, view: () => MinerView | null, control?: () => MinerControl | null, tuning?: () => object | null): void {
  const act = (name: "pause" | "resume") =>
    app.post(`/api/miner/${name}`, (c) => {
      const m = control?.();
      if (!m) return c.json({ error: "not_found", message: "this node is not mining (start it with --mine)" }, 404);
      m[name](`POST /api/miner/${name}`);
      return c.json({ state: view()?.state });
    });
  act("pause");
  act("resume");
  // The rig's steering: the decision, every sensor reading (or why it is unavailable), governors, memory, tuner.
  app.get("/api/miner/tuning", (c) => {
    const t = tuning?.();
    if (!t) return c.json({ error: "not_found", message: "this node is not mining (start it with --mine)" }, 404);
    return c.json(t);
  });
  app.get("/api/miner", (c) => {
    const v = view();
    if (!v) return c.json({ error: "not_found", message: "this node is not mining (start it with --mine)" }, 404);
    return c.json({
      mining: v.state === "running",
      state: v.state,
      threads: v.threads,
      active_workers: v.activeWorkers,
      batch: v.batch,
      kernel_variant: v.kernelVariant,
      impl: v.impl,
      hashes: v.hashes,
      hashrate_hs: v.hashrate,
      per_thread: v.perThread.map((t) => ({ thread: t.thread, cpu: t.cpu, hashes: t.hashes, hashrate_hs: t.hashrate })),
      blocks_found: v.blocksFound,
    });
  });
}

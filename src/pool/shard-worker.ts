// One stratum shard: a Worker of the pool process with its own SO_REUSEPORT listeners on the pool's ports (the kernel
// spreads connections over the shards), a follower PoolServer holding those connections and sessions, checking
// shares with the kernel (bun:ffi), and writing the notify of each job the main thread sends it once. Its ledger is
// the main thread's (ledger-remote.ts: every ack waits for the main thread's commit); found blocks go to the main
// thread's source; per-IP counts are in shared memory, bans and health go through the main thread.
declare var self: Worker;
import { createLogger, type Logger } from "../core";
import { KernelLib } from "../kernel";
import type { MemberHealth, PoolBus, WireJob } from "./bus";
import { Ledger } from "./ledger";
import type { BanRow } from "./ledger-backend";
import { RemoteLedger } from "./ledger-remote";
import { PoolServer } from "./server";
import { SharedConns } from "./shard-conns";
import { ShardSource, type FromShard, type ListenSpec, type ShardInit, type ToShard } from "./shard-wire";
import type { StoredPlan } from "./ledger-backend";
import type { SubmitResult, Work } from "./source";
import { listenStratum } from "./transport";

const post = (m: FromShard) => self.postMessage(m);

/** The main thread as this shard's bus: jobs and bans come from it; bans and health go to it. */
class PortBus implements PoolBus {
  private readonly jobs: ((w: WireJob) => void)[] = [];
  private readonly bans: ((b: BanRow) => void)[] = [];
  constructor(private readonly extra: () => Extract<FromShard, { t: "health" }>["x"]) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onLeadership(): void {} // a shard always follows: the main thread's server leads (or relays its instance's leader)
  async publishJob(): Promise<void> {}
  onJob(cb: (w: WireJob) => void): void {
    this.jobs.push(cb);
  }
  job(w: WireJob): void {
    for (const cb of this.jobs) cb(w);
  }
  /** The shards' per-IP counts are in shared memory, taken in one step with the check (PoolServerOptions.shard). */
  othersConnections(): number {
    return 0;
  }
  /** The other instances see the process's count: the main thread publishes it from the shared table. */
  setLocalConnections(ip: string): void {
    post({ t: "conns", ip });
  }
  /** Distinct workers per IP: the same, through the shared workers' table. */
  othersWorkers(): number {
    return 0;
  }
  setLocalWorkers(ip: string): void {
    post({ t: "workers", ip });
  }
  publishBan(b: BanRow): void {
    post({ t: "ban", b });
  }
  onBan(cb: (b: BanRow) => void): void {
    this.bans.push(cb);
  }
  ban(b: BanRow): void {
    for (const cb of this.bans) cb(b);
  }
  publishHealth(h: MemberHealth): void {
    post({ t: "health", h, x: this.extra() });
  }
  members(): MemberHealth[] {
    return [];
  }
}

let server: PoolServer | null = null;
let remote: RemoteLedger | null = null;
let bus: PortBus | null = null;
let source: ShardSource | null = null;
let log: Logger | null = null;
let healthTimer: ReturnType<typeof setInterval> | null = null;
const listeners: { stop(): void }[] = [];
const submits = new Map<number, { resolve: (r: SubmitResult) => void; reject: (e: Error) => void }>();
let nextSubmit = 1;
/** The plan each adopted job's coinbase pays, by its work (a found block is recorded with it by the main thread too). */
const plans = new WeakMap<object, StoredPlan>();
/** Messages that came while the shard was starting (its ledger is read first). */
let early: ToShard[] | null = [];

self.onmessage = (ev: MessageEvent<ToShard>) => {
  const m = ev.data;
  if (m.t === "init") return void start(m).catch((e) => post({ t: "failed", error: (e as Error).message, code: (e as { code?: string }).code }));
  if (m.t === "ledger-answer") return remote?.answer(m);
  if (early && m.t !== "stop") return void early.push(m);
  handle(m);
};

function handle(m: ToShard): void {
  switch (m.t) {
    case "job":
      if (source) source.shown = m.status;
      return bus?.job(m.w);
    case "ban":
      return bus?.ban(m.b);
    case "unban":
      server?.unbanned(m.ip); // its ledger view too: a shared ledger's bans read earlier would be restored
      return;
    case "configure":
      server?.configure(m.p);
      return;
    case "submit-answer": {
      const w = submits.get(m.id);
      submits.delete(m.id);
      if (w) m.ok ? w.resolve(m.value!) : w.reject(new Error(m.error ?? "the block could not be submitted"));
      return;
    }
    case "stop":
      return stop();
  }
}

async function start(init: ShardInit): Promise<void> {
  log = createLogger({ json: init.log.json, level: init.log.level }, { component: "pool", shard: init.shard });
  const kernel = new KernelLib(init.kernelPath);
  const algo = init.source.algo;
  remote = new RemoteLedger(init.ledgerKind, (m) => post(m));
  const ledger = await Ledger.open(remote);
  ledger.commitTimeoutMs = init.commitTimeoutMs;
  source = new ShardSource(init.source, (work, header, coinbase) => submitBlock(work, header, coinbase));
  let tap: number[] = [];
  bus = new PortBus(() => {
    const st = server!.stats(false);
    const x = { acceptedDifficulty: st.shares.accepted_difficulty, rejectedBy: st.shares.rejected, notifies: server!.report.counters.notifies, bans: server!.report.counters.bans, workerList: server!.workerList(), latencies: tap, storage: server!.shares.storageError, blocks: server!.report.counters.blocks, notifyMs: { p50: st.tip_to_notify_ms.p50, p99: st.tip_to_notify_ms.p99 } };
    tap = server!.report.latencyTap = [];
    return x;
  });
  const p = init.pool;
  server = new PoolServer({
    source,
    powHash: (h) => kernel.hash(algo, h),
    powHashMany: (hs, n) => kernel.hashMany(algo, hs, n),
    ledger,
    log,
    ...p,
    role: "follower",
    bus,
    shard: { index: init.shard, slots: new SharedConns(init.conns, init.shard), workers: new SharedConns(init.workers, init.shard) },
  });
  server.report.latencyTap = tap;
  ledger.onFault = (e) => log!.error("pool.ledger_write_failed", { kind: init.ledgerKind, error: e.message });
  server.jobs.onPublished((w) => {
    const cur = server!.jobs.current;
    if (cur) plans.set(cur.job.work, w.plan);
    post({ t: "notified", seq: w.seq, clean: w.clean, at: performance.timeOrigin + performance.now() });
  });
  for (const b of init.bans) {
    const ban = server.guard.restore(b);
    if (ban) server.sessions.enforce(ban, true);
  }
  server.start();
  if (init.job) bus.job(init.job);
  const ports: Record<ListenSpec["key"], number | null> = { ...init.ports };
  try {
    for (const l of init.listen) {
      const r = listenStratum(server, {
        host: l.host, port: l.port, codec: l.codec, maxBytes: p.limits.maxMessageBytes, log, reusePort: true,
        otherPort: () => ports[l.key === "stratum" ? "stratumJson" : "stratum"],
        ...(l.tls ? { tls: l.tls } : {}),
      });
      ports[l.key] = r.port;
      listeners.push(r);
    }
  } catch (e) {
    for (const l of listeners.splice(0)) l.stop();
    server.stop();
    throw e;
  }
  // Besides the sweep's once a second: a share answered is in the process's stats by the end of the same pass (a
  // miner that saw its acknowledgement finds it there), other changes within 10 ms; many workers (a large report):
  // at most once a second.
  let shown = "";
  let shownAt = 0;
  let soon = false;
  const report = () => {
    const s = server!;
    const r = s.report;
    const now = Date.now();
    const sig = `${s.conns.size}/${r.counters.accepted}/${r.rejectedTotal()}/${r.workers.size}/${s.jobs.current?.seq}/${r.counters.blocks}/${s.health().problems.join()}`;
    if (sig === shown || (r.workers.size > 1000 && now - shownAt < 1000)) return;
    shown = sig;
    shownAt = now;
    bus!.publishHealth(s.memberHealth());
  };
  // Under load (a pass every few hundred microseconds) a report per pass would cost more than the shares: at most one
  // per 20 ms then, the first of a quiet spell at once.
  const answered = () => {
    if (soon) return;
    soon = true;
    const wait = Math.max(0, shownAt + 20 - Date.now());
    const go = () => ((soon = false), report());
    if (wait) setTimeout(go, wait);
    else setImmediate(go);
  };
  const r = server.report;
  const accepted = r.accepted.bind(r);
  const refused = r.refused.bind(r);
  r.accepted = (...a) => (accepted(...a), answered());
  r.refused = (...a) => (refused(...a), answered());
  healthTimer = setInterval(report, 10);
  const queued = early ?? [];
  early = null;
  for (const m of queued) handle(m);
  post({ t: "listening", ports });
}

function submitBlock(work: Work, header: Work["header"], coinbase: Uint8Array): Promise<SubmitResult> {
  const plan = plans.get(work);
  if (!plan) return Promise.reject(new Error("no plan kept for the block's job"));
  const id = nextSubmit++;
  return new Promise((resolve, reject) => {
    submits.set(id, { resolve, reject });
    post({ t: "submit", id, work: { ...work, data: work.data as string }, header, coinbase, plan });
  });
}

/** Listeners first (no new miner lands here), then every connection; the main thread terminates the Worker after. */
function stop(): void {
  if (healthTimer) clearInterval(healthTimer);
  for (const l of listeners.splice(0)) l.stop();
  server?.stop();
  log?.info("pool.shard_stopped", {});
  post({ t: "stopped" });
}

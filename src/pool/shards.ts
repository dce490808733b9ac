// The stratum shards of a pool process (`--stratum-threads N`), as its main thread runs them: N Workers
// (shard-worker.ts), each listening on the pool's ports with SO_REUSEPORT. The main thread's own PoolServer stays
// the one that leads (builds jobs from the source, or follows its instance's bus leader) and opens no Stratum port:
// every job it makes current is sent once to each shard; each shard's ledger calls run here on the real ledger, its
// found blocks go to the real source; bans hold on every shard at once; the shards' figures add to the server's own
// stats; a shard that dies is restarted (its miners reconnect to the others meanwhile).
import { listenError, RignodeError, type Logger, type LogLevel } from "../core";
import type { Ledger } from "./ledger";
import { serveLedger } from "./ledger-remote";
import type { ShardsView, WorkerRow } from "./report";
import type { PoolServer } from "./server";
import { ProcessCounts } from "./shard-tables";
import { sourceInfo, type FromShard, type ListenSpec, type ShardExtra, type ShardPoolSettings, type ToShard } from "./shard-wire";
import { LatencyRing } from "./stats";
import { mergeWorkers, Retired } from "./shard-figures";
import { submitForShard } from "./shard-blocks";
import type { MemberHealth, WireJob } from "./bus";

type Key = ListenSpec["key"];
type Ports = Record<Key, number | null>;

/** Where the shard entry point is: beside this file from source; in a compiled binary under pool/ at the root. */
function shardUrl(): string {
  const here = import.meta.url;
  return here.includes("$bunfs") ? new URL("./pool/shard-worker.ts", here).href : new URL("./shard-worker.ts", here).href;
}

const epochMs = () => performance.timeOrigin + performance.now();

interface Shard {
  index: number;
  worker: Worker;
  listening: boolean;
  health: MemberHealth | null;
  extra: ShardExtra | null;
  restarts: number;
  /** Restarts in a row (the backoff's exponent): back to 0 once a shard stayed up a minute. */
  backoff: number;
  /** When it started listening (ms). */
  upAt: number;
  /** Called when the shard says it stopped (its listeners and connections are closed). */
  stopped?: () => void;
  /** Resolves once the Worker has ended (its close event) and its column of the per-IP table is cleared. */
  closed: Promise<void>;
}

export interface ShardsOptions {
  count: number;
  server: PoolServer;
  ledger: Ledger;
  kernelPath: string;
  log: Logger;
  logConfig: { json: boolean; level: LogLevel };
  listen: ListenSpec[];
  /** The pool's settings now (configure() may have changed them since the start). */
  settings: () => ShardPoolSettings;
  /** How long a shard may take to listen before it is ended (default 30 s): a stuck one must not hang start(). */
  startDeadlineMs?: number;
}

export class StratumShards implements ShardsView {
  readonly latency = new LatencyRing();
  readonly tipToNotify = new LatencyRing(1024);
  private readonly shards = new Map<number, Shard>();
  /** Connections and distinct workers per IP, in shared memory (see shard-tables.ts). */
  private readonly counts: ProcessCounts;
  private running = false;
  /** A stop() under way: start() waits for every old Worker's end before it clears the table and spawns anew. */
  private stopping: Promise<void> = Promise.resolve();
  private ports: Ports = { stratum: null, stratumJson: null, stratumTls: null };
  private job: WireJob | null = null;
  /** When the tip the next clean job answers changed (ms since the epoch), and that job until every shard wrote it. */
  private tipAt: number | null = null;
  private tip: { seq: number; at: number; waiting: Set<number>; last: number } | null = null;
  /** The counters of shards that ended (restarted or stopped): the process's totals never go backwards. */
  private readonly retired = new Retired();

  constructor(private readonly o: ShardsOptions) {
    if (o.count < 2 || o.count > 15) throw new RignodeError("config", "stratum shards: 2..15");
    this.slotsOf = Array.from({ length: o.count }, (_, i) => i + 1);
    const s = o.server;
    const bus = s.o.bus;
    // The tables hold the main thread's own admissions too (not counted twice); the bus is told the process's count
    // per IP (every shard's), not the main thread's alone.
    this.counts = new ProcessCounts(o.count, bus);
    s.report.shards = this;
    // The main thread's own connections (HTTP workers) count with the shards' and take the extranonce space of shard 0.
    s.o.shard = { index: 0, slots: this.counts.conns.local, workers: this.counts.workers.local };
    s.jobs.onPublished((w) => this.relay(w));
    s.source.onWork((e) => {
      if (e.clean && this.tipAt === null) this.tipAt = epochMs();
    });
    // What changes on the main thread's server (the API, its own bans, bans from its instance's bus, restored ones)
    // is carried to every shard: the server's methods are wrapped here, the server itself knows nothing of shards.
    const enforce = s.sessions.enforce.bind(s.sessions);
    s.sessions.enforce = (ban, restored) => {
      this.broadcast({ t: "ban", b: { subject: ban.worker === null ? ban.ip : `${ban.ip}/${ban.worker}`, ip: ban.ip, worker: ban.worker, until: ban.until, reason: ban.reason } });
      return enforce(ban, restored);
    };
    // A plan by connection (a fresh pool) pays the workers connected to the shards too (and, with a bus, the
    // instance reports them to the others as its own).
    const payees = s.sessions.connectedPayees.bind(s.sessions);
    s.sessions.connectedPayees = () => {
      const out = payees();
      for (const sh of this.shards.values()) for (const p of sh.health?.payees ?? []) if (/^(?:[0-9a-f]{2}){1,100}$/.test(p)) out.set(p, 1n);
      return out;
    };
    // Lifted here (the API) or by another instance (the bus): every shard lifts too, and forgets its ledger view's bans.
    const unbanned = s.unbanned.bind(s);
    s.unbanned = (ip) => {
      this.broadcast({ t: "unban", ip });
      return unbanned(ip);
    };
    // The process's health: a shard's problems (a ledger refusing its shares) make /health fail too.
    const health = s.health.bind(s);
    s.health = () => {
      const problems = [...health().problems, ...[...this.shards.values()].flatMap((sh) => (sh.health?.problems ?? []).map((p) => `stratum shard ${sh.index}: ${p}`))];
      return { ok: problems.length === 0, problems };
    };
    // With a bus, this instance's health for the others: the process's figures (every shard's), each shard's own.
    const member = s.memberHealth.bind(s);
    s.memberHealth = () => {
      const h = member();
      const t = this.totals();
      const rejected = Object.values(t.rejected).reduce((a, b) => a + b, 0);
      const shards = [...this.shards.values()].flatMap((sh) => (sh.health ? [sh.health] : []));
      return { ...h, connections: h.connections + t.connections, workers: h.workers + t.workers, accepted: h.accepted + t.accepted, rejected: h.rejected + rejected, shards };
    };
    const configure = s.configure.bind(s);
    s.configure = (p) => {
      configure(p);
      this.broadcast({ t: "configure", p: Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === "number")) as Record<string, number> });
    };
  }

  /**
   * Checks each port is free (a plain bind: another process's SO_REUSEPORT group must not be joined silently),
   * then starts every shard; resolves with the ports once all listen. A port in use rejects with code "busy".
   */
  async start(): Promise<Ports> {
    await this.stopping;
    if (this.running) return this.ports;
    const ports: Ports = { stratum: null, stratumJson: null, stratumTls: null };
    for (const l of this.o.listen) {
      const port = this.ports[l.key] ?? l.port;
      try {
        const probe = Bun.listen({ hostname: l.host, port, socket: { data() {} } });
        ports[l.key] = probe.port;
        probe.stop(true);
      } catch (cause) {
        const what = l.key === "stratumTls" ? "Stratum V1 over TLS" : l.key === "stratumJson" ? "Stratum V1 (JSON)" : "Stratum (native)";
        throw listenError(what, l.key === "stratumTls" ? "stratum-tls" : l.key === "stratumJson" ? "stratum-json" : "stratum", l.host, port, cause);
      }
    }
    this.ports = ports;
    this.running = true;
    // No shard Worker is alive now: counts left by any earlier run are stale.
    for (const i of this.slotsOf) this.clear(i);
    try {
      await Promise.all(Array.from({ length: this.o.count }, (_, i) => this.spawn(i + 1, 0, 0)));
    } catch (e) {
      this.stop();
      throw e;
    }
    // The bus's per-IP counts of the other instances into the tables, where every shard's take() counts them.
    this.counts.start();
    this.o.log.info("pool.shards_started", { shards: this.o.count, ...ports });
    return ports;
  }

  /**
   * Closes every shard's listeners and connections, then ends its Worker; resolves once all have ended. A shard's
   * per-IP counts are cleared only after its Worker's close event: while it runs it may hold the table's lock.
   */
  stop(): Promise<void> {
    this.running = false;
    this.counts.stop();
    const all = [...this.shards.values()].map((sh) => {
      // A shard that does not answer (busy, stuck) is ended anyway.
      const timer = setTimeout(end, 2000);
      function end() {
        clearTimeout(timer);
        sh.worker.terminate();
      }
      sh.stopped = end;
      post(sh, { t: "stop" });
      this.retire(sh);
      return sh.closed;
    });
    this.shards.clear();
    this.stopping = Promise.all([this.stopping, ...all]).then(() => {});
    return this.stopping;
  }
  private readonly slotsOf: number[];

  private spawn(index: number, restarts: number, backoff: number): Promise<void> {
    const worker = new Worker(shardUrl());
    let closed!: () => void;
    const sh: Shard = { index, worker, listening: false, health: null, extra: null, restarts, backoff, upAt: 0, closed: new Promise((r) => (closed = r)) };
    this.shards.set(index, sh);
    const listen = this.o.listen.map((l) => ({ ...l, port: this.ports[l.key]! }));
    return new Promise<void>((resolve, reject) => {
      // A shard that failed to start, or never listens (a ledger read that hangs), is ended: its close event
      // restarts it with backoff while the pool runs; the first start rejects.
      const fail = (e: Error) => {
        clearTimeout(deadline);
        reject(e);
        worker.terminate();
      };
      const ms = this.o.startDeadlineMs ?? 30_000;
      const deadline = setTimeout(() => fail(new RignodeError("internal", `stratum shard ${index} did not listen within ${ms} ms`)), ms);
      worker.onmessage = (ev: MessageEvent<FromShard>) => {
        const m = ev.data;
        if (m.t === "listening") {
          clearTimeout(deadline);
          sh.listening = true;
          sh.upAt = Date.now();
          return resolve();
        }
        if (m.t === "failed") return fail(new RignodeError((m.code ?? "internal") as never, m.error));
        if (m.t === "stopped") return sh.stopped?.();
        this.onMessage(sh, m);
      };
      worker.addEventListener("close", (ev) => {
        const code = (ev as unknown as { code?: number }).code;
        // Its thread is gone: its connections no longer count (a lock it held is freed).
        clearTimeout(deadline);
        this.clear(index);
        closed();
        if (!sh.listening) reject(new Error(`stratum shard ${index} ended before it listened (exit ${code})`));
        this.died(sh, `exit ${code}`);
      });
      worker.onerror = (ev) => this.o.log.error("pool.shard_error", { shard: index, error: (ev as ErrorEvent).message });
      const s = this.o.server;
      post(sh, {
        t: "init", shard: index, kernelPath: this.o.kernelPath, conns: this.counts.conns.sab, workers: this.counts.workers.sab, log: this.o.logConfig, ledgerKind: this.o.ledger.backend.kind, commitTimeoutMs: this.o.ledger.commitTimeoutMs,
        source: sourceInfo(s.source), pool: this.o.settings(), listen, ports: this.ports,
        bans: s.bans().map((b) => ({ subject: b.worker === null ? b.ip : `${b.ip}/${b.worker}`, ip: b.ip, worker: b.worker, until: b.until, reason: b.reason })),
        job: this.job,
      });
    });
  }

  /** A member's connections and workers no longer count (its thread ended, or none runs yet). */
  private clear(member: number): void {
    this.counts.clear(member);
  }

  /** A shard that ended while the pool runs: its connections no longer count, and it is started again. */
  private died(sh: Shard, why: string): void {
    if (this.shards.get(sh.index) !== sh) return;
    this.shards.delete(sh.index);
    this.retire(sh);
    this.tip?.waiting.delete(sh.index);
    if (!this.running) return;
    // Up a minute or more: a new failure, not the same one again, so the backoff starts over.
    const backoff = sh.listening && Date.now() - sh.upAt >= 60_000 ? 0 : sh.backoff;
    const delay = Math.min(10_000, 250 * 2 ** Math.min(backoff, 5));
    this.o.log.warn("pool.shard_restarted", { shard: sh.index, reason: why, restarts: sh.restarts + 1, delay_ms: delay });
    setTimeout(() => {
      if (this.running && !this.shards.has(sh.index)) this.spawn(sh.index, sh.restarts + 1, backoff + 1).catch((e) => this.o.log.error("pool.shard_start_failed", { shard: sh.index, error: (e as Error).message }));
    }, delay);
  }

  /** A shard that ended: its last reported counters stay in the totals (once). */
  private retire(sh: Shard): void {
    if (sh.extra && sh.health) this.retired.add(sh.health, sh.extra);
    sh.extra = null;
  }

  private onMessage(sh: Shard, m: FromShard): void {
    switch (m.t) {
      case "ledger":
        return void serveLedger(this.o.ledger, m).then((a) => post(sh, a));
      case "submit":
        return submitForShard(this.o.server.source, this.o.ledger, m, (a) => post(sh, a));
      case "ban": {
        // Decided on a shard: held here (and so relayed to every shard by the wrapped enforce) and on the other instances.
        const s = this.o.server;
        const ban = s.guard.restore(m.b);
        if (ban) s.sessions.enforce(ban, true);
        s.o.bus?.publishBan(m.b);
        return;
      }
      case "health": {
        sh.health = m.h;
        sh.extra = m.x;
        for (const ms of m.x.latencies) this.latency.add(ms);
        // A payee new on a shard while the plan pays by connection: a new job (not clean) that pays it too.
        const plan = this.o.server.jobs.current?.plan;
        if (plan?.basis === "connected" && (m.h.payees ?? []).some((p) => !(p in plan.weights))) this.o.server.refresh(false);
        return;
      }
      case "notified":
        return this.notified(sh, m.seq, m.at);
      case "conns":
        return this.o.server.o.bus?.setLocalConnections?.(m.ip, 0); // the process's count, from the table (wrapped above)
      case "workers":
        return this.o.server.o.bus?.setLocalWorkers?.(m.ip, 0); // likewise, from the workers' table
      case "stopped":
        return sh.stopped?.();
    }
  }

  private relay(w: WireJob): void {
    this.job = w;
    if (w.clean && this.tipAt !== null) this.tip = { seq: w.seq, at: this.tipAt, waiting: new Set([...this.shards.values()].filter((s) => s.listening).map((s) => s.index)), last: 0 };
    if (w.clean) this.tipAt = null;
    this.broadcast({ t: "job", w, status: this.o.server.source.status() });
  }

  /** New tip -> the last notify written by any shard, once every shard wrote that job. */
  private notified(sh: Shard, seq: number, at: number): void {
    const t = this.tip;
    if (!t || t.seq !== seq) return;
    t.last = Math.max(t.last, at);
    t.waiting.delete(sh.index);
    if (t.waiting.size) return;
    this.tipToNotify.add(t.last - t.at);
    this.tip = null;
  }

  private broadcast(m: ToShard): void {
    for (const sh of this.shards.values()) post(sh, m);
  }

  // ---- ShardsView: the shards' figures in the process's stats ----

  private live(): { h: MemberHealth; x: ShardExtra }[] {
    return [...this.shards.values()].flatMap((s) => (s.health && s.extra ? [{ h: s.health, x: s.extra }] : []));
  }

  totals() {
    const t = { connections: 0, workers: 0, hashrate: 0, ...this.retired.counts(), storage: null as string | null };
    for (const { h, x } of this.live()) {
      t.connections += h.connections;
      t.workers += h.workers;
      t.hashrate += h.hashrate;
      t.accepted += h.accepted;
      t.acceptedDifficulty += x.acceptedDifficulty;
      t.notifies += x.notifies;
      t.bans += x.bans;
      t.blocks += x.blocks ?? 0;
      t.storage ??= x.storage ?? null;
      for (const [k, v] of Object.entries(x.rejectedBy)) t.rejected[k] = (t.rejected[k] ?? 0) + v;
    }
    return t;
  }

  list(): Record<string, unknown>[] {
    return [...this.shards.values()].sort((a, b) => a.index - b.index).map((s) => ({
      shard: s.index, listening: s.listening, restarts: s.restarts,
      connections: s.health?.connections ?? 0, workers: s.health?.workers ?? 0, hashrate_hs: s.health?.hashrate ?? 0,
      accepted: s.health?.accepted ?? 0, rejected: s.health?.rejected ?? 0, job: s.health?.job ?? null, problems: s.health?.problems ?? [], at: s.health?.at ?? null,
      job_to_notify_ms: s.extra?.notifyMs ?? null,
    }));
  }

  /** One row per worker: a worker on several shards has its figures added up. */
  workers(): WorkerRow[] {
    return mergeWorkers(this.live().map(({ x }) => x.workerList as WorkerRow[]));
  }
}

function post(sh: Shard, m: ToShard): void {
  try {
    sh.worker.postMessage(m);
  } catch {
    // A Worker that just ended: its close event restarts it.
  }
}


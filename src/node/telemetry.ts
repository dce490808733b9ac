// The telemetry sampler: one Sample a second (5 a second while the scorer suspects a change) gathered from the role's
// parts — the engine's counters, the rig controller's sensors and governors, the worker's or the pool's shares —
// handed to the scorer (src/telemetry), whose advisories the actor may carry out and whose scores the history keeps.
import { TelemetryRedis } from "./telemetry-redis";
import { statSync } from "node:fs";
import { cpus, hostname, loadavg } from "node:os";
import type { Logger, MetricFamily } from "../core";
import type { Config } from "../config";
import type { MiningEngine } from "../miner";
import { AdviceEpisodes, DEFAULT_THRESHOLDS, loadThresholds, Telemetry, type Advisory, type Sample, type Scored, type TelemetryView } from "../telemetry";
import type { Rig } from "./rig";
import { TelemetryActor } from "./telemetry-act";
import { AuditLog, TelemetryHistory } from "./telemetry-history";
import { RaplLimit, RaplRestoreFile } from "./telemetry-rapl";

/** Shares as the role counts them (counters), and the latest round trip or response latency. */
export interface ShareCounts {
  accepted: number;
  rejected: number;
  stale: number;
  rejectedBy: Record<string, number>;
  latencyMs: number | null;
}

/** What a role has to sample: a miner (engine + rig), shares (worker or pool), a pool's hashrate when it does not mine. */
export interface TelemetryParts {
  engine?: MiningEngine | null;
  rig?: Rig | null;
  /** Nonces per batch unit (the governors' batch unit). */
  unitNonces?: number;
  shares?: () => ShareCounts | null;
  /** Hashrate when there is no engine (a pool's, from accepted shares). */
  hashrate?: () => number;
}

export interface RunningTelemetry {
  view(): TelemetryView;
  advice(): Advisory[];
  history(n?: number): Scored[];
  metrics(): MetricFamily[];
  /** Called with each scored sample (the Redis publisher hooks here). */
  onScored(f: (s: Scored, view: TelemetryView) => void): void;
  /** Stops sampling; resolves once a change still under validation is put back. */
  stop(): Promise<void>;
}

/** A publisher of each scored view (TelemetryRedis has this shape). */
export interface TelemetryPublisher {
  publish(view: TelemetryView): Promise<void>;
  close(): void;
}

/** Makes the publisher of --telemetry-redis (Valkey/Redis through Bun's client; tests pass their own). */
export type PublisherFactory = (url: string, rig: string, log: Logger) => TelemetryPublisher;
const redisPublisher: PublisherFactory = (url, rig, log) => new TelemetryRedis(url, rig, log);

const WINDOW_MS = 5000;

/** Turns the role's counters into Samples: the 5 s hashrate from the hashes counters (the engine's meters start at 10 s). */
export class Sampler {
  private readonly marks: { t: number; total: number; per: number[] }[] = [];
  private derivedHashes = 0;
  private lastT: number | null = null;
  private readonly cpuCount = Math.max(1, cpus().length);

  constructor(private readonly p: TelemetryParts, private readonly now: () => number = Date.now) {}

  sample(): Sample {
    const t = this.now();
    const st = this.p.engine?.stats() ?? null;
    let hashes: number, per: number[];
    if (st) {
      hashes = st.hashes;
      per = st.perThread.map((x) => x.hashes);
    } else {
      // No engine (a pool that does not mine): integrate its hashrate so the counter stays a counter.
      if (this.lastT !== null) this.derivedHashes += ((this.p.hashrate?.() ?? 0) * (t - this.lastT)) / 1000;
      hashes = Math.floor(this.derivedHashes); // whole hashes: the history's column and the export's are integers
      per = [];
    }
    this.lastT = t;
    this.marks.push({ t, total: hashes, per });
    while (this.marks.length > 2 && this.marks[1]!.t <= t - WINDOW_MS) this.marks.shift();
    const first = this.marks[0]!;
    const dt = (t - first.t) / 1000;
    const rate = (a: number, b: number) => (dt > 0 ? Math.max(0, a - b) / dt : 0);
    const hashrate = st ? rate(hashes, first.total) : (this.p.hashrate?.() ?? 0);
    // A thread that did not exist at the window's start counts from zero.
    const perThread = per.map((h, i) => rate(h, first.per[i] ?? 0));
    const v = this.p.rig?.view() ?? null;
    const temp = v?.sensors.temperature;
    const energy = v?.sensors.energy;
    const sh = this.p.shares?.() ?? null;
    const unit = this.p.unitNonces ?? 1;
    return {
      t,
      hashrate,
      perThread,
      hashes,
      accepted: sh?.accepted ?? null,
      rejected: sh?.rejected ?? null,
      stale: sh?.stale ?? null,
      rejectedBy: sh ? { ...sh.rejectedBy } : {},
      latencyMs: sh?.latencyMs ?? null,
      tempC: temp?.status === "ok" ? temp.celsius : null,
      energyJ: energy?.status === "ok" ? energy.joules : null,
      load: loadavg()[0]! / this.cpuCount,
      threads: st?.threads ?? 0,
      batch: st ? Math.max(1, Math.round(st.batch / unit)) : 0,
      paused: st?.state === "paused",
      pausedBy: this.p.engine ? Object.keys(this.p.engine.heldBy()) : undefined,
      thermal: v ? (v.thermal.enabled ? v.thermal.state : "unavailable") : "unavailable",
      power: v ? (v.power.enabled ? (v.power.decision?.state ?? "unknown") : "unavailable") : "unavailable",
    };
  }
}

/** The thresholds file, re-read when its mtime changes; a bad file keeps the thresholds in force and says why. */
export class ThresholdsFile {
  private mtime: number;
  constructor(private readonly path: string, private readonly telemetry: Telemetry, private readonly log: Logger) {
    this.mtime = statSync(path).mtimeMs;
  }
  check(): void {
    let m: number;
    try {
      m = statSync(this.path).mtimeMs;
    } catch (e) {
      if (this.mtime !== -1) this.log.warn("telemetry.thresholds_unreadable", { path: this.path, error: (e as Error).message, note: "keeping the thresholds in force" });
      this.mtime = -1;
      return;
    }
    if (m === this.mtime) return;
    this.mtime = m;
    try {
      this.telemetry.setThresholds(loadThresholds(this.path), this.path);
      this.log.info("telemetry.thresholds_reloaded", { path: this.path });
    } catch (e) {
      this.log.warn("telemetry.thresholds_rejected", { path: this.path, error: (e as Error).message, note: "keeping the thresholds in force" });
    }
  }
}

/**
 * Starts sampling a role's parts (null when telemetry is off or there is nothing to sample). A thresholds file that
 * is bad at start is refused (RignodeError "config", exit 2); later edits that are bad are logged and ignored.
 */
export function startTelemetry(config: Config, log: Logger, parts: TelemetryParts, o: { dataDir?: string | null; now?: () => number; publisher?: PublisherFactory } = {}): RunningTelemetry | null {
  const tc = config.telemetry;
  if (!tc.enabled || (!parts.engine && !parts.hashrate)) return null;
  const tlog = log.child({ component: "telemetry" });
  const path = tc.thresholds || null;
  const telemetry = new Telemetry({ thresholds: path ? loadThresholds(path) : DEFAULT_THRESHOLDS, thresholdsPath: path, now: o.now });
  const file = path ? new ThresholdsFile(path, telemetry, tlog) : null;
  const sampler = new Sampler(parts, o.now);
  const dataDir = o.dataDir === undefined ? config.dataDir : o.dataDir;
  const audit = dataDir ? new AuditLog(dataDir, tlog) : null;
  const history = dataDir && tc.retentionDays > 0 ? TelemetryHistory.openOrNull(dataDir, tc.retentionDays, tlog) : null;
  const rapl = new RaplLimit(config.tuning.sysRoot);
  new RaplRestoreFile(dataDir || null, tlog).restore(rapl);
  const actor = tc.act && parts.engine ? new TelemetryActor({ engine: parts.engine, rig: parts.rig ?? null, telemetry, audit, log: tlog, unitNonces: parts.unitNonces ?? 1, now: o.now, rapl, stateDir: dataDir || null }) : null;
  const hooks: ((s: Scored, v: TelemetryView) => void)[] = [];
  let publisher: TelemetryPublisher | null = null;
  if (tc.redis) {
    const made = (publisher = (o.publisher ?? redisPublisher)(tc.redis, rigName(), tlog));
    // Never awaited: a slow or down Redis must not delay a sample (the publisher logs its own failures).
    hooks.push((_s, v) => void made.publish(v).catch(() => {}));
  }
  const episodes = new AdviceEpisodes();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let ticks = 0;
  let lastError: string | null = null;

  const tick = () => {
    if (stopped) return;
    try {
      if (ticks++ % 5 === 0) file?.check();
      const scored = telemetry.push(sampler.sample());
      // Each advisory once per episode in the log and the audit file (the scorer refreshes it while it holds).
      for (const a of episodes.fresh(telemetry.advice())) {
        tlog.info("telemetry.advisory", { kind: a.kind, target: a.target, delta: a.delta, reason: a.reason, ttl_s: a.ttl });
        audit?.write({ type: "advisory", ...a });
      }
      actor?.step(scored);
      history?.add(scored, telemetry.advice().length);
      const v = telemetry.view();
      for (const h of hooks) h(scored, v);
      lastError = null;
    } catch (e) {
      // Once per distinct failure, not once a second.
      const msg = (e as Error).message;
      if (msg !== lastError) tlog.error("telemetry.sample_failed", { error: msg });
      lastError = msg;
    }
    timer = setTimeout(tick, telemetry.suspected() ? 1000 / telemetry.view().rateHz : 1000);
    timer.unref?.();
  };
  timer = setTimeout(tick, 1000);
  timer.unref?.();
  tlog.info("telemetry.started", { thresholds: path ?? "built-in", act: !!actor, history: history ? `${tc.retentionDays} days` : "off", rig: rigName() });

  return {
    view: () => telemetry.view(),
    advice: () => telemetry.advice(),
    history: (n) => telemetry.history(n),
    metrics: () => telemetry.metrics(),
    onScored: (f) => hooks.push(f),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      history?.close();
      publisher?.close();
      await actor?.stop();
    },
  };
}

/** A pool's pool-wide shares from its stats (rejected by reason; "stale" is one of the reasons). */
export function poolShares(st: { shares: { accepted: number; rejected: Record<string, number> }; latency_ms: { p50: number | null } }): ShareCounts {
  const rejected = Object.values(st.shares.rejected).reduce((a, b) => a + b, 0);
  return { accepted: st.shares.accepted, rejected, stale: st.shares.rejected.stale ?? 0, rejectedBy: { ...st.shares.rejected }, latencyMs: st.latency_ms.p50 };
}

/** A Redis URL without its password, for the log. */

/** The rig's name in the Redis keys and the audit lines. */
export function rigName(): string {
  return hostname() || "rig";
}

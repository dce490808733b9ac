// The scorer: handed one Sample a second (five while a change is suspected), it derives the features, encodes their
// bits, runs a calibrated change detector per feature, computes the KPIs and the one score and class, and keeps the
// advisories current. Pure apart from its clock: the node gathers the samples and carries out any action.
import type { Logger, MetricFamily } from "../core";
import { adviceKey, advise, mergeAdvice, type AdviceState } from "./advise";
import { BitEncoder, Ring } from "./bits";
import { BlockCusum } from "./detectors";
import { combine, entropy, hazard, stability, threadBalance } from "./scores";
import type { Thresholds } from "./thresholds";
import type { ActionOutcome, ActionRecord, Advisory, Feature, FeatureScore, Kpis, RuptureClass, Sample, Scored, TelemetryView } from "./types";

export const FEATURES: readonly Feature[] = ["hashrate", "reject_ratio", "temperature", "latency", "hashes_per_joule", "load", "thread_balance"];
const CLASSES: readonly RuptureClass[] = ["none", "minor", "major", "critical"];
const OUTCOMES: readonly ActionOutcome[] = ["pending", "kept", "rolled_back", "failed", "superseded", "skipped", "restored"];
/** Features whose level follows the miner's own settings: a change of threads, batch or pause resets their detector. */
const SETTING_BOUND: readonly Feature[] = ["hashrate", "hashes_per_joule", "load", "thread_balance"];

export interface TelemetryOptions {
  thresholds: Thresholds;
  thresholdsPath?: string | null;
  now?: () => number;
  /** Scored samples kept (the last hour at 1 Hz). */
  capacity?: number;
  log?: Logger;
}

interface Held {
  at: number;
  change: number;
}

export class Telemetry {
  private t: Thresholds;
  private path: string | null;
  private readonly now: () => number;
  private readonly log?: Logger;
  private readonly ring: Scored[] = [];
  private readonly capacity: number;
  private encoder!: BitEncoder;
  private detectors = new Map<Feature, BlockCusum>();
  private lastFed = new Map<Feature, number>();
  private lastStat = new Map<Feature, number>();
  private held = new Map<Feature, Held>();
  private alarmTimes: Ring = new Ring(10_000);
  private alarmsTotal = new Map<Feature, number>(FEATURES.map((f) => [f, 0]));
  private standing: Advisory[] = [];
  private adviceState: AdviceState = { pausedByAdvice: false };
  private actions: ActionRecord[] = [];
  private actionsTotal = new Map<ActionOutcome, number>(OUTCOMES.map((o) => [o, 0]));
  private firstT: number | null = null;

  constructor(o: TelemetryOptions) {
    this.t = o.thresholds;
    this.path = o.thresholdsPath ?? null;
    this.now = o.now ?? Date.now;
    this.capacity = o.capacity ?? 3600;
    this.log = o.log;
    this.rebuild();
  }

  private rebuild(): void {
    this.encoder = new BitEncoder(this.t.window);
    this.detectors = new Map(FEATURES.map((f) => [f, new BlockCusum({ ...this.t.detector, relFloor: this.t.floors[f].rel, absFloor: this.t.floors[f].abs })]));
    this.lastFed.clear();
    this.lastStat.clear();
    this.held.clear();
  }

  setThresholds(t: Thresholds, path?: string | null): void {
    this.t = t;
    if (path !== undefined) this.path = path;
    this.rebuild();
  }

  /** The newest scored sample at least `ms` older than t (null if the history does not reach back that far). */
  private ago(t: number, ms: number): Sample | null {
    for (let i = this.ring.length - 1; i >= 0; i--) if (this.ring[i]!.t <= t - ms) return this.ring[i]!.sample;
    return null;
  }

  private kpis(s: Sample): Kpis {
    const th = this.t;
    let hashesPerJoule: number | null = null;
    const p10 = this.ago(s.t, 10_000);
    if (p10 && s.energyJ !== null && p10.energyJ !== null) {
      const dE = s.energyJ - p10.energyJ;
      const dH = s.hashes - p10.hashes;
      // A counter that went back (RAPL wrap, miner restart) gives no reading rather than a wrong one.
      if (dE > 0 && dH >= 0) hashesPerJoule = dH / dE;
    }
    let rejectRatio: number | null = null;
    let rejectCount: number | null = null;
    const p60 = this.ago(s.t, 60_000) ?? this.ring[0]?.sample ?? null;
    if (p60 && s.accepted !== null && s.rejected !== null && p60.accepted !== null && p60.rejected !== null) {
      const a = s.accepted - p60.accepted;
      const r = s.rejected - p60.rejected;
      if (a >= 0 && r >= 0 && a + r > 0) {
        rejectRatio = r / (a + r);
        rejectCount = r;
      }
    }
    return {
      hashesPerJoule,
      rejectRatio,
      rejectCount,
      thermalHeadroomC: s.tempC === null ? null : th.thermal.limitC - s.tempC,
      latencyBudget: s.latencyMs === null ? null : Math.max(0, Math.min(1, (th.latency.limitMs - s.latencyMs) / th.latency.limitMs)),
    };
  }

  push(s: Sample): Scored {
    const t = s.t;
    const prev = this.ring.length ? this.ring[this.ring.length - 1]!.sample : null;
    if (prev && (prev.threads !== s.threads || prev.batch !== s.batch || prev.paused !== s.paused)) {
      // The operator (or the actor) moved the level on purpose: not a change-point; learn the new level.
      for (const f of SETTING_BOUND) {
        this.detectors.get(f)!.reset();
        this.held.delete(f);
        this.lastStat.delete(f);
        this.encoder.reset(f);
      }
    }
    if (this.firstT === null) this.firstT = t;
    const kpis = this.kpis(s);
    const values: Record<Feature, number | null> = {
      hashrate: s.paused ? null : s.hashrate,
      reject_ratio: kpis.rejectRatio,
      temperature: s.tempC,
      latency: s.latencyMs,
      hashes_per_joule: s.paused ? null : kpis.hashesPerJoule,
      load: s.load,
      thread_balance: s.paused ? null : (threadBalance(s.perThread)?.value ?? null),
    };
    const features = {} as Record<Feature, FeatureScore>;
    const holdMs = this.t.holdSec * 1000;
    for (const f of FEATURES) {
      const v = values[f];
      const bits = this.encoder.push(f, v);
      const det = this.detectors.get(f)!;
      let alarm = false;
      let stat = this.lastStat.get(f) ?? 0;
      // Detectors are calibrated on 1 Hz samples: during a burst only one sample a second is fed.
      if (v !== null && Number.isFinite(v) && t - (this.lastFed.get(f) ?? -Infinity) >= 900) {
        this.lastFed.set(f, t);
        const d = det.push(v);
        alarm = d.alarm;
        stat = alarm ? 0 : d.stat;
        this.lastStat.set(f, stat);
        if (alarm) {
          this.held.set(f, { at: t, change: d.change });
          this.alarmTimes.push(t);
          this.alarmsTotal.set(f, this.alarmsTotal.get(f)! + 1);
          this.log?.info("telemetry.alarm", { feature: f, change: Number(d.change.toFixed(4)), value: v });
        }
      }
      const h = this.held.get(f);
      if (h && t - h.at > holdMs) this.held.delete(f);
      features[f] = {
        value: v,
        bits,
        stability: v === null ? null : stability(this.encoder.values(f), this.t.stabilityCv),
        entropy: v === null ? null : entropy(this.encoder.patterns(f)),
        change: alarm ? 1 : Math.min(1, stat / this.t.detector.h),
        alarm,
      };
    }
    const hr = this.held.get("hashrate");
    const alarmed = FEATURES.filter((f) => this.held.has(f));
    const { score, class: cls, reasons } = combine({ kpis, hashrateChange: hr ? hr.change : null, alarmed, paused: s.paused }, this.t);
    let recent = 0;
    for (let i = 0; i < this.alarmTimes.length && this.alarmTimes.back(i) > t - 3_600_000; i++) recent++;
    const seconds = Math.min(3600, Math.max(1, Math.round((t - this.firstT) / 1000) + 1));
    const scored: Scored = { t, sample: s, features, kpis, hazard: hazard(recent, seconds), score, class: cls, reasons };
    this.ring.push(scored);
    if (this.ring.length > this.capacity) this.ring.shift();

    const drop = hr && hr.change < 0 ? -hr.change : null;
    const fresh = advise(scored, drop, this.t, this.adviceState, this.now());
    const before = new Set(this.standing.map(adviceKey));
    this.standing = mergeAdvice(this.standing, fresh, this.now());
    for (const a of fresh) if (!before.has(adviceKey(a))) this.log?.info("telemetry.advice", { kind: a.kind, target: a.target, delta: a.delta, reason: a.reason, ttl: a.ttl });
    return scored;
  }

  /** Unexpired advisories. */
  advice(): Advisory[] {
    const now = this.now();
    this.standing = this.standing.filter((a) => a.at + a.ttl * 1000 > now);
    return [...this.standing];
  }

  /** The last n scored samples (all kept by default), oldest first. */
  history(n?: number): Scored[] {
    return n === undefined ? [...this.ring] : n <= 0 ? [] : this.ring.slice(-n);
  }

  /** A change is suspected: a detector is past half its decision interval, or one alarmed in the last 10 s. */
  suspected(): boolean {
    const last = this.ring[this.ring.length - 1];
    if (!last) return false;
    for (const f of FEATURES) {
      const fs = last.features[f];
      if (fs.change >= 0.5) return true;
      const h = this.held.get(f);
      if (h && last.t - h.at < 10_000) return true;
    }
    return false;
  }

  /** The actor reports an action or its outcome (same id: the record is updated); the last 100 are kept. */
  recordAction(a: ActionRecord): void {
    const i = this.actions.findIndex((x) => x.id === a.id);
    if (i >= 0 && this.actions[i]!.outcome === a.outcome) {
      this.actions[i] = { ...a };
      return;
    }
    this.actionsTotal.set(a.outcome, this.actionsTotal.get(a.outcome)! + 1);
    if (i >= 0) this.actions[i] = { ...a };
    else this.actions.push({ ...a });
    if (this.actions.length > 100) this.actions.splice(0, this.actions.length - 100);
    this.log?.info("telemetry.action", { id: a.id, kind: a.advisory.kind, from: a.from, to: a.to, outcome: a.outcome, kpi: a.kpi, before: a.before, after: a.after, ...(a.note ? { note: a.note } : {}) });
  }

  view(): TelemetryView {
    return {
      last: this.ring[this.ring.length - 1] ?? null,
      advisories: this.advice(),
      actions: this.actions.map((a) => ({ ...a })),
      rateHz: this.suspected() ? this.t.burstHz : 1,
      thresholdsPath: this.path,
    };
  }

  metrics(): MetricFamily[] {
    const last = this.ring[this.ring.length - 1] ?? null;
    const k = last?.kpis;
    const kpi = (name: string, v: number | null | undefined) => (v === null || v === undefined ? [] : [{ labels: { kpi: name }, value: v }]);
    return [
      { name: "rignode_telemetry_score", help: "Rig health score, 0..1 (1 = healthy)", type: "gauge", samples: last ? [{ value: last.score }] : [] },
      { name: "rignode_telemetry_class", help: "Rupture class now (1 for the current class)", type: "gauge", samples: last ? CLASSES.map((c) => ({ labels: { class: c }, value: c === last.class ? 1 : 0 })) : [] },
      {
        name: "rignode_telemetry_kpi",
        help: "Telemetry KPIs: hashes per joule (10 s), reject ratio (60 s), thermal headroom (°C), latency budget (0..1)",
        type: "gauge",
        samples: [...kpi("hashes_per_joule", k?.hashesPerJoule), ...kpi("reject_ratio", k?.rejectRatio), ...kpi("thermal_headroom_c", k?.thermalHeadroomC), ...kpi("latency_budget", k?.latencyBudget)],
      },
      { name: "rignode_telemetry_alarms_total", help: "Change-point alarms per feature", type: "counter", samples: FEATURES.map((f) => ({ labels: { feature: f }, value: this.alarmsTotal.get(f)! })) },
      { name: "rignode_telemetry_advisories", help: "Unexpired advisories", type: "gauge", samples: [{ value: this.advice().length }] },
      { name: "rignode_telemetry_actions_total", help: "Telemetry actions by outcome", type: "counter", samples: OUTCOMES.map((o) => ({ labels: { outcome: o }, value: this.actionsTotal.get(o)! })) },
    ];
  }
}

// TEMPORARY STAND-IN (H2, t17-node) so the node wiring compiles and runs before H1's core lands: the lead replaces
// this file with H1's telemetry.ts (t17-core). Same public surface as SPEC17; the scoring here is a trivial rule
// (hashrate below 90% of its running best for 5 samples, with load above 1: advise one thread fewer).
import { readFileSync } from "node:fs";
import { RignodeError, type MetricFamily } from "../core";
import type { ActionRecord, Advisory, Bits, Feature, FeatureScore, RuptureClass, Sample, Scored, TelemetryView } from "./types";

export interface Thresholds {
  /** Fraction of the running best hashrate below which a sample counts as low. */
  dropFraction: number;
  /** Load (per CPU) above which a drop is blamed on a competing process. */
  loadHigh: number;
  advisoryTtlS: number;
}
export const DEFAULT_THRESHOLDS: Thresholds = { dropFraction: 0.9, loadHigh: 1, advisoryTtlS: 120 };

export function parseThresholds(text: string, path: string): Thresholds {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new RignodeError("config", `telemetry thresholds ${path}: not JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new RignodeError("config", `telemetry thresholds ${path}: expected a JSON object`);
  const out: Thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [k, v] of Object.entries(doc)) {
    if (!(k in out)) throw new RignodeError("config", `telemetry thresholds ${path}: unknown field ${k}`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new RignodeError("config", `telemetry thresholds ${path}: ${k} must be a number >= 0`);
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

export function loadThresholds(path: string): Thresholds {
  return parseThresholds(readFileSync(path, "utf8"), path);
}

export class BitEncoder {
  private readonly w = new Map<string, number[]>();
  constructor(private readonly window = 30) {}
  push(feature: string, x: number | null): Bits | null {
    if (x === null) return null;
    const xs = this.w.get(feature) ?? [];
    this.w.set(feature, xs);
    const prev = xs.at(-1), prev2 = xs.at(-2);
    const bits = xs.length
      ? { up: x > prev!, accel: prev2 !== undefined && x - prev! > prev! - prev2, range: x < Math.min(...xs) || x > Math.max(...xs), zpos: x > xs.reduce((a, b) => a + b, 0) / xs.length }
      : null;
    xs.push(x);
    if (xs.length > this.window) xs.shift();
    return bits;
  }
}

export class BlockCusum {
  constructor(_o?: object) {}
  push(_x: number): { alarm: boolean; stat: number; change: number } { return { alarm: false, stat: 0, change: 0 }; }
  reset(): void {}
}
export class TextbookCusum {
  constructor(_h = 5, _k = 0.5) {}
  push(_x: number): { alarm: boolean; stat: number } { return { alarm: false, stat: 0 }; }
  reset(): void {}
}
export class PageHinkley {
  constructor(_delta?: number, _lambda?: number) {}
  push(_x: number): { alarm: boolean; stat: number } { return { alarm: false, stat: 0 }; }
  reset(): void {}
}

export interface TelemetryOptions { thresholds: Thresholds; thresholdsPath?: string | null; now?: () => number; capacity?: number }

const FEATURES: Feature[] = ["hashrate", "reject_ratio", "temperature", "latency", "hashes_per_joule", "load"];

export class Telemetry {
  private th: Thresholds;
  private path: string | null;
  private readonly now: () => number;
  private readonly ring: Scored[] = [];
  private readonly capacity: number;
  private readonly advisories: Advisory[] = [];
  private readonly actions: ActionRecord[] = [];
  private best = 0;
  private low = 0;
  private alarms = 0;

  constructor(o: TelemetryOptions) {
    this.th = o.thresholds;
    this.path = o.thresholdsPath ?? null;
    this.now = o.now ?? Date.now;
    this.capacity = o.capacity ?? 3600;
  }

  push(s: Sample): Scored {
    const low = this.best > 0 && s.hashrate < this.best * this.th.dropFraction && !s.paused;
    this.best = Math.max(this.best * 0.999, s.hashrate);
    this.low = low ? this.low + 1 : 0;
    const alarm = this.low === 5;
    if (alarm) this.alarms++;
    const features = {} as Record<Feature, FeatureScore>;
    for (const f of FEATURES) features[f] = { value: null, bits: null, stability: null, entropy: null, change: 0, alarm: false };
    features.hashrate = { value: s.hashrate, bits: null, stability: null, entropy: null, change: this.low >= 5 ? 1 : 0, alarm };
    features.load = { ...features.load, value: s.load };
    const cls: RuptureClass = this.low >= 5 ? "major" : this.low > 0 ? "minor" : "none";
    const scored: Scored = {
      t: s.t, sample: s, features, hazard: 0, score: cls === "none" ? 1 : cls === "minor" ? 0.7 : 0.3, class: cls,
      kpis: { hashesPerJoule: null, rejectRatio: null, thermalHeadroomC: null, latencyBudget: null },
      reasons: this.low >= 5 ? [`hashrate ${Math.round(s.hashrate)} H/s below ${this.th.dropFraction} of ${Math.round(this.best)}`] : [],
    };
    if (alarm && (s.load ?? 0) > this.th.loadHigh && s.threads > 1) {
      this.advisories.push({ kind: "threads", target: "miner", delta: -1, reason: `hashrate dropped with load ${s.load?.toFixed(2)} per CPU: a competing process`, ttl: this.th.advisoryTtlS, at: this.now() });
    } else if (alarm) {
      this.advisories.push({ kind: "batch", target: "miner", delta: -4, reason: "hashrate dropped", ttl: this.th.advisoryTtlS, at: this.now() });
    }
    this.ring.push(scored);
    if (this.ring.length > this.capacity) this.ring.shift();
    return scored;
  }

  view(): TelemetryView {
    return { last: this.ring.at(-1) ?? null, advisories: this.advice(), actions: [...this.actions], rateHz: this.suspected() ? 5 : 1, thresholdsPath: this.path };
  }
  advice(): Advisory[] {
    const now = this.now();
    while (this.advisories.length && this.advisories[0]!.at + this.advisories[0]!.ttl * 1000 <= now) this.advisories.shift();
    return [...this.advisories];
  }
  history(n = this.capacity): Scored[] {
    return this.ring.slice(-n);
  }
  suspected(): boolean {
    return this.low > 0 && this.low < 5;
  }
  recordAction(a: ActionRecord): void {
    const i = this.actions.findIndex((x) => x.id === a.id);
    if (i >= 0) this.actions[i] = a;
    else this.actions.push(a);
    if (this.actions.length > 100) this.actions.shift();
  }
  setThresholds(t: Thresholds, path?: string | null): void {
    this.th = t;
    if (path !== undefined) this.path = path;
  }
  metrics(): MetricFamily[] {
    const last = this.ring.at(-1);
    const out: MetricFamily[] = [];
    out.push({ name: "rignode_telemetry_score", help: "Telemetry score 0..1 (1 healthy).", type: "gauge", samples: last ? [{ value: last.score }] : [] });
    out.push({ name: "rignode_telemetry_class", help: "1 for the current rupture class.", type: "gauge", samples: last ? (["none", "minor", "major", "critical"] as const).map((c) => ({ labels: { class: c }, value: c === last.class ? 1 : 0 })) : [] });
    out.push({ name: "rignode_telemetry_alarms_total", help: "Detector alarms by feature.", type: "counter", samples: [{ labels: { feature: "hashrate" }, value: this.alarms }] });
    out.push({ name: "rignode_telemetry_advisories", help: "Advisories in force.", type: "gauge", samples: [{ value: this.advice().length }] });
    const by: Record<string, number> = {};
    for (const a of this.actions) by[a.outcome] = (by[a.outcome] ?? 0) + 1;
    out.push({ name: "rignode_telemetry_actions_total", help: "Actions by outcome.", type: "counter", samples: Object.entries(by).map(([outcome, value]) => ({ labels: { outcome }, value })) });
    return out;
  }
}

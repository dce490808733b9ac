// Telemetry's shared shapes: the one record a rig makes each second, what the scorer makes of it, and the
// advisories and actions that follow. The telemetry layer is pure (rank 2): it is handed samples and a clock, and
// hands back scores, advisories and Prometheus series; the node layer gathers the samples and carries out actions.
import type { MetricFamily } from "../core";

/** One canonical record per second per rig. Counters are cumulative (deltas are the scorer's job); null: unavailable. */
export interface Sample {
  /** ms since the epoch. */
  t: number;
  /** H/s over the last 5 s, whole rig, and per mining thread (index = thread). */
  hashrate: number;
  perThread: number[];
  /** Hashes done since the miner started (counter). */
  hashes: number;
  /** Shares: a worker's from its pool session, a pool's pool-wide (counters; null where the role has none). */
  accepted: number | null;
  rejected: number | null;
  stale: number | null;
  /** Rejected by reason (counters). */
  rejectedBy: Record<string, number>;
  /** Share round trip (worker) or share response latency p50 (pool), ms. */
  latencyMs: number | null;
  /** Hottest package temperature, °C. */
  tempC: number | null;
  /** Package energy counter (RAPL), joules. */
  energyJ: number | null;
  /** 1-minute load average divided by the logical CPUs. */
  load: number | null;
  /** Threads and batch (units) in force, and whether the miner is paused. */
  threads: number;
  batch: number;
  paused: boolean;
  /** Who holds the miner paused (the engine's holders: "operator", "governor", "telemetry"), where known. */
  pausedBy?: string[];
  /** Governor states as their APIs name them ("ok", "throttle", "paused", "unavailable", "ac", "battery", …). */
  thermal: string;
  power: string;
}

/** Structural bits of one feature at one sample, over a short window of its previous values. */
export interface Bits {
  /** Rose since the last sample. */
  up: boolean;
  /** The rise grew (second difference > 0). */
  accel: boolean;
  /** Outside the window's previous min..max. */
  range: boolean;
  /** Above the window's mean. */
  zpos: boolean;
}

export type RuptureClass = "none" | "minor" | "major" | "critical";

/**
 * Features scored each second (derived from samples; null when the rig cannot measure it). thread_balance is the
 * slowest mining thread's 5 s hashrate over the threads' mean (1: even; a thread sharing its CPU falls toward 0.5).
 */
export type Feature = "hashrate" | "reject_ratio" | "temperature" | "latency" | "hashes_per_joule" | "load" | "thread_balance";

export interface FeatureScore {
  value: number | null;
  bits: Bits | null;
  /** 0..1: 1 = steady (low spread relative to level over the window). */
  stability: number | null;
  /** 0..1: normalised Shannon entropy of the 4-bit patterns over the window (1 = patternless noise). */
  entropy: number | null;
  /** 0..1: the detector's belief that the level changed recently (change-point posterior or its calibrated proxy). */
  change: number;
  /** The detector raised an alarm on this sample. */
  alarm: boolean;
}

export interface Kpis {
  /** Hashes per joule over the last 10 s, where energy is readable. */
  hashesPerJoule: number | null;
  /** Rejected / (accepted + rejected) over the last 60 s. */
  rejectRatio: number | null;
  /** Rejects in that window (the ratio of a dozen shares moves 8% on one reject). */
  rejectCount?: number | null;
  /** Thermal hard limit − temperature, °C. */
  thermalHeadroomC: number | null;
  /** Latency budget left: (limit − latency) / limit, 0..1. */
  latencyBudget: number | null;
}

/** What the scorer makes of one sample. */
export interface Scored {
  t: number;
  sample: Sample;
  features: Record<Feature, FeatureScore>;
  kpis: Kpis;
  /** Probability-like rate of change-points per sample over the recent window. */
  hazard: number;
  /** 0..1, 1 = healthy. */
  score: number;
  class: RuptureClass;
  /** Why the class is what it is (the features that pushed it), for people. */
  reasons: string[];
}

export type AdviceKind = "threads" | "batch" | "pause" | "resume" | "cooling" | "power_limit";

export interface Advisory {
  kind: AdviceKind;
  /** What it applies to ("miner", "thread 3", "package-0"). */
  target: string;
  /** Signed change (threads −1, batch −4 units, power limit −10 W); 0 for pause/resume/cooling. */
  delta: number;
  reason: string;
  /** Seconds the advisory stays valid. */
  ttl: number;
  /** ms since the epoch when it was made. */
  at: number;
  /** What it means to improve, when not the usual (hashes per joule or hashrate): a change made for the heat. */
  kpi?: "thermal_headroom";
}

/**
 * pending (being validated), kept, rolled_back, failed (could not act, or advice for the operator), superseded (the
 * value was changed meanwhile by someone else), skipped (someone else has the knob), restored (a kept change's lease ended).
 */
export type ActionOutcome = "pending" | "kept" | "rolled_back" | "failed" | "superseded" | "skipped" | "restored";

export interface ActionRecord {
  id: number;
  advisory: Advisory;
  /** Value before and after (threads, batch units, watts; pause as 0/1). */
  from: number;
  to: number;
  at: number;
  /** KPI compared over the validation window (e.g. "hashrate", "hashes_per_joule"). */
  kpi: string;
  before: number | null;
  after: number | null;
  outcome: ActionOutcome;
  note?: string;
}

/** The whole telemetry state as GET /api/telemetry shows it. */
export interface TelemetryView {
  last: Scored | null;
  advisories: Advisory[];
  actions: ActionRecord[];
  /** "1 Hz" or the burst rate while a change is suspected. */
  rateHz: number;
  thresholdsPath: string | null;
}

export type TelemetryMetrics = () => MetricFamily[];

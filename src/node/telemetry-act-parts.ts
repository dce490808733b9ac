// The guarded actor's (src/node/telemetry-act.ts) options and state, and what an action is judged on: the KPI read
// from each scored sample, and the margin it must beat.
import type { Logger } from "../core";
import type { MiningEngine } from "../miner";
import type { ActionRecord, Advisory, Scored, Telemetry } from "../telemetry";
import type { Rig } from "./rig";
import type { AuditLog } from "./telemetry-history";
import type { RaplLimit, RaplSnapshot } from "./telemetry-rapl";


export interface ActorOptions {
  engine: MiningEngine;
  /**
   * The rig's controller, when the engine has one: threads and batch are then steered through it (its poll would put
   * a change made behind its back straight back), and the governors keep the last word.
   */
  rig?: Pick<Rig, "view" | "steer"> | null;
  telemetry: Telemetry;
  audit: AuditLog | null;
  log: Logger;
  unitNonces: number;
  now?: () => number;
  /** Seconds after the change before the KPI counts (the 5 s hashrate window refills). */
  settleS?: number;
  /** Seconds of KPI after the settle that decide. */
  validateS?: number;
  /** Actions of one kind per hour at most. */
  perHour?: number;
  /** Seconds a kind waits after a rollback. */
  cooldownS?: number;
  /** Seconds a kept threads, batch or power-limit change lasts before the configured value comes back. */
  leaseS?: number;
  /** The RAPL package limit (null: power_limit advisories are "unavailable"). */
  rapl?: RaplLimit | null;
  /**
   * Where the power limits a change replaced are kept until they are written back (DATA_DIR): a limit outlives the
   * process, so after a crash the next start restores it. null: not kept.
   */
  stateDir?: string | null;
}

/** The actuated kinds ("cooling" is advice for people: there is nothing the node can turn). */
export const ACTUATED = new Set<Advisory["kind"]>(["threads", "batch", "pause", "resume", "power_limit"]);
/** A KPI must beat its before by this share to count as improved (the 30 s mean's noise is about that). */
export const MARGIN = 0.02;

export type Knob = "threads" | "batch" | "power_limit";

export interface Pending {
  rec: ActionRecord;
  /** The change being made (stop() waits for it before putting it back). */
  applied: Promise<void>;
  undo: () => Promise<void> | void;
  /** The knob's value now: a rollback only undoes what is still ours. */
  current: () => number;
  kpi: (s: Scored) => number | null;
  values: number[];
  knob: Knob | null;
  /** The power limits this change replaced (power_limit only). */
  snap?: RaplSnapshot;
  apply: () => Promise<void> | void;
  /** The window being measured: with the change (b), then put back (a2) when `abab`. */
  phase: "b" | "a2";
  since: number;
  abab: boolean;
  b: number | null;
}

/** A kept change, until its lease ends. */
export interface Lease {
  id: number;
  from: number;
  to: number;
  until: number;
  /** The power limits replaced, per package (power_limit only). */
  snap?: RaplSnapshot;
}

export const HOLDER = "telemetry";

/**
 * The KPI an action is judged on: thermal headroom for a pause or a change made for the heat; else hashes per joule
 * where energy is read; else hashrate per thread for a thread change, hashrate for the rest.
 */
export function kpiFor(a: Advisory, last: Scored | null): { name: string; f: (s: Scored) => number | null } {
  const thermal = a.kind === "pause" || a.kpi === "thermal_headroom";
  if (thermal && last?.kpis.thermalHeadroomC != null) return { name: "thermal_headroom", f: (s) => s.kpis.thermalHeadroomC };
  if (last?.kpis.hashesPerJoule != null) return { name: "hashes_per_joule", f: (s) => s.kpis.hashesPerJoule };
  if (a.kind === "threads") return { name: "hashrate_per_thread", f: (s) => (s.sample.threads > 0 && !s.sample.paused ? s.sample.hashrate / s.sample.threads : null) };
  return { name: "hashrate", f: (s) => (s.sample.paused ? null : s.sample.hashrate) };
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Beats `than` by the margin (a KPI's 30 s mean moves about 2% on noise alone). */
export function beats(x: number | null, than: number | null, margin: number): boolean {
  return x !== null && than !== null && x > than + Math.abs(than) * margin;
}

export function fmt(x: number | null): string {
  return x === null ? "n/a" : x.toFixed(x >= 100 ? 0 : 3);
}

/** The knob holds `value` (a power limit reads back rounded to the package's unit, 1/8 W on most). */
export function at(p: Pending, value: number): boolean {
  const now = p.current();
  return p.knob === "power_limit" ? Math.abs(now - value) <= 0.5 : now === value;
}

// Power governor (seed 000, XMRig's pause-on-battery): on battery cap threads and batch, below a charge pause,
// back on AC lift everything. An unknown source (no power_supply at all: a server, a VM) caps nothing.
import { RignodeError, type Logger } from "../core";

export interface PowerLimits {
  enabled: boolean;
  batteryThreads: number;
  /** Batch units (1 unit = defaultBatch(algo)/16 nonces). */
  batteryBatch: number;
  pauseBelowPercent: number;
}

export const DEFAULT_POWER: PowerLimits = { enabled: true, batteryThreads: 2, batteryBatch: 4, pauseBelowPercent: 20 };

/** Charge points above pauseBelowPercent needed to leave low_battery while still on battery (a gauge jitters ±1). */
export const LOW_BATTERY_HYSTERESIS = 2;

export type PowerState = "ac" | "battery" | "low_battery" | "unknown";

export interface PowerDecision {
  state: PowerState;
  threadCap: number | null;
  batchCap: number | null;
  pause: boolean;
  /** True only when state or caps differ from the previous decision. */
  changed: boolean;
  reason: string;
}

/** Refuses caps that would stop or overdrive the miner by mistake. */
export function checkPowerLimits(l: PowerLimits): void {
  const int = (k: "batteryThreads" | "batteryBatch", max: number) => {
    const v = l[k];
    if (!Number.isInteger(v) || v < 1 || v > max) throw new RignodeError("config", `power ${k} must be an integer 1..${max}, got ${String(v)}`);
  };
  int("batteryThreads", 1024);
  int("batteryBatch", 32);
  const p = l.pauseBelowPercent;
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 100) throw new RignodeError("config", `power pauseBelowPercent must be 0..100, got ${String(p)}`);
}

/** Turns power-supply readings into caps; feed it every poll, act on `changed`. */
export class PowerGovernor {
  private readonly limits: PowerLimits;
  private readonly log?: Logger;
  private last: PowerDecision | null = null;

  constructor(limits: PowerLimits, opts: { log?: Logger } = {}) {
    checkPowerLimits(limits);
    this.limits = { ...limits };
    this.log = opts.log;
  }

  /** The state of the last update (unknown before the first). */
  get state(): PowerState {
    return this.last?.state ?? "unknown";
  }

  update(p: { status: "ac" | "battery" | "unknown"; batteryPercent: number | null }): PowerDecision {
    const { enabled, batteryThreads, batteryBatch, pauseBelowPercent } = this.limits;
    const pct = p.batteryPercent !== null && Number.isFinite(p.batteryPercent) ? p.batteryPercent : null;
    let state: PowerState = p.status;
    if (state === "battery") {
      const wasLow = this.last?.state === "low_battery";
      // A gauge that stops answering while paused does not resume mining: only a reading or AC does.
      if (pct === null ? wasLow : pct < pauseBelowPercent || (wasLow && pct < pauseBelowPercent + LOW_BATTERY_HYSTERESIS)) state = "low_battery";
    }
    let threadCap: number | null = null;
    let batchCap: number | null = null;
    let pause = false;
    let reason: string;
    const level = pct === null ? "charge unknown" : `${pct}% charge`;
    if (state === "ac") reason = "on AC power: no caps";
    else if (state === "unknown") reason = "power source unknown (no power_supply reading): no caps";
    else if (state === "battery") {
      [threadCap, batchCap] = [batteryThreads, batteryBatch];
      reason = `on battery (${level}): threads <= ${batteryThreads}, batch <= ${batteryBatch}`;
    } else {
      pause = true;
      reason = `battery ${pct === null ? "charge unreadable after" : `at ${pct}%`} (below ${pauseBelowPercent}%): mining paused until AC`;
    }
    if (!enabled) {
      [threadCap, batchCap, pause] = [null, null, false];
      reason = `power sensitivity off (reading only): ${reason}`;
    }
    const prev = this.last;
    const changed = !prev || prev.state !== state || prev.threadCap !== threadCap || prev.batchCap !== batchCap || prev.pause !== pause;
    const d: PowerDecision = { state, threadCap, batchCap, pause, changed, reason };
    this.last = d;
    if (changed && enabled) this.logChange(prev?.state ?? null, d, pct);
    return d;
  }

  private logChange(from: PowerState | null, d: PowerDecision, pct: number | null): void {
    if (!this.log) return;
    // The seed's lines: "Power source changed: AC -> Battery", "Applying battery caps", "Battery level: 47% remaining".
    this.log.info("power.source_changed", { from, to: d.state, battery_percent: pct, reason: d.reason });
    if (d.state === "battery") this.log.info("power.battery_caps", { thread_cap: d.threadCap, batch_cap: d.batchCap, battery_percent: pct });
    else if (d.state === "low_battery") this.log.warn("power.paused", { battery_percent: pct, pause_below_percent: this.limits.pauseBelowPercent });
    else if (from === "battery" || from === "low_battery") this.log.info("power.restored", { to: d.state });
  }
}

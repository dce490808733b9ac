// Thermal governor (seed 000, cgminer's ladder): cool / warm / hot (threads reduced linearly) / critical (pause).
// Escalation is immediate; every step down needs the reading below the band's limit minus the hysteresis, and the
// capped bands (hot, critical) also need that for `cooldownS` without a break, so a wobbling reading cannot flap.
import { RignodeError, type Logger } from "../core";

export type ThermalState = "cool" | "warm" | "hot" | "critical" | "unavailable";

export interface ThermalLimits {
  enabled: boolean;
  warm: number;
  hot: number;
  critical: number;
  hysteresis: number;
  cooldownS: number;
  maxReduction: number;
}

export const DEFAULT_THERMAL: ThermalLimits = { enabled: true, warm: 70, hot: 80, critical: 90, hysteresis: 3, cooldownS: 120, maxReduction: 0.5 };

export interface ThermalDecision {
  state: ThermalState;
  /** null: no cap. */
  threadCap: number | null;
  pause: boolean;
  /** True when state, cap or pause differ from the previous decision. */
  changed: boolean;
  reason: string;
}

const LEVELS = ["cool", "warm", "hot", "critical"] as const;
type Level = 0 | 1 | 2 | 3;

/** Refuses limits that cannot make a ladder (the config layer reports the message as the key's error). */
export function checkThermalLimits(l: ThermalLimits): void {
  const num = (k: keyof ThermalLimits) => {
    const v = l[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RignodeError("config", `thermal ${k} must be a finite number, got ${String(v)}`);
    return v;
  };
  const [warm, hot, critical] = [num("warm"), num("hot"), num("critical")];
  if (!(warm < hot && hot < critical)) throw new RignodeError("config", `thermal limits must rise: warm ${warm} < hot ${hot} < critical ${critical}`);
  if (num("hysteresis") < 0) throw new RignodeError("config", `thermal hysteresis must be >= 0 °C, got ${l.hysteresis}`);
  if (num("cooldownS") < 0) throw new RignodeError("config", `thermal cooldownS must be >= 0 s, got ${l.cooldownS}`);
  const r = num("maxReduction");
  if (r < 0 || r >= 1) throw new RignodeError("config", `thermal maxReduction must be in [0, 1), got ${r}`);
}

/** Turns temperature readings into a thread cap or a pause; one instance per engine, fed at every poll. */
export class ThermalGovernor {
  private readonly limits: ThermalLimits;
  private readonly now: () => number;
  private readonly log?: Logger;
  private level: Level | null = null; // null: no reading yet / reading unavailable
  private reduction = 0; // fraction of base threads taken away in the hot band; only grows while hot
  private belowSince: number | null = null; // start of the unbroken run of readings under the current band's exit
  private last: { state: ThermalState; threadCap: number | null; pause: boolean } | null = null;

  constructor(limits: ThermalLimits, opts: { now?: () => number; log?: Logger } = {}) {
    checkThermalLimits(limits);
    this.limits = { ...limits };
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  get state(): ThermalState {
    return this.level === null ? "unavailable" : LEVELS[this.level];
  }

  /** Seconds left before a capped band may step down (0 when not waiting). */
  cooldownRemainingS(): number {
    if (this.level === null || this.level < 2 || this.belowSince === null) return 0;
    return Math.max(0, this.limits.cooldownS - (this.now() - this.belowSince) / 1000);
  }

  /** One reading (°C, or null when there is none) and the thread count the operator asked for. */
  update(celsius: number | null, baseThreads: number): ThermalDecision {
    const base = Math.max(1, Math.floor(baseThreads));
    if (celsius === null || !Number.isFinite(celsius)) return this.unavailable(base);
    const t = celsius;
    const from = this.level;
    const up = this.rawLevel(t);
    let reason: string;
    if (from === null || up > from) {
      this.level = up;
      this.belowSince = null;
      this.reduction = up === 2 ? this.reductionAt(t) : up === 3 ? this.limits.maxReduction : 0;
      reason = from === null ? `first reading ${fmt(t)} °C` : `${fmt(t)} °C reached the ${LEVELS[up]} limit ${this.enterOf(up)} °C`;
    } else {
      const hold = this.holdLevel(t);
      if (hold >= from) {
        this.belowSince = null;
        if (from === 2) this.reduction = Math.max(this.reduction, this.reductionAt(t)); // only tightens while hot
        reason = `${fmt(t)} °C: ${LEVELS[from]}`;
      } else if (from < 2) {
        this.level = hold; // warm carries no cap: no cooldown, hysteresis only
        reason = `${fmt(t)} °C is below ${this.enterOf(from) - this.limits.hysteresis} °C (limit ${this.enterOf(from)} − hysteresis ${this.limits.hysteresis})`;
      } else {
        const now = this.now();
        this.belowSince ??= now;
        const waited = (now - this.belowSince) / 1000;
        if (waited >= this.limits.cooldownS) {
          this.level = hold;
          this.belowSince = null;
          this.reduction = hold === 2 ? this.reductionAt(t) : 0;
          reason = `cooldown complete: ${fmt(t)} °C for ${Math.round(waited)} s below ${this.enterOf(from) - this.limits.hysteresis} °C`;
          this.log?.info("thermal.cooldown_complete", { celsius: t, from: LEVELS[from], to: LEVELS[hold], waited_s: Math.round(waited) });
        } else {
          if (from === 2) this.reduction = Math.max(this.reduction, this.reductionAt(t));
          reason = `${fmt(t)} °C: ${LEVELS[from]}, cooling down (${Math.ceil(this.limits.cooldownS - waited)} s left)`;
        }
      }
    }
    return this.emit(t, base, reason);
  }

  private unavailable(base: number): ThermalDecision {
    const was = this.last?.state;
    this.level = null;
    this.belowSince = null;
    this.reduction = 0;
    const d = this.decide(base, "no temperature reading: thermal protection inactive, no cap");
    if (d.changed && was !== undefined) this.log?.warn("thermal.unavailable", { from: was, reason: d.reason });
    return d;
  }

  private emit(t: number, base: number, reason: string): ThermalDecision {
    const prev = this.last;
    const d = this.decide(base, reason);
    if (!d.changed || !this.limits.enabled) return d;
    const fields = { celsius: t, from: prev?.state ?? null, to: d.state, thread_cap: d.threadCap, pause: d.pause, reason };
    if (prev?.state !== d.state) this.log?.[this.level! >= 2 ? "warn" : "info"]("thermal.state", fields);
    if (d.pause && !prev?.pause) this.log?.warn("thermal.paused", { celsius: t, reason: "critical temperature: mining paused" });
    else if (d.threadCap !== null && (prev?.threadCap ?? base) > d.threadCap)
      this.log?.warn("thermal.throttle", { celsius: t, threads_from: prev?.threadCap ?? base, threads_to: d.threadCap });
    return d;
  }

  private decide(base: number, reason: string): ThermalDecision {
    const state = this.state;
    let threadCap: number | null = null;
    let pause = false;
    if (!this.limits.enabled) reason = `thermal protection off (reading only): ${reason}`;
    else if (this.level === 3) pause = true;
    else if (this.level === 2) threadCap = Math.max(1, Math.round(base * (1 - this.reduction)));
    const prev = this.last;
    const changed = !prev || prev.state !== state || prev.threadCap !== threadCap || prev.pause !== pause;
    this.last = { state, threadCap, pause };
    return { state, threadCap, pause, changed, reason };
  }

  private reductionAt(t: number): number {
    const { hot, critical, maxReduction } = this.limits;
    const f = Math.min(1, Math.max(0, (t - hot) / (critical - hot)));
    return maxReduction * f;
  }

  private enterOf(level: Level): number {
    return level === 1 ? this.limits.warm : level === 2 ? this.limits.hot : level === 3 ? this.limits.critical : -Infinity;
  }

  /** The band a reading is in with no history. critical starts at the limit itself. */
  private rawLevel(t: number): Level {
    return t >= this.limits.critical ? 3 : t >= this.limits.hot ? 2 : t >= this.limits.warm ? 1 : 0;
  }

  /** The highest band a reading may stay in: each band is held until the reading drops below its limit − hysteresis. */
  private holdLevel(t: number): Level {
    const h = this.limits.hysteresis;
    return t >= this.limits.critical - h ? 3 : t >= this.limits.hot - h ? 2 : t >= this.limits.warm - h ? 1 : 0;
  }
}

function fmt(t: number): string {
  return (Math.round(t * 10) / 10).toString();
}

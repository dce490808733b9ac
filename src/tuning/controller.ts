import type { Logger } from "../core";
import type { Candidate } from "./autotune";
import { decide, type Decision } from "./decide";
import type { PerfMemory, PerfRecord } from "./memory";
import type { PowerDecision, PowerGovernor } from "./power";
import type { EnergyReading, PowerReading, TempReading } from "./sensors";
import type { ThermalDecision, ThermalGovernor } from "./thermal";
import { TuneLoop, type TuneSettings, type TuneView } from "./tune-loop";

/** What the controller steers: the mining engine, seen through the few calls it needs (src/miner's MiningEngine). */
export interface Steerable {
  setThreads(n: number, reason: string): Promise<void>;
  /** Nonces per kernel call. */
  setBatch(n: number, reason?: string): void;
  /** Holds the engine paused under `holder` until released (other holders, e.g. the pool link, are independent). */
  hold(holder: string, reason: string): void;
  release(holder: string, reason: string): void;
  totalHashes(): number;
  stats(): { threads: number; batch: number; state: string };
}

export interface Sensors {
  temperature(): TempReading;
  power(): PowerReading;
  energy(): EnergyReading;
}

export interface ControllerOptions {
  engine: Steerable;
  sensors: Sensors;
  /** null: that governor is off (--thermal=false, --power=false). */
  thermal: ThermalGovernor | null;
  power: PowerGovernor | null;
  /** The configuration to mine with before any governor (startingPoint(): the operator's keys or the memory's best). */
  start: Candidate;
  /** Keys the operator fixed (flags/config): neither the memory nor the tuner changes them. */
  fixed: { threads: boolean; batch: boolean };
  /** Threads the placement can give distinct CPUs (the allowed CPUs). */
  maxThreads: number;
  /** Nonces per batch unit for this algorithm. */
  unitNonces: number;
  /** The operator's --batch in nonces (any number, not only whole units): used whenever no cap makes it smaller. */
  batchNonces?: number;
  memory: PerfMemory | null;
  /** The memory's best for this CPU/profile/algorithm when mining started (shown; start already took it). */
  best: PerfRecord | null;
  /** Memory key parts: normalised CPU model, profile, algorithm; the layout of a thread count. */
  key: { cpu: string; profile: string; algo: string };
  layout: (threads: number) => string;
  tune: TuneSettings | null;
  log?: Logger;
  now?: () => number;
}

const HOLDER = "governor";

/** Where mining starts (seed 000: history before defaults): the operator's fixed keys, else the memory's best. */
export function startingPoint(wanted: Candidate, fixed: { threads: boolean; batch: boolean }, best: PerfRecord | null, maxThreads: number): Candidate {
  return {
    threads: fixed.threads || !best ? wanted.threads : Math.min(best.threads, maxThreads),
    batch: fixed.batch || !best ? wanted.batch : best.batch,
  };
}

/**
 * The rig's steering loop (seed 000's decision flow): on every poll it reads the sensors, lets the thermal and power
 * governors speak, asks decide() for {threads, batch, should_mine} and applies the difference to the engine. The
 * auto-tuner (TuneLoop) proposes the wanted configuration when it runs; the governors always have the last word.
 */
export class RigController {
  private readonly now: () => number;
  private temp: TempReading = { status: "unavailable", reason: "not read yet" };
  private powerReading: PowerReading = { status: "unknown", batteryPercent: null, batteryStatus: null, source: null };
  private energyReading: EnergyReading = { status: "unavailable", reason: "not read yet" };
  private thermalDecision: ThermalDecision | null = null;
  private powerDecision: PowerDecision | null = null;
  private last: Decision | null = null;
  private paused = false;
  private lastGood: number | null = null;
  private polling: Promise<Decision> | null = null;
  private applying: Promise<void> = Promise.resolve();
  private readonly tuner: TuneLoop | null;
  private readonly best: PerfRecord | null;
  private readonly hint: PerfRecord | null;
  private steered: Partial<Candidate> = {};

  constructor(private readonly o: ControllerOptions) {
    this.now = o.now ?? Date.now;
    this.best = o.best;
    this.hint = o.memory ? (o.memory.hints(o.key.cpu, o.key.profile, o.key.algo)[0] ?? null) : null;
    this.tuner = o.tune
      ? new TuneLoop({
          settings: o.tune,
          start: o.start,
          fixed: o.fixed,
          maxThreads: o.maxThreads,
          hashes: () => o.engine.totalHashes(),
          record: (c, rate) => this.record(c, rate),
          now: this.now,
          log: o.log,
        })
      : null;
  }

  /** One poll: read, decide, apply. Resolves when the engine has the decided configuration; never two at once. */
  poll(): Promise<Decision> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = null));
    return this.polling;
  }

  /**
   * Telemetry's actor (--telemetry-act) steers threads and batch on top of the configuration wanted (the start or
   * the memory's best); the governors still cap it. Not while the auto-tuner runs: it owns both. Resolves when the
   * engine has the resulting decision. `{}` gives the configured values back.
   */
  async steer(c: Partial<Candidate>): Promise<Decision> {
    if (this.tuner) throw new Error("the auto-tuner owns threads and batch");
    this.steered = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
    await this.polling?.catch(() => {}); // a poll in flight read the old wish
    return this.poll();
  }

  private async pollOnce(): Promise<Decision> {
    this.temp = this.o.sensors.temperature();
    this.powerReading = this.o.sensors.power();
    this.energyReading = this.o.sensors.energy();
    // A sensor that was lost or froze (the same raw value for 10 minutes) is not trusted, but neither does it lift
    // a cap or pause: the governor keeps seeing the last good reading until the sensor reads again.
    const t = this.temp;
    if (t.status === "ok" && !t.frozen) this.lastGood = t.celsius;
    const celsius = t.status === "unavailable" ? null : this.lastGood;
    const hint = this.tuner || this.o.fixed.threads || this.best ? null : this.hintCandidate();
    // Steered values go on top of where the rig would start (the hint included), and then the hint has been used.
    const steered = Object.keys(this.steered).length > 0;
    const wanted = this.tuner?.wanted() ?? { ...(steered && hint ? hint : this.o.start), ...this.steered };
    this.thermalDecision = this.o.thermal?.update(celsius, wanted.threads) ?? null;
    this.powerDecision = this.o.power?.update({ status: this.powerReading.status, batteryPercent: this.powerReading.batteryPercent }) ?? null;
    const d = decide({
      wanted,
      maxThreads: this.o.maxThreads,
      thermal: this.thermalDecision ?? NO_THERMAL,
      power: this.powerDecision ?? NO_POWER,
      best: null, // wanted already starts from the memory's best (startingPoint); the tuner moves from there
      hint: steered ? null : hint,
    });
    // The tuner measures only an unconstrained engine: a governor's cap would make its numbers lie.
    this.tuner?.setConstrained(!d.should_mine || d.threads !== wanted.threads || d.batch !== wanted.batch);
    await this.apply(d);
    return d;
  }

  private hintCandidate(): Candidate | null {
    return this.hint ? { threads: Math.min(this.hint.threads, this.o.maxThreads), batch: this.o.start.batch } : null;
  }

  /** Applies a decision; calls are serialised so two polls never race on the engine. */
  private apply(d: Decision): Promise<void> {
    const run = async () => {
      const e = this.o.engine;
      const reason = d.constraints_applied.join("; ") || (this.tuner?.describe() ?? "configured");
      if (!d.should_mine) {
        if (!this.paused) e.hold(HOLDER, reason);
        this.paused = true;
      } else {
        const s = e.stats();
        if (s.threads !== d.threads) await e.setThreads(d.threads, reason);
        const exact = this.o.fixed.batch && this.o.batchNonces ? this.o.batchNonces : null;
        const nonces = exact !== null && d.batch >= this.o.start.batch ? exact : d.batch * this.o.unitNonces;
        if (s.batch !== nonces) e.setBatch(nonces, reason);
        if (this.paused) e.release(HOLDER, reason || "constraints lifted");
        this.paused = false;
      }
      if (!sameDecision(this.last, d)) this.o.log?.info("tuning.decision", { threads: d.threads, batch: d.batch, should_mine: d.should_mine, constraints: reason });
      this.last = d;
    };
    this.applying = this.applying.then(run, run);
    return this.applying;
  }

  /** Called by the tuner's sampling timer (about windowSeconds/12); a new candidate is applied at once. */
  sample(): void {
    if (!this.tuner) return;
    const before = this.tuner.wanted();
    this.tuner.sample();
    if (this.tuner.wanted() !== before) void this.poll().catch((e) => this.o.log?.error("tuning.poll_failed", { error: (e as Error).message }));
  }

  private record(c: Candidate, rate: number): void {
    if (!this.o.memory) return;
    try {
      this.o.memory.record({ ...this.o.key, threads: c.threads, batch: c.batch, layout: this.o.layout(c.threads) }, rate, this.now());
    } catch (e) {
      this.o.log?.warn("tuning.memory_write_failed", { error: (e as Error).message });
    }
  }

  /** Everything GET /api/miner/tuning shows. */
  view(): ControllerView {
    return {
      decision: this.last,
      sensors: { temperature: this.temp, power: this.powerReading, energy: this.energyReading },
      thermal: this.o.thermal
        ? { enabled: true, state: this.o.thermal.state, cooldown_remaining_s: this.o.thermal.cooldownRemainingS(), decision: this.thermalDecision }
        : { enabled: false },
      power: this.o.power ? { enabled: true, decision: this.powerDecision } : { enabled: false },
      memory: { cpu: this.o.key.cpu, profile: this.o.key.profile, algo: this.o.key.algo, best: this.best, hint: this.hint, path: this.o.memory?.path ?? null },
      tuner: this.tuner?.view() ?? null,
      steered: this.tuner ? null : { ...this.steered },
    };
  }
}

export interface ControllerView {
  decision: Decision | null;
  sensors: { temperature: TempReading; power: PowerReading; energy: EnergyReading };
  thermal: { enabled: true; state: string; cooldown_remaining_s: number; decision: ThermalDecision | null } | { enabled: false };
  power: { enabled: true; decision: PowerDecision | null } | { enabled: false };
  memory: { cpu: string; profile: string; algo: string; best: PerfRecord | null; hint: PerfRecord | null; path: string | null };
  tuner: TuneView | null;
  /** What telemetry's actor asks on top of the configuration (null while the auto-tuner runs). */
  steered: Partial<Candidate> | null;
}

const NO_THERMAL: ThermalDecision = { state: "unavailable", threadCap: null, pause: false, changed: false, reason: "thermal governor off" };
const NO_POWER: PowerDecision = { state: "unknown", threadCap: null, batchCap: null, pause: false, changed: false, reason: "power governor off" };

function sameDecision(a: Decision | null, b: Decision): boolean {
  return !!a && a.threads === b.threads && a.batch === b.batch && a.should_mine === b.should_mine && a.constraints_applied.join() === b.constraints_applied.join();
}

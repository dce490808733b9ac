// Guarded actions (--telemetry-act): an advisory becomes one change to the engine, then validation windows decide,
// A/B/A: the KPI with the change (B) must beat the samples that raised the advisory (A1), and then — put back for a
// window (A2) — beat the rig without it, or it is rolled back. A2 is what keeps a transient dip (a false alarm) from
// passing for an improvement. A change made for the heat is judged on thermal headroom, B against A1 only. One action
// at a time; a kind rolled back waits a cool-down and each kind has an hourly budget, so nothing loops. A kept change is a lease (30 min by default), after which the
// configured value returns. Nothing is done while someone else has the knob (another pause holder, the auto-tuner,
// the thermal governor), and a rollback leaves a value someone changed meanwhile. Every action and outcome goes to
// telemetry.recordAction and the audit.
import { adviceKey, type ActionRecord, type Advisory, type Scored, type Telemetry } from "../telemetry";
import { ACTUATED, at, beats, fmt, HOLDER, kpiFor, MARGIN, mean, type ActorOptions, type Knob, type Lease, type Pending } from "./telemetry-act-parts";
import type { AuditLog } from "./telemetry-history";
import type { Rig } from "./rig";
import { MIN_LIMIT_W, RaplRestoreFile, type RaplLimit, type RaplSnapshot } from "./telemetry-rapl";

export type { ActorOptions } from "./telemetry-act-parts";

export class TelemetryActor {
  private pending: Pending | null = null;
  private nextId = 1;
  private readonly done = new Set<string>();
  private readonly recent: { kind: string; at: number }[] = [];
  private readonly blockedUntil = new Map<string, number>();
  private readonly leases = new Map<Knob, Lease>();
  /** Why each kind was last skipped (recorded once per reason, not once a second). */
  private readonly skipped = new Map<string, string>();
  private readonly o: Required<Omit<ActorOptions, "audit" | "rapl" | "rig" | "stateDir">> & { audit: AuditLog | null; rapl: RaplLimit | null; rig: Pick<Rig, "view" | "steer"> | null; stateDir: string | null };
  private stopped = false;
  private settling: Promise<void> | null = null;
  private readonly saved: RaplRestoreFile;

  constructor(o: ActorOptions) {
    // Options given as undefined take the defaults (a caller passes its own optional clock straight through).
    const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ActorOptions;
    this.o = { now: Date.now, settleS: 5, validateS: 30, perHour: 3, cooldownS: 600, leaseS: 1800, rapl: null, rig: null, stateDir: null, ...given };
    this.saved = new RaplRestoreFile(this.o.stateDir, this.o.log);
  }

  /** Called with each scored sample: feeds the window of the pending action, ends a lease, or takes the next advisory. */
  step(s: Scored): void {
    // While a decision or a lease's end is being carried out, nothing else starts (they await the engine).
    if (this.stopped || this.settling) return;
    const now = this.o.now();
    const p = this.pending;
    if (p) {
      if (now - p.since < this.o.settleS * 1000) return;
      const v = p.kpi(s);
      if (v !== null && Number.isFinite(v)) p.values.push(v);
      if (now - p.since >= (this.o.settleS + this.o.validateS) * 1000) this.settle(() => (p.phase === "b" ? this.decide(p) : this.confirm(p)));
      return;
    }
    for (const [knob, l] of this.leases) {
      if (l.until > now) continue;
      this.settle(() => this.expire(knob, l));
      return;
    }
    // An advisory is acted on once while it stands (the scorer refreshes it every second it still holds).
    const list = this.o.telemetry.advice();
    const standing = new Set(list.map(adviceKey));
    for (const k of this.done) if (!standing.has(k)) this.done.delete(k);
    for (const a of list) {
      const key = adviceKey(a);
      if (this.done.has(key) || !ACTUATED.has(a.kind)) continue;
      const busy = this.busy(a, s);
      if (busy) {
        this.skip(a, busy);
        continue;
      }
      this.skipped.delete(a.kind);
      if (!this.allowed(a.kind, now)) continue;
      this.done.add(key);
      this.act(a, s).catch((e) => this.failed(e));
      return;
    }
  }

  private settle(f: () => Promise<void>): void {
    this.settling = f()
      .catch((e) => this.failed(e))
      .finally(() => (this.settling = null));
  }

  /** Why an advisory is not ours to carry out now (null: it is): someone else has the engine or the knob. */
  private busy(a: Advisory, s: Scored): string | null {
    const holders = Object.keys(this.o.engine.heldBy());
    const others = holders.filter((h) => h !== HOLDER);
    if (others.length && a.kind !== "resume") return `mining is held paused by ${others.join(", ")}`;
    if (a.kind !== "threads" && a.kind !== "batch") return null;
    if (holders.includes(HOLDER)) return "mining is paused by telemetry's own pause";
    if (this.o.rig?.view().tuner) return "the auto-tuner owns threads and batch";
    // Hot or critical, the thermal governor caps or pauses (warm caps nothing).
    const th = s.sample.thermal;
    if (th === "hot" || th === "critical") return `the thermal governor is in charge (${th})`;
    return null;
  }

  private skip(a: Advisory, why: string): void {
    if (this.skipped.get(a.kind) === why) return;
    this.skipped.set(a.kind, why);
    this.record({ id: this.nextId++, advisory: a, from: 0, to: 0, at: this.o.now(), kpi: "", before: null, after: null, outcome: "skipped", note: why });
  }

  private allowed(kind: string, now: number): boolean {
    while (this.recent.length && this.recent[0]!.at < now - 3600_000) this.recent.shift();
    if ((this.blockedUntil.get(kind) ?? 0) > now) return false;
    return this.recent.filter((r) => r.kind === kind).length < this.o.perHour;
  }

  /**
   * The steering of threads or batch. With the rig's controller, the wish is steered (the other kept values with it),
   * and null withdraws ours: the configured value, under the governors, comes back. Without one, the engine is set
   * directly and null means `base`.
   */
  private knob(k: "threads" | "batch"): { get: () => number; set: (v: number | null, base: number, reason: string) => Promise<void> } {
    const e = this.o.engine;
    const unit = this.o.unitNonces;
    const get = k === "threads" ? () => e.stats().threads : () => Math.max(1, Math.round(e.stats().batch / unit));
    const rig = this.o.rig;
    if (rig) {
      return {
        get,
        set: (v) => {
          const wish: Partial<Record<"threads" | "batch", number>> = {};
          for (const [kk, l] of this.leases) if (kk !== "power_limit" && kk !== k) wish[kk] = l.to;
          if (v !== null) wish[k] = v;
          return rig.steer(wish);
        },
      };
    }
    return {
      get,
      set: async (v, base, reason) => {
        const n = v ?? base;
        if (k === "threads") await e.setThreads(n, reason);
        else e.setBatch(n * unit, reason);
      },
    };
  }

  private async act(a: Advisory, last: Scored): Promise<void> {
    const e = this.o.engine;
    const now = this.o.now();
    const kpi = kpiFor(a, last);
    // Before: the KPI over the last samples (the 5 s window that made the advisory).
    // A1: the KPI over the last 10 s (samples come at 5 Hz while a change is suspected, which is when advice comes).
    const recent = this.o.telemetry.history(60).filter((x) => x.t > now - 10_000);
    const before = mean(recent.map(kpi.f).filter((x): x is number => x !== null && Number.isFinite(x)));
    const rec: ActionRecord = { id: this.nextId++, advisory: a, from: 0, to: 0, at: now, kpi: kpi.name, before, after: null, outcome: "pending" };
    let apply: () => Promise<void> | void;
    let undo: () => Promise<void> | void;
    let current: () => number;
    let knob: Knob | null = null;
    let snap: RaplSnapshot | undefined;
    switch (a.kind) {
      case "threads":
      case "batch": {
        const k = this.knob(a.kind);
        knob = a.kind;
        rec.from = k.get();
        rec.to = Math.max(1, rec.from + Math.round(a.delta));
        apply = () => k.set(rec.to, rec.from, `telemetry: ${a.reason}`);
        undo = () => k.set(this.leases.get(a.kind as Knob)?.to ?? null, rec.from, "telemetry: rollback");
        current = k.get;
        break;
      }
      case "pause":
      case "resume": {
        const hold = a.kind === "pause";
        rec.from = hold ? 0 : 1;
        rec.to = hold ? 1 : 0;
        const on = () => e.hold(HOLDER, hold ? a.reason : "telemetry: rollback");
        const off = () => e.release(HOLDER, hold ? "telemetry: rollback" : a.reason);
        apply = hold ? on : off;
        undo = hold ? off : on;
        current = () => (HOLDER in e.heldBy() ? 1 : 0);
        break;
      }
      case "power_limit": {
        const rs = this.o.rapl?.status() ?? { ok: false as const, reason: "no RAPL actuator" };
        if (!rs.ok) {
          rec.outcome = "failed";
          rec.note = `unavailable: ${rs.reason}`;
          this.record(rec);
          return;
        }
        const rapl = this.o.rapl!;
        const before = rapl.snapshot();
        knob = "power_limit";
        // Each package steps from its own limit; one step never takes more than half of it, nor goes below the floor.
        const step = (w: number) => Math.max(MIN_LIMIT_W, w / 2, w + a.delta);
        rec.from = rs.watts;
        rec.to = step(rs.watts);
        snap = before;
        apply = () => {
          this.saved.save(this.leases.get("power_limit")?.snap ?? before);
          rapl.setEach(before, step);
        };
        undo = () => {
          rapl.restore(before);
          this.saved.save(this.leases.get("power_limit")?.snap ?? null);
        };
        current = () => {
          const st = rapl.status();
          return st.ok ? st.watts : NaN;
        };
        break;
      }
      default:
        return; // not actuated (step() passes those by)
    }
    if (rec.from === rec.to && knob) {
      rec.outcome = "failed";
      rec.note = `already at the bound (${rec.from})`;
      this.record(rec);
      return;
    }
    this.recent.push({ kind: a.kind, at: now });
    const applied = Promise.resolve().then(apply);
    // Heat is judged B against A1 only: putting the change back to compare would heat the package again.
    const abab = knob !== null && kpi.name !== "thermal_headroom";
    const p: Pending = { rec, applied, undo, current, kpi: kpi.f, values: [], knob, snap, apply, phase: "b", since: now, abab, b: null };
    this.pending = p;
    this.record(rec);
    try {
      await applied;
      if (a.kind === "resume" && this.pending === p) {
        // Not judged: mining again is the configured state; if the heat returns, so does the pause advisory.
        this.pending = null;
        rec.outcome = "kept";
        rec.note = "resumed (a resume is not rolled back)";
        this.record(rec);
      }
    } catch (err) {
      rec.outcome = "failed";
      rec.note = (err as Error).message;
      if (this.pending === p) this.pending = null;
      this.record(rec);
    }
  }

  /** The end of the B window: rolled back unless it beat A1; if it did, put back to measure A2 (when abab). */
  private async decide(p: Pending): Promise<void> {
    if (this.pending !== p) return;
    this.pending = null;
    const rec = p.rec;
    rec.after = mean(p.values);
    if (!at(p, rec.to)) {
      const now = p.current();
      // The governors, the tuner or the operator changed it meanwhile: theirs now, not ours to put back. Our wish on
      // threads or batch is withdrawn (the governors' caps or the configuration apply as before it).
      rec.outcome = "superseded";
      rec.note = `${rec.advisory.kind} is ${now} now, not the ${rec.to} set: changed meanwhile, left as it is`;
      try {
        if (this.o.rig && (p.knob === "threads" || p.knob === "batch")) await p.undo();
      } catch (err) {
        rec.note += `; withdrawing our wish failed: ${(err as Error).message}`;
      }
      if (p.knob) this.leases.delete(p.knob); // nothing of ours to put back later either
      if (p.knob === "power_limit") this.saved.save(null);
      this.record(rec);
      return;
    }
    if (beats(rec.after, rec.before, MARGIN) && p.abab) {
      // B beat the dip that raised the advisory; whether it beats the rig without the change, A2 tells.
      rec.note = `${rec.kpi} A1 ${fmt(rec.before)}, B ${fmt(rec.after)}; put back ${this.o.validateS} s to compare (A2)`;
      p.b = rec.after;
      p.phase = "a2";
      p.values = [];
      p.since = this.o.now();
      this.pending = p;
      await p.undo();
      this.record(rec);
      return;
    }
    if (beats(rec.after, rec.before, MARGIN)) return this.keep(p, `${rec.kpi} ${fmt(rec.before)} -> ${fmt(rec.after)}`);
    const why = rec.after === null || rec.before === null ? `${rec.kpi} not measurable over the window` : `${rec.kpi} ${fmt(rec.before)} -> ${fmt(rec.after)}: no improvement`;
    await this.rollBack(p, why, true);
  }

  /** The end of the A2 window (the change put back): the change again if B beat A2, else it stays rolled back. */
  private async confirm(p: Pending): Promise<void> {
    if (this.pending !== p) return;
    this.pending = null;
    const rec = p.rec;
    const a2 = mean(p.values);
    const seen = `${rec.kpi} A1 ${fmt(rec.before)}, B ${fmt(p.b)}, A2 ${fmt(a2)}`;
    if (!at(p, rec.from)) {
      rec.outcome = "superseded";
      rec.note = `${seen}; ${rec.advisory.kind} is ${p.current()} now, not the ${rec.from} put back: changed meanwhile, left as it is`;
      this.record(rec);
      return;
    }
    if (!beats(p.b, a2, MARGIN)) return this.rollBack(p, `${seen}: no better than without it`, false);
    if (this.stopped) return this.rollBack(p, `${seen}; stopping: not applied again`, false);
    try {
      await p.apply();
    } catch (err) {
      rec.outcome = "failed";
      rec.note = `${seen}; applying again failed: ${(err as Error).message}`;
      this.record(rec);
      return;
    }
    this.keep(p, seen);
  }

  private keep(p: Pending, note: string): void {
    const rec = p.rec;
    rec.outcome = "kept";
    rec.note = note;
    if (p.knob) {
      // The configured value comes back when the lease ends (the first kept change's starting point).
      const prev = this.leases.get(p.knob);
      this.leases.set(p.knob, { id: rec.id, from: prev?.from ?? rec.from, to: rec.to, until: this.o.now() + this.o.leaseS * 1000, snap: prev?.snap ?? p.snap });
      rec.note += `; until ${new Date(this.o.now() + this.o.leaseS * 1000).toISOString()}`;
    }
    this.record(rec);
  }

  private async rollBack(p: Pending, why: string, undo: boolean): Promise<void> {
    const rec = p.rec;
    rec.note = why;
    rec.outcome = "rolled_back";
    if (undo) {
      try {
        await p.undo();
      } catch (err) {
        rec.outcome = "failed";
        rec.note += `; rollback failed: ${(err as Error).message}`;
      }
    }
    this.blockedUntil.set(rec.advisory.kind, this.o.now() + this.o.cooldownS * 1000);
    this.record(rec);
  }

  /** A kept change's lease ended: the value it replaced comes back (a problem that remains is detected again). */
  private async expire(knob: Knob, l: Lease): Promise<void> {
    this.leases.delete(knob);
    const advisory: Advisory = { kind: knob, target: knob === "power_limit" ? "package-0" : "miner", delta: l.from - l.to, reason: `the lease of action #${l.id} ended`, ttl: 0, at: this.o.now() };
    const rec: ActionRecord = { id: this.nextId++, advisory, from: l.to, to: l.from, at: this.o.now(), kpi: "", before: null, after: null, outcome: "restored" };
    try {
      if (knob === "power_limit") {
        if (l.snap) this.o.rapl?.restore(l.snap);
        this.saved.save(null);
      } else await this.knob(knob).set(null, l.from, `telemetry: ${advisory.reason}`);
    } catch (err) {
      rec.outcome = "failed";
      rec.note = `restoring failed: ${(err as Error).message}`;
    }
    this.record(rec);
  }

  /** An error acting or deciding is logged, never thrown into the sampler (an unhandled rejection would end the process). */
  private failed(e: unknown): void {
    this.o.log.error("telemetry.action_failed", { error: (e as Error)?.message ?? String(e) });
  }

  private record(rec: ActionRecord): void {
    const copy = { ...rec };
    this.o.telemetry.recordAction(copy);
    this.o.audit?.write({ type: "action", ...copy });
    this.o.log.info("telemetry.action", { id: rec.id, kind: rec.advisory.kind, from: rec.from, to: rec.to, kpi: rec.kpi, before: rec.before, after: rec.after, outcome: rec.outcome, note: rec.note });
  }

  /**
   * Shutdown: a change still being validated is put back once it is applied (if it is still ours), and a kept power
   * limit is restored (the package limit outlives the process; threads and batch do not).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.settling;
    const p = this.pending;
    this.pending = null;
    if (p) {
      const ok = await p.applied.then(() => true, () => false);
      // In the A2 window the change is already put back.
      if (ok && p.phase === "b" && at(p, p.rec.to)) await Promise.resolve().then(p.undo).catch((e) => this.failed(e));
    }
    const l = this.leases.get("power_limit");
    if (l?.snap) {
      try {
        this.o.rapl?.restore(l.snap);
        this.saved.save(null);
      } catch (e) {
        this.failed(e);
      }
    }
  }
}

// Guarded actions (--telemetry-act): an advisory becomes one change to the engine, then a validation window decides:
// kept if the KPI improved, rolled back if not. One action at a time; a kind rolled back waits a cool-down and each
// kind has an hourly budget, so nothing loops. Every action and outcome goes to telemetry.recordAction and the audit.
import type { Logger } from "../core";
import type { MiningEngine } from "../miner";
import type { ActionRecord, Advisory, Scored, Telemetry } from "../telemetry";
import type { AuditLog } from "./telemetry-history";
import { MIN_LIMIT_W, type RaplLimit } from "./telemetry-rapl";

export interface ActorOptions {
  engine: MiningEngine;
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
  /** The RAPL package limit (null: power_limit advisories are "unavailable"). */
  rapl?: RaplLimit | null;
}

interface Pending {
  rec: ActionRecord;
  undo: () => Promise<void> | void;
  kpi: (s: Scored) => number | null;
  values: number[];
}

const HOLDER = "telemetry";

/** The KPI an action is judged on: hashes per joule where energy is read, else hashrate (per thread for a thread change). */
function kpiFor(a: Advisory, last: Scored | null): { name: string; f: (s: Scored) => number | null } {
  if (a.kind === "pause" && last?.kpis.thermalHeadroomC != null) return { name: "thermal_headroom", f: (s) => s.kpis.thermalHeadroomC };
  if (last?.kpis.hashesPerJoule != null) return { name: "hashes_per_joule", f: (s) => s.kpis.hashesPerJoule };
  if (a.kind === "threads") return { name: "hashrate_per_thread", f: (s) => (s.sample.threads > 0 && !s.sample.paused ? s.sample.hashrate / s.sample.threads : null) };
  return { name: "hashrate", f: (s) => (s.sample.paused ? null : s.sample.hashrate) };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export class TelemetryActor {
  private pending: Pending | null = null;
  private nextId = 1;
  private readonly done = new Set<string>();
  private readonly recent: { kind: string; at: number }[] = [];
  private readonly blockedUntil = new Map<string, number>();
  private readonly o: Required<Omit<ActorOptions, "audit" | "rapl">> & { audit: AuditLog | null; rapl: RaplLimit | null };
  private stopped = false;

  constructor(o: ActorOptions) {
    // Options given as undefined take the defaults (a caller passes its own optional clock straight through).
    const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ActorOptions;
    this.o = { now: Date.now, settleS: 5, validateS: 30, perHour: 3, cooldownS: 600, rapl: null, ...given };
  }

  /** Called with each scored sample: feeds the window of the pending action, or takes the next advisory. */
  step(s: Scored): void {
    if (this.stopped) return;
    const now = this.o.now();
    const p = this.pending;
    if (p) {
      if (now - p.rec.at < this.o.settleS * 1000) return;
      const v = p.kpi(s);
      if (v !== null && Number.isFinite(v)) p.values.push(v);
      if (now - p.rec.at >= (this.o.settleS + this.o.validateS) * 1000) this.decide(p).catch((e) => this.failed(e));
      return;
    }
    for (const a of this.o.telemetry.advice()) {
      const key = `${a.at}:${a.kind}:${a.target}:${a.delta}`;
      if (this.done.has(key)) continue;
      this.done.add(key);
      // Advisories live minutes: the oldest keys can go (the node's `seen` set is bounded the same way).
      if (this.done.size > 1000) this.done.delete(this.done.values().next().value!);
      if (this.allowed(a.kind, now)) {
        this.act(a, s).catch((e) => this.failed(e));
        return;
      }
    }
  }

  private allowed(kind: string, now: number): boolean {
    while (this.recent.length && this.recent[0]!.at < now - 3600_000) this.recent.shift();
    if ((this.blockedUntil.get(kind) ?? 0) > now) return false;
    return this.recent.filter((r) => r.kind === kind).length < this.o.perHour;
  }

  private async act(a: Advisory, last: Scored): Promise<void> {
    const e = this.o.engine;
    const st = e.stats();
    const unit = this.o.unitNonces;
    const now = this.o.now();
    const kpi = kpiFor(a, last);
    // Before: the KPI over the last samples (the 5 s window that made the advisory).
    const before = mean(this.o.telemetry.history(10).map(kpi.f).filter((x): x is number => x !== null && Number.isFinite(x)));
    const rec: ActionRecord = { id: this.nextId++, advisory: a, from: 0, to: 0, at: now, kpi: kpi.name, before, after: null, outcome: "pending" };
    let apply: () => Promise<void> | void;
    let undo: () => Promise<void> | void;
    switch (a.kind) {
      case "threads": {
        rec.from = st.threads;
        rec.to = Math.max(1, st.threads + Math.round(a.delta));
        apply = () => e.setThreads(rec.to, `telemetry: ${a.reason}`);
        undo = () => e.setThreads(rec.from, "telemetry: rollback");
        break;
      }
      case "batch": {
        rec.from = Math.max(1, Math.round(st.batch / unit));
        rec.to = Math.max(1, rec.from + Math.round(a.delta));
        apply = () => e.setBatch(rec.to * unit, `telemetry: ${a.reason}`);
        undo = () => e.setBatch(st.batch, "telemetry: rollback");
        break;
      }
      case "pause":
        rec.from = 0;
        rec.to = 1;
        apply = () => e.hold(HOLDER, a.reason);
        undo = () => e.release(HOLDER, "telemetry: rollback");
        break;
      case "resume":
        rec.from = 1;
        rec.to = 0;
        apply = () => e.release(HOLDER, a.reason);
        undo = () => e.hold(HOLDER, "telemetry: rollback");
        break;
      case "power_limit": {
        const rs = this.o.rapl?.status() ?? { ok: false as const, reason: "no RAPL actuator" };
        if (!rs.ok) {
          rec.outcome = "failed";
          rec.note = `unavailable: ${rs.reason}`;
          this.record(rec);
          return;
        }
        const rapl = this.o.rapl!;
        rec.from = rs.watts;
        rec.to = Math.max(MIN_LIMIT_W, rs.watts + a.delta);
        apply = () => rapl.set(rec.to);
        undo = () => rapl.set(rec.from);
        break;
      }
      default:
        // cooling is for people: there is nothing the node can turn.
        rec.outcome = "failed";
        rec.note = "advice for the operator (no action)";
        this.record(rec);
        return;
    }
    if (rec.from === rec.to && (a.kind === "threads" || a.kind === "batch" || a.kind === "power_limit")) {
      rec.outcome = "failed";
      rec.note = `already at the bound (${rec.from})`;
      this.record(rec);
      return;
    }
    this.recent.push({ kind: a.kind, at: now });
    this.pending = { rec, undo, kpi: kpi.f, values: [] };
    this.record(rec);
    try {
      await apply();
    } catch (err) {
      rec.outcome = "failed";
      rec.note = (err as Error).message;
      this.pending = null;
      this.record(rec);
    }
  }

  private async decide(p: Pending): Promise<void> {
    if (this.pending !== p) return;
    this.pending = null;
    const rec = p.rec;
    rec.after = mean(p.values);
    const improved = rec.after !== null && rec.before !== null && rec.after > rec.before;
    if (improved) {
      rec.outcome = "kept";
      rec.note = `${rec.kpi} ${fmt(rec.before)} -> ${fmt(rec.after)}`;
      this.record(rec);
      return;
    }
    rec.note = rec.after === null || rec.before === null ? `${rec.kpi} not measurable over the window` : `${rec.kpi} ${fmt(rec.before)} -> ${fmt(rec.after)}: no improvement`;
    try {
      await p.undo();
      rec.outcome = "rolled_back";
    } catch (err) {
      rec.outcome = "failed";
      rec.note += `; rollback failed: ${(err as Error).message}`;
    }
    this.blockedUntil.set(rec.advisory.kind, this.o.now() + this.o.cooldownS * 1000);
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

  /** Puts back a change still being validated (shutdown must not leave the rig changed by an unproven action). */
  stop(): void {
    this.stopped = true;
    const p = this.pending;
    this.pending = null;
    if (p) void Promise.resolve(p.undo()).catch(() => {});
  }
}

function fmt(x: number | null): string {
  return x === null ? "n/a" : x.toFixed(x >= 100 ? 0 : 3);
}

// From a scored sample to advisories: what an operator (or the guarded actor) could change, and why. The rules are
// few and each names its evidence; they only advise — the node's actor decides, and validates, any action.
import { threadBalance } from "./scores";
import type { Advisory, Scored } from "./types";
import type { Thresholds } from "./thresholds";

export interface AdviceState {
  /** True after we advised a pause (so a resume is ours to advise; an operator's pause is not). */
  pausedByAdvice: boolean;
}

/** The advisories one scored sample calls for (none when healthy). `drop` is the held hashrate drop (0..1) or null. */
export function advise(s: Scored, drop: number | null, t: Thresholds, st: AdviceState, now: number): Advisory[] {
  const out: Advisory[] = [];
  const ttl = t.advice.ttlSec;
  const x = s.sample;
  const add = (kind: Advisory["kind"], target: string, delta: number, reason: string, kpi?: Advisory["kpi"]) =>
    out.push({ kind, target, delta, reason, ttl, at: now, ...(kpi ? { kpi } : {}) });
  const head = s.kpis.thermalHeadroomC;
  const th = t.thermal;
  // Ours to resume: the engine is held by telemetry's actor where the sample says who holds it, else our own pause.
  const ours = x.pausedBy ? x.pausedBy.includes("telemetry") : st.pausedByAdvice;

  if (head !== null && head <= th.criticalHeadroomC && !x.paused) {
    add("pause", "miner", 0, `temperature ${x.tempC} °C is within ${th.criticalHeadroomC} °C of the ${th.limitC} °C limit`);
    st.pausedByAdvice = true;
  } else if (head !== null && head <= th.majorHeadroomC) {
    add("cooling", "package", 0, `thermal headroom ${head.toFixed(1)} °C (limit ${th.limitC} °C): check fans, airflow and dust`);
    if (x.power !== "unavailable") add("power_limit", "package-0", -t.advice.powerStepW, `thermal headroom ${head.toFixed(1)} °C: a lower power limit trades a little hashrate for temperature`, "thermal_headroom");
    if (x.threads > 1 && !x.paused) add("threads", "miner", -1, `thermal headroom ${head.toFixed(1)} °C: one thread fewer lowers the package power`, "thermal_headroom");
  } else if (x.paused && ours && head !== null && head >= th.minorHeadroomC) {
    add("resume", "miner", 0, `temperature back to ${x.tempC} °C (${head.toFixed(1)} °C headroom) after the advised pause`);
  } else if (x.paused && x.pausedBy?.includes("telemetry") && head === null) {
    // Our pause can no longer be judged: not left for good (the thermal governor and the CPU's own throttling still guard).
    add("resume", "miner", 0, "the temperature is no longer readable: the advised pause cannot be judged, so mining resumes");
  }
  // Running again (resumed by anyone) without a fresh pause advisory: a later pause is not ours to undo.
  if (!x.paused && !out.some((a) => a.kind === "pause")) st.pausedByAdvice = false;

  if (drop !== null && drop >= t.hashrate.minorDrop && !x.paused && !out.some((a) => a.kind === "threads")) {
    const pct = (drop * 100).toFixed(1);
    const tb = threadBalance(x.perThread);
    // One thread far behind the others: its CPU is the shared one (an uneven drop, not a slower clock for all).
    const uneven = tb && tb.value < 0.8 ? `; thread ${tb.slowest} runs at ${(tb.value * 100).toFixed(0)}% of the threads' mean` : "";
    const load = (x.load === null ? "" : `, load ${x.load.toFixed(2)} per CPU`) + uneven;
    if (head !== null && head <= th.minorHeadroomC) add("cooling", "package", 0, `hashrate fell ${pct}% with ${head.toFixed(1)} °C thermal headroom: likely thermal throttling`);
    // The load says whether something else wants the CPUs (above load.high per CPU), or the clock itself slowed.
    else if (x.threads > 1 && (x.load === null || x.load > t.load.high))
      add("threads", "miner", -1, `hashrate fell ${pct}% with threads and batch unchanged${load}: another process competes for the CPUs; one thread fewer leaves it a core`);
    else if (x.threads > 1) add("threads", "miner", -1, `hashrate fell ${pct}% with threads and batch unchanged${load}: no other process shows in the load, so the clock likely slowed (power or thermal limit); one thread fewer lowers the package power`);
    // One thread cannot give a core back; smaller batches answer the scheduler (and job changes) sooner.
    else if (x.batch > 1) add("batch", "miner", -Math.max(1, Math.floor(x.batch / 2)), `hashrate fell ${pct}% on the one mining thread${load}: another process competes for its CPU`);
  }

  const rr = s.kpis.rejectRatio;
  // One reject among a dozen shares is 8%: a ratio counts from rejects.minCount rejects in the window on.
  if (rr !== null && rr >= t.rejects.major && (s.kpis.rejectCount ?? Infinity) >= t.rejects.minCount && x.batch > 1) {
    const stale = x.stale !== null ? ` (stale ${x.stale})` : "";
    add("batch", "miner", -Math.max(1, Math.floor(x.batch / 2)), `reject ratio ${(rr * 100).toFixed(1)}% over 60 s${stale}: smaller batches see new jobs sooner`);
  }
  return dedupe(out);
}

/**
 * An advisory's identity while it stands: its kind and target. The scorer refreshes a standing advisory every second
 * it still holds, with a new `at` and, for a batch cut, a delta that follows the batch in force.
 */
export function adviceKey(a: Advisory): string {
  return `${a.kind}:${a.target}`;
}

/**
 * Which advisories are new: those not standing at the last look. One that lapses and comes back is new again, so a
 * log or an audit line is written once per episode, not once a second.
 */
export class AdviceEpisodes {
  private standing = new Set<string>();
  fresh(list: readonly Advisory[]): Advisory[] {
    const out = list.filter((a) => !this.standing.has(adviceKey(a)));
    this.standing = new Set(list.map(adviceKey));
    return out;
  }
}

/** One advisory per kind and target (the first, the most pressing, wins). */
function dedupe(list: Advisory[]): Advisory[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = `${a.kind}:${a.target}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const OPPOSITE: Partial<Record<Advisory["kind"], Advisory["kind"]>> = { pause: "resume", resume: "pause" };

/** Merges fresh advisories into the standing ones: a fresh one replaces its kind (and its opposite) for its target; expired ones go. */
export function mergeAdvice(standing: Advisory[], fresh: Advisory[], now: number): Advisory[] {
  const keys = new Set(fresh.flatMap((a) => [`${a.kind}:${a.target}`, ...(OPPOSITE[a.kind] ? [`${OPPOSITE[a.kind]}:${a.target}`] : [])]));
  return [...standing.filter((a) => !keys.has(`${a.kind}:${a.target}`) && a.at + a.ttl * 1000 > now), ...fresh];
}

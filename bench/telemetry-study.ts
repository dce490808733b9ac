// The telemetry study: false alarms per 24 h per feature on days of change-free 1 Hz samples, and the delay and F1
// for a 10% hashrate drop, for our calibrated block CUSUM against the textbook CUSUM (h = 5, k = 0.5) and
// Page–Hinkley; then the scorer's cost per sample. Traces are generated (bench/telemetry-traces.ts), seeded.
//   bun bench/telemetry-study.ts [days=3] [drops=300] [thresholds.json]   (a thresholds file: calibrate your own)
import { BlockCusum, DEFAULT_THRESHOLDS, loadThresholds, PageHinkley, Telemetry, TextbookCusum, threadBalance, type Feature, type Sample } from "../src/telemetry";
import { trace, type TraceOptions, type TraceRow } from "./telemetry-traces";

const DAYS = Number(process.argv[2] ?? 3);
const DROPS = Number(process.argv[3] ?? 300);
const MARGIN = 5;
const T = process.argv[4] ? loadThresholds(process.argv[4]) : DEFAULT_THRESHOLDS;

type Det = { push(x: number): { alarm: boolean } };
const DETECTORS: Record<string, (f: Feature) => Det> = {
  ours: (f) => new BlockCusum({ ...T.detector, relFloor: T.floors[f].rel, absFloor: T.floors[f].abs }),
  "textbook CUSUM h=5": () => new TextbookCusum(5, 0.5),
  "Page–Hinkley": () => new PageHinkley(),
};
const REGIMES: Record<string, Partial<TraceOptions>> = {
  "typical (2% stalls, 0.5% jitter)": {},
  "busy (10% stalls, 3% jitter)": { stalls: 0.1, jitter: 0.03 },
  "harsh (25% stalls, 5% jitter)": { stalls: 0.25, jitter: 0.05 },
};
const FEATURE_LIST: Feature[] = ["hashrate", "temperature", "latency", "load", "reject_ratio", "hashes_per_joule", "thread_balance"];

/** The feature series the scorer derives from a trace (reject ratio over 60 s, hashes per joule over 10 s). */
function* features(rows: Iterable<TraceRow>): Generator<Record<Feature, number | null>> {
  const past: TraceRow[] = [];
  for (const r of rows) {
    past.push(r);
    if (past.length > 61) past.shift();
    const p60 = past[0]!;
    const p10 = past[Math.max(0, past.length - 11)]!;
    const a = r.accepted - p60.accepted;
    const j = r.rejected - p60.rejected;
    const dE = r.energyJ - p10.energyJ;
    yield {
      hashrate: r.hashrate,
      temperature: r.tempC,
      latency: r.latencyMs,
      load: r.load,
      reject_ratio: a + j > 0 ? j / (a + j) : null,
      hashes_per_joule: dE > 0 ? (r.hashes - p10.hashes) / dE : null,
      thread_balance: threadBalance(r.perThread)?.value ?? null,
    };
  }
}

function falseAlarms(regime: Partial<TraceOptions>, make: (f: Feature) => Det): Record<Feature, number> {
  const dets = Object.fromEntries(FEATURE_LIST.map((f) => [f, make(f)])) as Record<Feature, Det>;
  const count = Object.fromEntries(FEATURE_LIST.map((f) => [f, 0])) as Record<Feature, number>;
  let i = 0;
  for (const x of features(trace({ seed: 7, ...regime }))) {
    for (const f of FEATURE_LIST) {
      const v = x[f];
      if (v !== null && dets[f].push(v).alarm) count[f]++;
    }
    if (++i >= DAYS * 86_400) break;
  }
  for (const f of FEATURE_LIST) count[f] /= DAYS;
  return count;
}

/** An injected event: the whole rig 10% slower, or one thread's CPU shared (that thread at half speed). */
type Event = (at: number) => Partial<TraceOptions>;
const DROP_10: Event = (at) => ({ step: { at, factor: 0.9 } });
const ONE_THREAD_HALF: Event = (at) => ({ threadStep: { at, thread: 1, factor: 0.5 } });

/** Detection of an event by one feature's detector over DROPS traces: delay p50/p95, misses, F1. */
function drops(regime: Partial<TraceOptions>, make: (f: Feature) => Det, event: Event = DROP_10, feature: "hashrate" | "thread_balance" = "hashrate") {
  const delays: number[] = [];
  let tp = 0, tpLenient = 0, fp = 0, fpLenient = 0;
  for (let k = 0; k < DROPS; k++) {
    const at = 600 + ((k * 37) % 300);
    const d = make(feature);
    let i = 0;
    let hit = false, hitLenient = false, first = -1;
    for (const r of trace({ seed: 1000 + k, ...regime, ...event(at) })) {
      const v = feature === "hashrate" ? r.hashrate : (threadBalance(r.perThread)?.value ?? 1);
      if (d.push(v).alarm) {
        if (i >= at && first < 0) first = i - at;
        // F1 with a 5-sample margin around the change; and around the allowed delay (the p95 bar, 45 s).
        if (!hit && i >= at - MARGIN && i <= at + MARGIN) hit = true;
        else fp++;
        if (!hitLenient && i >= at - MARGIN && i <= at + 45 + MARGIN) hitLenient = true;
        else fpLenient++;
      }
      if (++i > at + 300) break;
    }
    if (first >= 0) delays.push(first);
    if (hit) tp++;
    if (hitLenient) tpLenient++;
  }
  delays.sort((a, b) => a - b);
  const q = (p: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(delays.length * p))]! : NaN);
  const f1 = (t: number, f: number) => (t === 0 ? 0 : (2 * t) / (2 * t + f + (DROPS - t)));
  return { p50: q(0.5), p95: q(0.95), missed: DROPS - delays.length, f1: f1(tp, fp), f1Lenient: f1(tpLenient, fpLenient) };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`telemetry study: ${DAYS} simulated days of change-free 1 Hz samples per regime; ${DROPS} traces with a 10% hashrate drop`);
for (const [rname, regime] of Object.entries(REGIMES)) {
  console.log(`\n## ${rname}`);
  console.log(`${"detector".padEnd(20)} ${FEATURE_LIST.map((f) => pad(f, 8)).join(" ")}  │ drop p50 p95 missed  F1±5  F1≤45s  │ 1 thread at 50%: balance p50 p95 missed, hashrate p50 p95 missed`);
  for (const [dname, make] of Object.entries(DETECTORS)) {
    const fa = falseAlarms(regime, make);
    const d = drops(regime, make);
    const tb = drops(regime, make, ONE_THREAD_HALF, "thread_balance");
    const th = drops(regime, make, ONE_THREAD_HALF, "hashrate");
    console.log(
      `${dname.padEnd(20)} ${FEATURE_LIST.map((f) => pad(fa[f].toFixed(2), Math.max(8, f.length))).join(" ")}  │ ${pad(d.p50, 8)} ${pad(d.p95, 3)} ${pad(d.missed, 6)} ${pad(d.f1.toFixed(2), 5)} ${pad(d.f1Lenient.toFixed(2), 7)}  │ ${pad(tb.p50, 20)} ${pad(tb.p95, 3)} ${pad(tb.missed, 6)} ${pad(th.p50, 13)} ${pad(th.p95, 3)} ${pad(th.missed, 6)}`,
    );
  }
}
console.log("(false alarms per 24 h per feature; delays in seconds after the drop, first alarm at or after it)");

// The scorer's cost: Telemetry.push on realistic samples, after an hour of warm-up (a full ring).
function sample(r: TraceRow, t0: number): Sample {
  return {
    t: t0 + r.t * 1000, hashrate: r.hashrate, perThread: r.perThread, hashes: r.hashes,
    accepted: r.accepted, rejected: r.rejected, stale: 0, rejectedBy: {}, latencyMs: r.latencyMs, tempC: r.tempC, energyJ: r.energyJ,
    load: r.load, threads: 4, batch: 1024, paused: false, thermal: "ok", power: "ok",
  };
}
const rows: Sample[] = [];
for (const r of trace({ seed: 99 })) if (rows.push(sample(r, 1.7e12)) >= 3600 + 100_000) break;
let clock = 0;
const tel = new Telemetry({ thresholds: T, now: () => clock });
for (let i = 0; i < 3600; i++) tel.push(rows[i]!), (clock = rows[i]!.t);
const start = Bun.nanoseconds();
for (let i = 3600; i < rows.length; i++) tel.push(rows[i]!), (clock = rows[i]!.t);
const us = (Bun.nanoseconds() - start) / 1000 / (rows.length - 3600);
console.log(`\nscorer cost: ${us.toFixed(1)} µs per sample → ${(us / 1e4).toFixed(4)}% of one core at 1 Hz, ${((us * 5) / 1e4).toFixed(4)}% at the 5 Hz burst`);

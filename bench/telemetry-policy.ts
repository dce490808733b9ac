// A/B/A runs of the telemetry auto-act policy (issue 17, study harness): a simulated rig on a simulated clock drives
// the real Telemetry scorer (DEFAULT_THRESHOLDS) and the real TelemetryActor (--telemetry-act, its default windows,
// budget, cool-down and lease). Each scenario is a seeded timeline run three times back to back: A = advise only,
// B = the actor on, A again. The noise seeds are the same in all three; a slow drift of the rig (−0.5% per run, a room
// warming up) runs across them, so B − A1 is biased by it and B − (A1 + A2)/2 is not. Prints a table (medians over
// seeds); asserts nothing.
//   bun bench/telemetry-policy.ts [seeds=5] [hours=3] [--log] [--only=NAME]   (--log: the actions of the B runs;
//   --only: the scenarios whose name contains NAME)
//
// The rig: 4 CPUs, 4 mining threads pinned to CPUs 0..3 (the last one retired first), 250 kH/s per thread on a whole
// CPU, batches of 4 units of 2,500 nonces (40 ms) and 0.1 ms per kernel call. Hashrate as the sampler reads it: a 5 s
// window over a counter that moves by whole batches, with the trace generator's noise (scheduler stalls, jitter, a
// slow wander). A CPU-bound competitor of c processes shares the CPUs in one of three ways:
//   fair      every runnable task gets min(1, CPUs / (our threads + c)) of a CPU (an ideal global scheduler);
//   balanced  our threads stay pinned; each competitor process runs on the least busy CPU (the kernel's balancer),
//             and tasks on one CPU split it evenly (the most realistic for rignode's pinned threads);
//   pinned    the competitor is pinned to CPUs 0..c−1 (like the integration test's `taskset yes`).
// With sensors: package power 12 W + 11 W per busy CPU (ours and the competitor's), read as a RAPL energy counter;
// temperature 25 °C + R·P with a 90 s lag, R = 0.6 °C/W (1.25 while a fan has failed), read in 0.125 °C steps; at
// 95 °C (the limit) the package throttles itself to 75% clock (PROCHOT), so it hovers there without a policy.
// Without the energy counter (energy: false) only the temperature is read.
// The governors are off (thermal and power "unavailable"), so the actor is the only thing steering; no RAPL actuator
// (power_limit advisories are not raised with power "unavailable"). Samples are 1 Hz (the node's 5 Hz bursts are not
// simulated; the actor's windows are in time, so they see 1 Hz samples).
import { createLogger } from "../src/core";
import type { MiningEngine } from "../src/miner";
import type { Rig } from "../src/node/rig";
import { TelemetryActor } from "../src/node/telemetry-act";
import { AdviceEpisodes, DEFAULT_THRESHOLDS, Telemetry, type ActionRecord, type Sample } from "../src/telemetry";
import { gauss, rng } from "./telemetry-traces";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const SEEDS = Number(args[0] ?? 5);
const HOURS = Number(args[1] ?? 3);
const LOG = process.argv.includes("--log");
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice(7) ?? "";
const L = Math.round(HOURS * 3600);
const N = 4, T0 = 4, R = 250_000, UNIT = 2_500, BATCH0 = 4, CALL_MS = 0.1, DRIFT = -0.005;

type Share = "fair" | "balanced" | "pinned";
interface Scenario { name: string; what: string; competitor?: Share; sensors?: boolean; energy?: boolean; fan?: boolean; stalls: number; jitter: number }
const SCENARIOS: Scenario[] = [
  { name: "competitor, fair share", what: "1 CPU-bound process for 63–81 min, later 2 for 18 min; ideal global sharing", competitor: "fair", stalls: 0.02, jitter: 0.005 },
  { name: "competitor, balanced", what: "the same timeline; our threads pinned, the competitor on the least busy CPU", competitor: "balanced", stalls: 0.02, jitter: 0.005 },
  { name: "competitor, pinned to CPU 0(,1)", what: "the same timeline; the competitor pinned where our first threads are", competitor: "pinned", stalls: 0.02, jitter: 0.005 },
  { name: "competitor, balanced, with RAPL", what: "the balanced timeline with energy and temperature read (threads judged on H/J)", competitor: "balanced", sensors: true, energy: true, stalls: 0.02, jitter: 0.005 },
  { name: "quiet, typical noise", what: "nothing happens (2% stalls, 0.5% jitter)", stalls: 0.02, jitter: 0.005 },
  { name: "quiet, harsh noise", what: "nothing happens (25% stalls, 5% jitter)", stalls: 0.25, jitter: 0.05 },
  { name: "thermal, with RAPL", what: "a fan fails at 36–45 min, repaired at 70% of the run: 95 °C at 4 threads, throttling", sensors: true, energy: true, fan: true, stalls: 0.02, jitter: 0.005 },
  { name: "thermal, temperature only", what: "the same fan failure; no energy counter (pause judged on headroom, resume on hashrate)", sensors: true, fan: true, stalls: 0.02, jitter: 0.005 },
];

/** The seeded timeline: competitor episodes and the fan failure, as seconds into the run. */
function events(seed: number) {
  const r = rng(seed * 101 + 17);
  const a = Math.round(L * (0.15 + 0.05 * r())), d = Math.round(L * (0.35 + 0.1 * r()));
  return {
    comp: [{ from: a, to: a + d, c: 1 }, { from: Math.round(L * 0.8), to: Math.round(L * 0.9), c: 2 }],
    fan: { from: Math.round(L * (0.2 + 0.05 * r())), to: Math.round(L * 0.7) },
  };
}

/** CPU fraction of each of our T threads and the competitor's total, under the scenario's sharing. */
function cpuShares(model: Share, T: number, c: number): { ours: number[]; theirs: number } {
  if (c === 0) return { ours: new Array(T).fill(1), theirs: 0 };
  if (model === "fair") {
    const sh = T + c > N ? N / (T + c) : 1;
    return { ours: new Array(T).fill(sh), theirs: c * sh };
  }
  const tasks = new Array<number>(N).fill(0);
  for (let i = 0; i < T; i++) tasks[i % N]!++;
  const at: number[] = [];
  for (let j = 0; j < c; j++) {
    let k = j % N;
    // The least busy CPU, the highest on a tie (the placer fills CPUs from 0).
    if (model === "balanced") for (let q = N - 1; q >= 0; q--) if (q === N - 1 || tasks[q]! < tasks[k]!) k = q;
    tasks[k]!++;
    at.push(k);
  }
  return { ours: Array.from({ length: T }, (_, i) => 1 / tasks[i % N]!), theirs: at.reduce((s, k) => s + 1 / tasks[k]!, 0) };
}

/** The engine and the rig's controller as the actor sees them: the wish is applied over the configured start. */
class SimRig {
  threads = T0;
  batch = BATCH0 * UNIT;
  holders = new Map<string, string>();
  stats() { return { threads: this.threads, batch: this.batch, state: this.holders.size ? "paused" : "running" }; }
  async setThreads(n: number) { this.threads = Math.max(1, n); }
  setBatch(n: number) { this.batch = Math.max(UNIT, n); }
  hold(h: string, why = "") { this.holders.set(h, why); }
  release(h: string) { this.holders.delete(h); }
  heldBy() { return Object.fromEntries(this.holders); }
  view() { return { tuner: null }; }
  async steer(w: { threads?: number; batch?: number }) {
    const want = { threads: T0, batch: BATCH0, ...w };
    if (want.threads !== this.threads) await this.setThreads(want.threads);
    if (want.batch * UNIT !== this.batch) this.setBatch(want.batch * UNIT);
  }
}

const OUTCOMES = ["kept", "rolled_back", "restored", "skipped", "superseded", "failed"] as const;
interface Result {
  hs: number; ours: number | null; theirs: number | null; adv: number; keys: number; out: Record<string, number>;
  toAdv: number | null; toAct: number | null; hotMin: number | null; hpj: number | null; log: string[];
}
const quiet = createLogger({ json: true, level: "error", write: () => {} });
const flush = () => new Promise<void>((r) => setImmediate(r));
const mmss = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

/** One run of a scenario: k = 0, 1, 2 is its place in the A/B/A sequence (the drift), act = the actor on. */
async function run(sc: Scenario, seed: number, k: number, act: boolean): Promise<Result> {
  const ev = events(seed);
  const onset = sc.competitor ? ev.comp[0]!.from : sc.fan ? ev.fan.from : null;
  const rig = new SimRig();
  const t0 = 1.8e12 + k * L * 1000;
  let now = t0;
  const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS, now: () => now });
  const recs = new Map<number, ActionRecord>();
  let firstAct: number | null = null;
  const record = tel.recordAction.bind(tel);
  tel.recordAction = (a) => {
    recs.set(a.id, { ...a });
    const s = (a.at - t0) / 1000;
    if (a.outcome === "pending" && onset !== null && s >= onset && firstAct === null) firstAct = s - onset;
    record(a);
  };
  const actor = act ? new TelemetryActor({ engine: rig as unknown as MiningEngine, rig: rig as unknown as Pick<Rig, "view" | "steer">, telemetry: tel, audit: null, log: quiet, unitNonces: UNIT, now: () => now }) : null;
  const wr = rng(seed), lr = rng(seed * 31 + 7), sr = rng(seed * 53 + 3);
  const tr = Array.from({ length: 64 }, (_, i) => rng(seed * 7919 + i + 1));
  const partial = new Array<number>(64).fill(0);
  const counter: number[] = [];
  let counted = 0, total = 0, wander = 0, energy = 0, joules = 0, power = 12 + 11 * N, temp = 25 + 0.6 * power, load = T0 / N;
  let compS = 0, oursCpu = 0, theirsCpu = 0, hot = 0, adv = 0, toAdv: number | null = null;
  let standing = new Set<string>();
  let logged = 0;
  const episodes = new AdviceEpisodes();
  for (let s = -10; s < L; s++) {
    now = t0 + s * 1000;
    const c = sc.competitor ? (ev.comp.find((e) => s >= e.from && s < e.to)?.c ?? 0) : 0;
    const T = rig.holders.size ? 0 : rig.threads;
    const cpu = cpuShares(sc.competitor ?? "fair", T, c);
    wander = wander * (1 - 1 / 1800) + gauss(wr) * 0.01 * Math.sqrt(2 / 1800);
    const drift = 1 + (DRIFT * (k * L + s)) / L;
    const thr = temp >= DEFAULT_THRESHOLDS.thermal.limitC ? 0.75 : 1;
    const bms = (rig.batch / R) * 1000;
    const eff = bms / (bms + CALL_MS);
    // Every thread slot draws its noise each second, running or not: the same numbers in A and B (common random numbers).
    for (let i = 0; i < Math.max(T0, rig.threads); i++) {
      const r = tr[i]!;
      const stall = r() < sc.stalls ? 0.05 + r() * 0.35 : 0;
      const noise = (1 - stall) * (1 + gauss(r) * sc.jitter);
      if (i >= T) { partial[i] = 0; continue; }
      const h = R * cpu.ours[i]! * thr * eff * drift * (1 + wander) * noise;
      partial[i]! += h;
      const n = Math.floor(partial[i]! / rig.batch);
      counted += n * rig.batch;
      partial[i]! -= n * rig.batch;
      total += s >= 0 ? h : 0;
    }
    counter.push(counted);
    if (counter.length > 6) counter.shift();
    const back = Math.min(5, counter.length - 1);
    const hashrate = back > 0 ? (counted - counter[counter.length - 1 - back]!) / back : 0;
    const busy = Math.min(N, cpu.ours.reduce((a, b) => a + b, 0) * thr + cpu.theirs);
    power = (12 + 11 * busy) * (1 + gauss(sr) * 0.01);
    energy += power;
    if (s >= 0) joules += power;
    const rth = sc.fan && s >= ev.fan.from && s < ev.fan.to ? 1.25 : 0.6;
    temp += (25 + rth * power - temp) * (1 - Math.exp(-1 / 90));
    const tempC = Math.round((temp + gauss(sr) * 0.2) * 8) / 8;
    let runnable = T + c;
    for (let q = Math.exp(-0.3), u = lr(); u > q; u *= lr()) runnable++;
    load += (runnable / N - load) * (1 - Math.exp(-1 / 60));
    if (s < 0) continue;
    if (c > 0) compS++, (oursCpu += cpu.ours.reduce((a, b) => a + b, 0)), (theirsCpu += cpu.theirs);
    if (sc.sensors && tempC >= DEFAULT_THRESHOLDS.thermal.limitC - DEFAULT_THRESHOLDS.thermal.criticalHeadroomC) hot++;
    const sample: Sample = {
      t: now, hashrate, perThread: new Array(rig.threads).fill(hashrate / rig.threads), hashes: counted,
      accepted: null, rejected: null, stale: null, rejectedBy: {}, latencyMs: null,
      tempC: sc.sensors ? tempC : null, energyJ: sc.energy ? energy : null, load,
      threads: rig.threads, batch: Math.round(rig.batch / UNIT), paused: rig.holders.size > 0, pausedBy: [...rig.holders.keys()], thermal: "unavailable", power: "unavailable",
    };
    const scored = tel.push(sample);
    // An advisory counts once when its kind and target appear (the scorer renews a standing one every second).
    // The node logs and audits each advisory once per episode (src/node/telemetry.ts): count those too.
    logged += episodes.fresh(tel.advice()).length;
    const keys = new Set(tel.advice().map((a) => `${a.kind}:${a.target}`));
    for (const key of keys) if (!standing.has(key)) {
      adv++;
      if (onset !== null && s >= onset && toAdv === null) toAdv = s - onset;
    }
    standing = keys;
    if (actor) {
      actor.step(scored);
      await flush();
    }
  }
  await actor?.stop();
  const out = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<string, number>;
  for (const r of recs.values()) out[r.outcome] = (out[r.outcome] ?? 0) + 1;
  // The action log, a run of the same record (the cooling advice each second) shown once with its count.
  const log: string[] = [];
  let prev = "", times = 0;
  for (const r of recs.values()) {
    const age = (r.at - r.advisory.at) / 1000;
    const what = `${r.advisory.kind} ${r.from}→${r.to} ${r.outcome}${r.note ? `: ${r.note.replace(/; until .*/, "")}` : ""}${age > 1 ? ` (advised ${age} s before)` : ""}`;
    if (what === prev && r.outcome === "failed") {
      log[log.length - 1] = log[log.length - 1]!.replace(/( ×\d+)?$/, ` ×${++times}`);
      continue;
    }
    prev = what;
    times = 1;
    log.push(`${mmss((r.at - t0) / 1000).padStart(6)} ${what}`);
  }
  return {
    hs: total / L, ours: compS ? oursCpu / compS : null, theirs: compS ? theirsCpu / compS : null, adv, keys: logged, out,
    toAdv, toAct: firstAct, hotMin: sc.sensors ? hot / 60 : null, hpj: sc.energy ? total / joules : null, log,
  };
}

const median = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const f = (x: number | null, d = 0, w = 7) => (x === null ? "-" : x.toFixed(d)).padStart(w);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)}%`;

console.log(`telemetry policy A/B/A: ${SEEDS} seeds × ${HOURS} h at 1 Hz per run; ${N} CPUs, ${T0} threads × ${R / 1000} kH/s; real Telemetry (default thresholds) and TelemetryActor (defaults)`);
console.log(`A = advise only, B = actor on, A again; the same seeds, a drift of ${DRIFT * 100}% per run across the three; medians over seeds`);
const started = performance.now();
for (const sc of SCENARIOS.filter((x) => x.name.includes(ONLY))) {
  const runs: Result[][] = [[], [], []];
  for (let seed = 1; seed <= SEEDS; seed++) for (let k = 0; k < 3; k++) runs[k]!.push(await run(sc, seed, k, k === 1));
  console.log(`\n## ${sc.name}: ${sc.what}`);
  console.log(`run      H/s  ours CPU  theirs  advis  a.keys  kept  rolled  restored  skipped  supers  failed  →adv s  →act s  hot min   kH/J`);
  for (let k = 0; k < 3; k++) {
    const rs = runs[k]!;
    const m = (g: (r: Result) => number | null, d = 0, w = 7) => f(median(rs.map(g)), d, w);
    console.log(
      `${["A1", "B ", "A2"][k]} ${m((r) => r.hs / 1000, 1, 8)}k ${m((r) => r.ours, 2, 8)} ${m((r) => r.theirs, 2, 7)} ${m((r) => r.adv, 0, 6)} ${m((r) => r.keys, 0, 7)}` +
        ` ${m((r) => r.out.kept!, 0, 5)} ${m((r) => r.out.rolled_back!, 0, 7)} ${m((r) => r.out.restored!, 0, 9)} ${m((r) => r.out.skipped!, 0, 8)}` +
        ` ${m((r) => r.out.superseded!, 0, 7)} ${m((r) => r.out.failed!, 0, 7)} ${m((r) => r.toAdv, 0, 7)} ${m((r) => r.toAct, 0, 7)} ${m((r) => r.hotMin, 1, 8)} ${m((r) => (r.hpj === null ? null : r.hpj / 1000), 2, 6)}`,
    );
  }
  const eff = runs[1]!.map((b, i) => b.hs / ((runs[0]![i]!.hs + runs[2]![i]!.hs) / 2) - 1);
  const naive = runs[1]!.map((b, i) => b.hs / runs[0]![i]!.hs - 1);
  const sorted = [...eff].sort((a, b) => a - b);
  console.log(`policy effect on our hashrate: B/mean(A1,A2) − 1 = ${pct(median(eff)!)} (seeds ${pct(sorted[0]!)} … ${pct(sorted.at(-1)!)}); naive B/A1 − 1 = ${pct(median(naive)!)}`);
  if (sc.energy) {
    const e = runs[1]!.map((b, i) => b.hpj! / ((runs[0]![i]!.hpj! + runs[2]![i]!.hpj!) / 2) - 1);
    console.log(`policy effect on hashes per joule: ${pct(median(e)!)}`);
  }
  if (LOG) runs[1]!.forEach((r, i) => r.log.forEach((line) => console.log(`  seed ${i + 1} B ${line}`)));
}
console.log(`\n(advis: advisories raised (a kind appearing); a.keys: distinct advisories as the node logs and audits them; kept … failed: action records by outcome; →adv/→act: seconds from the competitor's arrival or the fan failure`);
console.log(` to the first advisory / first change made; ours/theirs CPU: CPUs used while a competitor runs; hot min: minutes within 3 °C of the limit)`);
console.log(`ran in ${((performance.now() - started) / 1000).toFixed(1)} s`);

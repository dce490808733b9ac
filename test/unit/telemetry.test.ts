// The scorer end to end on constructed 1 Hz samples (injected clock): quiet when steady, a 30% hashrate drop flagged
// and advised, a settings change not flagged, KPIs from counter deltas, thermal pause and resume, history, actions,
// advisory expiry and the Prometheus families.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core";
import { DEFAULT_THRESHOLDS, Telemetry, type ActionRecord, type Sample } from "../../src/telemetry";

const T0 = 1_800_000_000_000;

function rig(o: { capacity?: number } = {}) {
  const clock = { ms: T0 };
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS, thresholdsPath: "/etc/t.json", now: () => clock.ms, log, ...o });
  let s = 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  let hashes = 0, energy = 0, accepted = 0, rejected = 0;
  /** One second: the rig at `rate` H/s (±0.5%), with the given overrides. */
  const step = (rate: number, x: Partial<Sample> = {}, rejectEvery = 0) => {
    clock.ms += 1000;
    hashes += rate;
    energy += 50;
    accepted += 1;
    if (rejectEvery && (clock.ms / 1000) % rejectEvery === 0) rejected++;
    return tel.push({
      t: clock.ms, hashrate: rate * (1 + 0.005 * rnd()), perThread: [], hashes, accepted, rejected, stale: 0, rejectedBy: {},
      latencyMs: 40, tempC: 60, energyJ: energy, load: 0.5, threads: 4, batch: 1024, paused: false, thermal: "ok", power: "ok", ...x,
    });
  };
  return { tel, clock, step, lines };
}

describe("telemetry scorer", () => {
  test("a steady rig for 30 minutes: score 1, class none, no alarm, no advisory, 1 Hz", () => {
    const { tel, step } = rig();
    let last;
    for (let i = 0; i < 1800; i++) last = step(1e6);
    expect(last!.class).toBe("none");
    expect(last!.score).toBe(1);
    expect(last!.hazard).toBe(0);
    expect(Object.values(last!.features).some((f) => f.alarm)).toBe(false);
    expect(tel.advice()).toEqual([]);
    expect(tel.suspected()).toBe(false);
    expect(tel.view().rateHz).toBe(1);
  });

  test("a 30% hashrate drop with settings unchanged: alarm within 30 s, class major, a threads −1 advisory, logged and counted", () => {
    const { tel, step, lines } = rig();
    for (let i = 0; i < 600; i++) step(1e6);
    let alarmAt = -1, suspected = false, last;
    for (let i = 0; i < 60; i++) {
      last = step(0.7e6, { load: 1.5 }); // a competitor: more runnable tasks than CPUs
      suspected ||= tel.suspected();
      if (last.features.hashrate.alarm && alarmAt < 0) alarmAt = i;
    }
    expect(alarmAt).toBeGreaterThanOrEqual(0);
    expect(alarmAt).toBeLessThan(30);
    expect(suspected).toBe(true);
    expect(last!.class).toBe("major");
    expect(last!.reasons[0]).toMatch(/hashrate fell (2\d|3\d)\.\d%/);
    const adv = tel.advice();
    expect(adv).toHaveLength(1);
    expect(adv[0]).toMatchObject({ kind: "threads", target: "miner", delta: -1, ttl: DEFAULT_THRESHOLDS.advice.ttlSec });
    expect(adv[0]!.reason).toContain("competes for the CPUs");
    const calm = rig(); // the same drop with the load unchanged: the clock slowed, no competitor to name
    for (let i = 0; i < 600; i++) calm.step(1e6);
    for (let i = 0; i < 60; i++) calm.step(0.7e6);
    expect(calm.tel.advice()[0]!.reason).toContain("no other process shows in the load");
    expect(lines.filter((l) => l.event === "telemetry.alarm" && l.feature === "hashrate")).toHaveLength(1);
    expect(lines.filter((l) => l.event === "telemetry.advice")).toHaveLength(1);
    const fam = tel.metrics().find((f) => f.name === "rignode_telemetry_alarms_total")!;
    expect(fam.samples.find((s) => s.labels!.feature === "hashrate")!.value).toBe(1);
    expect(tel.metrics().find((f) => f.name === "rignode_telemetry_class")!.samples.find((s) => s.value === 1)!.labels!.class).toBe("major");
  });

  test("per-thread: one thread whose CPU is shared (half speed) alarms thread_balance, and the advisory names that thread", () => {
    const { tel, step } = rig();
    const even = (rate: number) => [rate / 4, rate / 4, rate / 4, rate / 4];
    for (let i = 0; i < 600; i++) step(1e6, { perThread: even(1e6) });
    let alarmAt = -1, last;
    for (let i = 0; i < 60; i++) {
      // Thread 2 at half its rate: the whole rig −12.5%, that thread at 57% of the threads' mean.
      last = step(0.875e6, { perThread: [0.25e6, 0.25e6, 0.125e6, 0.25e6] });
      if (last.features.thread_balance.alarm && alarmAt < 0) alarmAt = i;
    }
    expect(alarmAt).toBeGreaterThanOrEqual(0);
    expect(alarmAt).toBeLessThan(30);
    expect(last!.features.thread_balance.value).toBeCloseTo(0.125 / 0.21875, 6);
    expect(last!.reasons).toContain("change-point in thread_balance");
    const adv = tel.advice().find((a) => a.kind === "threads")!;
    expect(adv.reason).toContain("thread 2 runs at 57% of the threads' mean");
  });

  test("per-thread: an even rig never alarms thread_balance; one thread or none hashing has no balance", () => {
    const { step } = rig();
    let alarms = 0;
    for (let i = 0; i < 1800; i++) alarms += +step(1e6, { perThread: [0.25e6, 0.25e6, 0.25e6, 0.25e6].map((x, j) => x * (1 + 0.01 * Math.sin(i * 7 + j))) }).features.thread_balance.alarm;
    expect(alarms).toBe(0);
    expect(step(1e6, { perThread: [1e6] }).features.thread_balance.value).toBeNull();
    expect(step(0, { perThread: [0, 0] }).features.thread_balance.value).toBeNull();
  });

  test("the same drop caused by a thread count change is not a change-point", () => {
    const { tel, step } = rig();
    for (let i = 0; i < 600; i++) step(1e6);
    let alarms = 0;
    for (let i = 0; i < 300; i++) alarms += +step(0.75e6, { threads: 3 }).features.hashrate.alarm;
    expect(alarms).toBe(0);
    expect(tel.advice()).toEqual([]);
  });

  test("KPIs from counter deltas: hashes per joule over 10 s, reject ratio over 60 s, headroom, latency budget", () => {
    const { step } = rig();
    let s;
    for (let i = 0; i < 120; i++) s = step(1e6, { latencyMs: 500 }, 10);
    expect(s!.kpis.hashesPerJoule).toBeCloseTo(1e6 / 50);
    expect(s!.kpis.rejectRatio).toBeCloseTo(6 / 66, 2);
    expect(s!.kpis.thermalHeadroomC).toBe(35);
    expect(s!.kpis.latencyBudget).toBeCloseTo(0.75);
    const none = step(1e6, { tempC: null, latencyMs: null, energyJ: null });
    expect(none.kpis).toMatchObject({ hashesPerJoule: null, thermalHeadroomC: null, latencyBudget: null });
    expect(none.features.temperature).toMatchObject({ value: null, bits: null, stability: null });
  });

  test("a package near its limit: critical, pause advised; once paused and cool, resume advised", () => {
    const { tel, step } = rig();
    for (let i = 0; i < 30; i++) step(1e6);
    const hot = step(1e6, { tempC: 93 });
    expect(hot.class).toBe("critical");
    expect(tel.advice().map((a) => a.kind)).toContain("pause");
    for (let i = 0; i < 5; i++) step(0, { paused: true, tempC: 70 });
    expect(tel.advice().map((a) => a.kind)).toEqual(["resume"]); // the pause advisory is withdrawn
    const warm = rig();
    for (let i = 0; i < 30; i++) warm.step(1e6);
    warm.step(1e6, { tempC: 88 });
    expect(warm.tel.advice().map((a) => a.kind).sort()).toEqual(["cooling", "power_limit", "threads"]);
  });

  test("held by telemetry's actor (the sample says who holds the pause): resume advised once cool, whatever happened between", () => {
    const { tel, step } = rig();
    for (let i = 0; i < 30; i++) step(1e6);
    step(1e6, { tempC: 93 }); // pause advised
    step(1e6, { tempC: 80 }); // a dip before the actor carried it out: the scorer's own memory of its pause is gone
    for (let i = 0; i < 5; i++) step(0, { paused: true, pausedBy: ["telemetry"], tempC: 70 });
    expect(tel.advice().map((a) => a.kind)).toEqual(["resume"]);
    const op = rig();
    for (let i = 0; i < 30; i++) op.step(1e6);
    op.step(1e6, { tempC: 93 });
    for (let i = 0; i < 5; i++) op.step(0, { paused: true, pausedBy: ["operator"], tempC: 70 });
    expect(op.tel.advice().map((a) => a.kind)).not.toContain("resume"); // the operator's pause, not ours
    const blind = rig(); // our pause, and then the sensor is lost: not left paused for good
    for (let i = 0; i < 30; i++) blind.step(1e6);
    blind.step(1e6, { tempC: 93 });
    for (let i = 0; i < 3; i++) blind.step(0, { paused: true, pausedBy: ["telemetry"], tempC: null });
    expect(blind.tel.advice().find((a) => a.kind === "resume")!.reason).toContain("no longer readable");
  });

  test("an operator's pause is not ours to undo: no resume advised", () => {
    const { tel, step } = rig();
    for (let i = 0; i < 30; i++) step(1e6);
    for (let i = 0; i < 30; i++) step(0, { paused: true });
    expect(tel.advice()).toEqual([]);
  });

  test("a burst at 5 Hz while suspected: the detector still sees one sample a second (no alarm on steady 5 Hz input)", () => {
    const { tel, clock } = rig();
    let hashes = 0;
    let alarms = 0;
    for (let i = 0; i < 5 * 1800; i++) {
      clock.ms += 200;
      hashes += 2e5;
      const s = tel.push({ t: clock.ms, hashrate: 1e6 * (1 + 0.004 * Math.sin(i * 0.7)), perThread: [], hashes, accepted: null, rejected: null, stale: null, rejectedBy: {}, latencyMs: null, tempC: 60, energyJ: null, load: 0.5, threads: 4, batch: 1024, paused: false, thermal: "ok", power: "unavailable" });
      alarms += +s.features.hashrate.alarm;
    }
    expect(alarms).toBe(0);
    expect(tel.view().rateHz).toBe(1);
  });

  test("advisories expire after their ttl; history is oldest first and bounded by capacity", () => {
    const { tel, step, clock } = rig({ capacity: 50 });
    for (let i = 0; i < 30; i++) step(1e6);
    step(1e6, { tempC: 88 });
    expect(tel.advice().length).toBeGreaterThan(0);
    clock.ms += DEFAULT_THRESHOLDS.advice.ttlSec * 1000 + 1;
    expect(tel.advice()).toEqual([]);
    for (let i = 0; i < 60; i++) step(1e6);
    const h = tel.history();
    expect(h).toHaveLength(50);
    expect(h[0]!.t).toBeLessThan(h[49]!.t);
    expect(tel.history(3).map((x) => x.t)).toEqual(h.slice(-3).map((x) => x.t));
    expect(tel.history(0)).toEqual([]);
    expect(tel.view().last!.t).toBe(h[49]!.t);
  });

  test("actions: recorded, updated by id, the last 100 kept, counted by outcome", () => {
    const { tel } = rig();
    const adv = { kind: "threads" as const, target: "miner", delta: -1, reason: "r", ttl: 60, at: T0 };
    const rec = (id: number, outcome: ActionRecord["outcome"]): ActionRecord => ({ id, advisory: adv, from: 4, to: 3, at: T0, kpi: "hashrate", before: 1, after: null, outcome });
    tel.recordAction(rec(1, "pending"));
    tel.recordAction(rec(1, "kept"));
    expect(tel.view().actions).toEqual([rec(1, "kept")]);
    for (let i = 2; i <= 120; i++) tel.recordAction(rec(i, "rolled_back"));
    expect(tel.view().actions).toHaveLength(100);
    expect(tel.view().actions[0]!.id).toBe(21);
    const by = Object.fromEntries(tel.metrics().find((f) => f.name === "rignode_telemetry_actions_total")!.samples.map((s) => [s.labels!.outcome, s.value]));
    expect(by).toEqual({ pending: 1, kept: 1, rolled_back: 119, failed: 0, superseded: 0, skipped: 0, restored: 0 });
  });

  test("setThresholds: new numbers and path take effect", () => {
    const { tel, step } = rig();
    step(1e6);
    expect(tel.view().thresholdsPath).toBe("/etc/t.json");
    tel.setThresholds({ ...DEFAULT_THRESHOLDS, thermal: { ...DEFAULT_THRESHOLDS.thermal, limitC: 70 } }, "/etc/u.json");
    expect(step(1e6).kpis.thermalHeadroomC).toBe(10);
    expect(tel.view().thresholdsPath).toBe("/etc/u.json");
  });
});

// The steering loop on a simulated engine and clock: governors over the tuner, windows thrown away while
// constrained, the tuner settling on the model's best, the memory written per window, and a rollback.
import { describe, expect, test } from "bun:test";
import { PerfMemory, PowerGovernor, RigController, ThermalGovernor, DEFAULT_THERMAL, type Steerable, type TempReading, type PowerReading } from "../../src/tuning";

class FakeEngine implements Steerable {
  threads: number;
  batch: number;
  held = new Set<string>();
  hashes = 0;
  log: string[] = [];
  constructor(threads: number, batch: number) {
    this.threads = threads;
    this.batch = batch;
  }
  async setThreads(n: number, reason: string) {
    this.log.push(`threads ${this.threads}->${n} (${reason})`);
    this.threads = n;
  }
  setBatch(n: number, reason = "") {
    this.log.push(`batch ${this.batch}->${n} (${reason})`);
    this.batch = n;
  }
  hold(h: string) {
    this.held.add(h);
  }
  release(h: string) {
    this.held.delete(h);
  }
  totalHashes() {
    return this.hashes;
  }
  stats() {
    return { threads: this.threads, batch: this.batch, state: this.held.size ? "paused" : "running" };
  }
}

/** A seeded generator for the noise. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function rig(o: { temp?: () => TempReading; power?: () => PowerReading; tune?: boolean; rate?: (t: number, b: number) => number; start?: { threads: number; batch: number }; memory?: PerfMemory }) {
  let now = 0;
  const engine = new FakeEngine(o.start?.threads ?? 2, (o.start?.batch ?? 16) * 1000);
  const c = new RigController({
    engine,
    sensors: {
      temperature: o.temp ?? (() => ({ status: "unavailable", reason: "no sensor" })),
      power: o.power ?? (() => ({ status: "unknown", batteryPercent: null, batteryStatus: null, source: null })),
      energy: () => ({ status: "unavailable", reason: "no RAPL" }),
    },
    thermal: new ThermalGovernor({ ...DEFAULT_THERMAL, cooldownS: 120 }, { now: () => now }),
    power: new PowerGovernor({ enabled: true, batteryThreads: 2, batteryBatch: 4, pauseBelowPercent: 20 }),
    start: o.start ?? { threads: 2, batch: 16 },
    fixed: { threads: false, batch: false },
    maxThreads: 4,
    unitNonces: 1000,
    memory: o.memory ?? null,
    best: null,
    key: { cpu: "test cpu", profile: "balanced", algo: "sha256d" },
    layout: (t) => `node0:${t}`,
    tune: o.tune ? { minThreads: 1, maxThreads: 4, minBatch: 1, maxBatch: 32, windowS: 60, reevalS: 900 } : null,
    now: () => now,
  });
  const noise = rng(7);
  const rate = o.rate ?? ((t: number, b: number) => t * 1e6 * (b >= 8 ? 1 : 0.8));
  /** Runs the simulated rig for `seconds`: hashes accrue at the model's rate (±1% noise), sampling every 5 s, polling every 5 s. */
  async function run(seconds: number) {
    for (let s = 0; s < seconds; s += 5) {
      const r = engine.held.size ? 0 : rate(engine.threads, engine.batch / 1000) * (1 + (noise() - 0.5) * 0.02);
      engine.hashes += r * 5;
      now += 5000;
      c.sample();
      await c.poll();
    }
  }
  return { c, engine, run, advance: (ms: number) => (now += ms) };
}

describe("rig controller", () => {
  test("thermal: hot caps threads, critical holds the engine paused, the cooldown keeps it down, then it comes back", async () => {
    let celsius = 60;
    const { c, engine, run } = rig({ temp: () => ({ status: "ok", celsius, sensor: "test", frozen: false }), start: { threads: 4, batch: 16 } });
    await run(5);
    expect(engine.threads).toBe(4);
    celsius = 88;
    await run(5);
    expect(engine.threads).toBeLessThan(4);
    expect(engine.threads).toBeGreaterThanOrEqual(2);
    celsius = 95;
    await run(5);
    expect(engine.held.has("governor")).toBe(true);
    celsius = 60;
    await run(60); // within the 120 s cooldown
    expect(engine.held.has("governor")).toBe(true);
    await run(120);
    expect(engine.held.has("governor")).toBe(false);
    await run(180);
    expect(engine.threads).toBe(4);
    expect(c.view().thermal).toMatchObject({ enabled: true, state: "cool" });
  });

  test("battery: caps threads 2 and batch 4 units at the next poll; low charge pauses; mains restores", async () => {
    let p: PowerReading = { status: "ac", batteryPercent: 90, batteryStatus: "Charging", source: "BAT0" };
    const { engine, run } = rig({ power: () => p, start: { threads: 4, batch: 16 } });
    await run(5);
    expect([engine.threads, engine.batch]).toEqual([4, 16_000]);
    p = { status: "battery", batteryPercent: 80, batteryStatus: "Discharging", source: "BAT0" };
    await run(5);
    expect([engine.threads, engine.batch]).toEqual([2, 4_000]);
    p = { ...p, batteryPercent: 15 };
    await run(5);
    expect(engine.held.has("governor")).toBe(true);
    p = { status: "ac", batteryPercent: 16, batteryStatus: "Charging", source: "BAT0" };
    await run(5);
    expect(engine.held.has("governor")).toBe(false);
    expect([engine.threads, engine.batch]).toEqual([4, 16_000]);
  });

  test("steered threads and batch (telemetry's actor) hold over the polls, under the governors' caps, and {} gives the configuration back", async () => {
    let p: PowerReading = { status: "ac", batteryPercent: 90, batteryStatus: "Charging", source: "BAT0" };
    const { c, engine, run } = rig({ power: () => p, start: { threads: 4, batch: 16 } });
    await run(5);
    await c.steer({ threads: 3, batch: 8 });
    expect([engine.threads, engine.batch]).toEqual([3, 8_000]);
    await run(30); // six polls: the controller keeps the steered values instead of going back to its start
    expect([engine.threads, engine.batch]).toEqual([3, 8_000]);
    expect(c.view().steered).toEqual({ threads: 3, batch: 8 });
    p = { status: "battery", batteryPercent: 80, batteryStatus: "Discharging", source: "BAT0" };
    await run(5);
    expect([engine.threads, engine.batch]).toEqual([2, 4_000]); // the battery cap still has the last word
    p = { status: "ac", batteryPercent: 80, batteryStatus: "Charging", source: "BAT0" };
    await run(5);
    expect([engine.threads, engine.batch]).toEqual([3, 8_000]);
    await c.steer({});
    expect([engine.threads, engine.batch]).toEqual([4, 16_000]);
  });

  test("steering is refused while the auto-tuner runs: it owns threads and batch", async () => {
    const { c } = rig({ tune: true });
    await expect(c.steer({ threads: 1 })).rejects.toThrow("auto-tuner");
    expect(c.view().steered).toBeNull();
  });

  test("the tuner settles on the model's best, writes one memory record per window, and never measures while constrained", async () => {
    const memory = PerfMemory.open(":memory:");
    // Best: 3 threads (the 4th costs), batch >= 8.
    const rate = (t: number, b: number) => [0, 1, 1.9, 2.7, 2.5][t]! * 1e6 * (b >= 8 ? 1 : 0.9);
    let p: PowerReading = { status: "ac", batteryPercent: null, batteryStatus: null, source: "AC" };
    const { c, engine, run } = rig({ tune: true, rate, memory, power: () => p });
    await run(60 * 3);
    // A battery spell: the window in progress is dropped and no record is written while capped.
    const records = () => memory.list("test cpu").reduce((n, r) => n + r.samples, 0);
    const before = records();
    p = { status: "battery", batteryPercent: 80, batteryStatus: "Discharging", source: "BAT0" };
    await run(300);
    expect(c.view().tuner!.suspended).toBe(true);
    expect(records()).toBe(before);
    p = { status: "ac", batteryPercent: 80, batteryStatus: "Charging", source: "AC" };
    for (let i = 0; i < 80 && c.view().tuner!.phase !== "settled"; i++) await run(60);
    const v = c.view().tuner!;
    expect(v.phase).toBe("settled");
    expect(engine.threads).toBe(3);
    // The engine runs the winner, not the last candidate the search happened to measure.
    expect(v.candidate).toEqual(v.best!.candidate);
    expect({ threads: engine.threads, batch: engine.batch / 1000 }).toEqual(v.candidate);
    expect(engine.batch).toBeGreaterThanOrEqual(8_000);
    expect(records()).toBeGreaterThanOrEqual(v.evaluated);
    expect(memory.bestFor("test cpu", "balanced", "sha256d")!.threads).toBe(3);
  });

  test("when the start is already the best, the tuner goes back to it after its search (not the last candidate tried)", async () => {
    const rate = (t: number, b: number) => [0, 1, 1.9, 2.7, 2.5][t]! * 1e6 * (b >= 8 ? 1 : 0.9);
    const { c, engine, run } = rig({ tune: true, rate, start: { threads: 3, batch: 16 } });
    for (let i = 0; i < 80 && c.view().tuner!.phase !== "settled"; i++) await run(60);
    const v = c.view().tuner!;
    expect(v.phase).toBe("settled");
    expect(v.evaluated).toBeGreaterThan(1);
    expect(v.candidate).toEqual({ threads: 3, batch: 16 });
    expect([engine.threads, engine.batch]).toEqual([3, 16_000]);
  });

  test("a winner that measures worse in its confirmation window is rolled back to what it replaced", async () => {
    let confirming = false;
    // 3 threads look best during the search; in the confirmation window they fall well below the start (2 threads).
    const rate = (t: number, b: number) => (confirming && t === 3 ? 1.2 : [0, 1, 1.9, 2.7, 2.5][t]!) * 1e6 * (b >= 8 ? 1 : 0.9);
    const { c, engine, run } = rig({ tune: true, rate, start: { threads: 2, batch: 16 } });
    for (let i = 0; i < 400 && c.view().tuner!.phase !== "settled"; i++) {
      confirming = c.view().tuner!.phase === "confirming";
      await run(5);
    }
    const v = c.view().tuner!;
    expect(v.phase).toBe("settled");
    expect(v.rollbacks).toBe(1);
    expect(v.candidate).toEqual({ threads: 2, batch: 16 });
    expect([engine.threads, engine.batch]).toEqual([2, 16_000]);
  });
});

// Thermal governor: every band transition, hysteresis against a wobbling reading, the cooldown before ramping back
// (injected clock), the linear hot-band cap that only tightens, pause at critical, "unavailable" without a reading.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core";
import { DEFAULT_THERMAL, ThermalGovernor, type ThermalLimits } from "../../src/tuning/thermal";

function rig(limits: ThermalLimits = DEFAULT_THERMAL) {
  const clock = { ms: 1_000_000 };
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const gov = new ThermalGovernor(limits, { now: () => clock.ms, log });
  const at = (s: number) => (clock.ms = 1_000_000 + s * 1000);
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { gov, clock, at, lines, events };
}

describe("thermal governor", () => {
  test("escalates at once through cool → warm → hot → critical", () => {
    const { gov } = rig();
    expect(gov.update(50, 8)).toMatchObject({ state: "cool", threadCap: null, pause: false, changed: true });
    expect(gov.update(69.9, 8)).toMatchObject({ state: "cool", changed: false });
    expect(gov.update(70, 8)).toMatchObject({ state: "warm", threadCap: null, pause: false, changed: true });
    expect(gov.update(85, 8)).toMatchObject({ state: "hot", threadCap: 6, pause: false, changed: true });
    expect(gov.update(90, 8)).toMatchObject({ state: "critical", threadCap: null, pause: true, changed: true });
    expect(gov.state).toBe("critical");
    // a jump from cool straight to critical is one step
    const b = rig().gov;
    b.update(40, 8);
    expect(b.update(95, 8)).toMatchObject({ state: "critical", pause: true, changed: true });
  });

  test("hot band: threads reduced linearly up to maxReduction (seed: 128 threads)", () => {
    const cap = (t: number) => new ThermalGovernor(DEFAULT_THERMAL).update(t, 128).threadCap;
    expect(cap(80)).toBe(128);
    expect(cap(82)).toBe(115); // 128 × (1 − 0.5 × 0.2)
    expect(cap(85)).toBe(96);
    expect(cap(87)).toBe(83);
    expect(cap(89.9)).toBe(65);
    expect(new ThermalGovernor(DEFAULT_THERMAL).update(89, 1).threadCap).toBe(1); // never below one thread
  });

  test("the hot-band cap only tightens while hot", () => {
    const { gov, at } = rig();
    at(0);
    expect(gov.update(85, 8).threadCap).toBe(6);
    at(10);
    expect(gov.update(88, 8)).toMatchObject({ threadCap: 5, changed: true });
    at(20);
    expect(gov.update(82, 8)).toMatchObject({ state: "hot", threadCap: 5, changed: false });
    at(500);
    expect(gov.update(80.5, 8)).toMatchObject({ state: "hot", threadCap: 5, changed: false });
  });

  test("a reading wobbling around each limit does not flap (no change, no state event)", () => {
    for (const [enter, wobble, state] of [
      [71, [69.5, 70.4, 67.2, 70.9, 68.1, 69.99, 67.01, 71.5], "warm"],
      [81, [79.6, 80.3, 77.2, 80.9, 78.8, 79.99, 77.01, 80.4], "hot"],
      [90.5, [89.6, 90.3, 87.2, 91.0, 88.4, 89.99, 87.01, 90.2], "critical"],
    ] as const) {
      const { gov, at, events } = rig();
      at(0);
      gov.update(enter, 8);
      const before = events("thermal.state").length;
      // readings every 30 s for half an hour: far past the cooldown, never below limit − hysteresis
      for (let i = 0; i < 60; i++) {
        at(30 * (i + 1));
        const d = gov.update(wobble[i % wobble.length]!, 8);
        expect(d.changed).toBe(false);
        expect(d.state).toBe(state);
      }
      expect(events("thermal.state").length).toBe(before);
    }
  });

  test("warm → cool needs limit − hysteresis but no cooldown", () => {
    const { gov } = rig();
    gov.update(72, 8);
    expect(gov.update(67, 8).state).toBe("warm");
    expect(gov.update(66.9, 8)).toMatchObject({ state: "cool", changed: true });
  });

  test("hot → warm only after 120 s unbroken below hot − hysteresis; a warm-up restarts the wait", () => {
    const { gov, at, events } = rig();
    at(0);
    gov.update(85, 8);
    at(10);
    expect(gov.update(76, 8)).toMatchObject({ state: "hot", threadCap: 6, changed: false });
    expect(gov.cooldownRemainingS()).toBe(120);
    at(70);
    expect(gov.update(76, 8).state).toBe("hot");
    expect(gov.cooldownRemainingS()).toBe(60);
    at(80);
    expect(gov.update(78, 8).state).toBe("hot"); // back inside the hysteresis band: the wait starts again
    expect(gov.cooldownRemainingS()).toBe(0);
    at(90);
    gov.update(75, 8);
    at(209);
    expect(gov.update(75, 8).state).toBe("hot");
    at(210);
    expect(gov.update(75, 8)).toMatchObject({ state: "warm", threadCap: null, pause: false, changed: true });
    expect(events("thermal.cooldown_complete")).toHaveLength(1);
    expect(events("thermal.cooldown_complete")[0]).toMatchObject({ from: "hot", to: "warm", waited_s: 120 });
  });

  test("critical pauses; resumes only after the cooldown below critical − hysteresis, into the band of the reading", () => {
    const { gov, at, events } = rig();
    at(0);
    expect(gov.update(94, 8)).toMatchObject({ state: "critical", pause: true });
    expect(events("thermal.paused")).toHaveLength(1);
    at(300);
    expect(gov.update(88, 8)).toMatchObject({ state: "critical", pause: true, changed: false }); // 88 ≥ 87: held
    at(310);
    expect(gov.update(86, 8).pause).toBe(true);
    at(429);
    expect(gov.update(86, 8).pause).toBe(true);
    at(430);
    expect(gov.update(86, 8)).toMatchObject({ state: "hot", pause: false, threadCap: 6, changed: true });
    // and a deep cool-down goes straight to the band of the reading
    const b = rig();
    b.at(0);
    b.gov.update(92, 8);
    b.at(1);
    b.gov.update(60, 8);
    b.at(121);
    expect(b.gov.update(60, 8)).toMatchObject({ state: "cool", pause: false, threadCap: null });
  });

  test("no reading: 'unavailable', no cap, no pause, and it says so (even when it was critical)", () => {
    const { gov, events } = rig();
    const d = gov.update(null, 8);
    expect(d).toMatchObject({ state: "unavailable", threadCap: null, pause: false });
    expect(d.reason).toContain("no temperature reading");
    expect(d.reason).toContain("no cap");
    expect(gov.update(null, 8).changed).toBe(false);
    gov.update(95, 8);
    expect(gov.update(NaN, 8)).toMatchObject({ state: "unavailable", pause: false, changed: true });
    expect(events("thermal.unavailable")[0]).toMatchObject({ level: "warn", from: "critical" });
    expect(gov.update(75, 8)).toMatchObject({ state: "warm", changed: true });
  });

  test("limits are configurable", () => {
    const limits = { enabled: true, warm: 60, hot: 65, critical: 75, hysteresis: 5, cooldownS: 30, maxReduction: 0.25 };
    const { gov, at } = rig(limits);
    at(0);
    expect(gov.update(70, 8)).toMatchObject({ state: "hot", threadCap: 7 }); // 8 × (1 − 0.25 × 0.5)
    at(1);
    expect(gov.update(59, 8).state).toBe("hot");
    at(31);
    expect(gov.update(59, 8).state).toBe("warm"); // 59 ≥ 60 − 5
    expect(gov.update(54.9, 8).state).toBe("cool");
    expect(gov.update(75, 8).pause).toBe(true);
  });

  test("disabled: states are reported, nothing is capped or paused", () => {
    const gov = new ThermalGovernor({ ...DEFAULT_THERMAL, enabled: false });
    const d = gov.update(95, 8);
    expect(d).toMatchObject({ state: "critical", threadCap: null, pause: false });
    expect(d.reason).toContain("off");
  });

  test("bad limits are refused with the key named", () => {
    expect(() => new ThermalGovernor({ ...DEFAULT_THERMAL, hot: 70 })).toThrow(/warm 70 < hot 70/);
    expect(() => new ThermalGovernor({ ...DEFAULT_THERMAL, maxReduction: 1 })).toThrow(/maxReduction/);
    expect(() => new ThermalGovernor({ ...DEFAULT_THERMAL, hysteresis: -1 })).toThrow(/hysteresis/);
    expect(() => new ThermalGovernor({ ...DEFAULT_THERMAL, critical: NaN })).toThrow(/critical/);
  });

  test("the seed's log lines as events: throttle (threads from → to), paused, cooldown complete", () => {
    const { gov, at, events } = rig();
    at(0);
    gov.update(60, 128);
    gov.update(87, 128);
    expect(events("thermal.throttle")[0]).toMatchObject({ celsius: 87, threads_from: 128, threads_to: 83 });
    expect(events("thermal.state").at(-1)).toMatchObject({ level: "warn", from: "cool", to: "hot", thread_cap: 83 });
    gov.update(94, 128);
    expect(events("thermal.paused")[0]).toMatchObject({ celsius: 94 });
    at(10);
    gov.update(60, 128);
    at(130);
    gov.update(60, 128);
    expect(events("thermal.cooldown_complete")).toHaveLength(1);
    expect(events("thermal.state").at(-1)).toMatchObject({ from: "critical", to: "cool", pause: false });
  });
});

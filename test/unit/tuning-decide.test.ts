// decide(): the seed's flow thermal → power → history → hints → placement, each step on its own and in order.
import { describe, expect, test } from "bun:test";
import { decide, tuningBlockedBy, type DecideInput } from "../../src/tuning/decide";
import { DEFAULT_THERMAL, ThermalGovernor, type ThermalDecision } from "../../src/tuning/thermal";
import { DEFAULT_POWER, PowerGovernor, type PowerDecision } from "../../src/tuning/power";

const cool: ThermalDecision = { state: "cool", threadCap: null, pause: false, changed: false, reason: "" };
const ac: PowerDecision = { state: "ac", threadCap: null, batchCap: null, pause: false, changed: false, reason: "" };
const thermalAt = (c: number | null, base: number) => new ThermalGovernor(DEFAULT_THERMAL).update(c, base);
const powerOf = (status: "ac" | "battery" | "unknown", pct: number | null) => new PowerGovernor(DEFAULT_POWER).update({ status, batteryPercent: pct });
const base = (over: Partial<DecideInput> = {}): DecideInput => ({ wanted: { threads: 8, batch: 16 }, maxThreads: 8, thermal: cool, power: ac, ...over });

describe("decide", () => {
  test("nothing active: the operator's wanted values, no constraints, mining", () => {
    expect(decide(base())).toEqual({ threads: 8, batch: 16, constraints_applied: [], should_mine: true });
  });

  test("thermal: a hot cap limits threads and says so", () => {
    const d = decide(base({ thermal: thermalAt(87, 8) }));
    expect(d).toEqual({ threads: 5, batch: 16, constraints_applied: ["thermal:hot cap 5"], should_mine: true });
  });

  test("thermal unavailable: no cap and no constraint (nothing is invented)", () => {
    expect(decide(base({ thermal: thermalAt(null, 8) }))).toEqual({ threads: 8, batch: 16, constraints_applied: [], should_mine: true });
  });

  test("power: battery caps threads and batch", () => {
    expect(decide(base({ power: powerOf("battery", 47) }))).toEqual({ threads: 2, batch: 4, constraints_applied: ["power:battery cap 2/4"], should_mine: true });
    expect(decide(base({ power: powerOf("unknown", null) })).constraints_applied).toEqual([]);
  });

  test("history: the memory's best replaces wanted, and beats a hint", () => {
    expect(decide(base({ best: { threads: 6, batch: 24 } }))).toEqual({ threads: 6, batch: 24, constraints_applied: ["history:best 6/24"], should_mine: true });
    const d = decide(base({ best: { threads: 6, batch: 24 }, hint: { threads: 3, batch: 8 } }));
    expect([d.threads, d.batch, d.constraints_applied]).toEqual([6, 24, ["history:best 6/24"]]);
  });

  test("hints: another algorithm's best is used only without a best of our own", () => {
    expect(decide(base({ best: null, hint: { threads: 3, batch: 8 } }))).toEqual({ threads: 3, batch: 8, constraints_applied: ["hint:other-algo 3/8"], should_mine: true });
  });

  test("placement: never more threads than allowed CPUs", () => {
    const d = decide(base({ maxThreads: 2, best: { threads: 16, batch: 32 } }));
    expect(d).toEqual({ threads: 2, batch: 32, constraints_applied: ["history:best 16/32", "placement:cap 2"], should_mine: true });
    expect(decide(base({ maxThreads: 2, wanted: { threads: 2, batch: 16 } })).constraints_applied).toEqual([]);
  });

  test("order: a memory best above the thermal cap is capped; caps come before history; placement last", () => {
    const d = decide(base({ maxThreads: 4, thermal: thermalAt(85, 8), power: powerOf("battery", 60), best: { threads: 12, batch: 32 } }));
    expect(d.constraints_applied).toEqual(["thermal:hot cap 6", "power:battery cap 2/4", "history:best 12/32"]);
    expect([d.threads, d.batch]).toEqual([2, 4]);
    const e = decide(base({ maxThreads: 4, thermal: thermalAt(85, 8), best: { threads: 12, batch: 32 } }));
    expect(e).toEqual({ threads: 4, batch: 32, constraints_applied: ["thermal:hot cap 6", "history:best 12/32", "placement:cap 4"], should_mine: true });
  });

  test("pause beats everything: critical or low battery stops mining whatever else says", () => {
    const crit = decide(base({ thermal: thermalAt(95, 8), best: { threads: 8, batch: 32 } }));
    expect(crit.should_mine).toBe(false);
    expect(crit.constraints_applied[0]).toBe("thermal:critical pause");
    const low = decide(base({ power: powerOf("battery", 12), best: { threads: 8, batch: 32 } }));
    expect(low.should_mine).toBe(false);
    expect(low.constraints_applied[0]).toBe("power:low_battery pause");
    const both = decide(base({ thermal: thermalAt(95, 8), power: powerOf("battery", 12) }));
    expect(both.should_mine).toBe(false);
    expect(both.constraints_applied).toEqual(["thermal:critical pause", "power:low_battery pause"]);
    // what would run after the pause lifts is still bounded by placement
    expect(decide(base({ thermal: thermalAt(95, 8), maxThreads: 2 })).threads).toBe(2);
  });

  test("the tuner is blocked while a governor caps or pauses, not while warm, unavailable, on AC or unknown", () => {
    expect(tuningBlockedBy(cool, ac)).toBeNull();
    expect(tuningBlockedBy(thermalAt(75, 8), powerOf("unknown", null))).toBeNull();
    expect(tuningBlockedBy(thermalAt(null, 8), ac)).toBeNull();
    expect(tuningBlockedBy(thermalAt(85, 8), ac)).toBe("thermal:hot");
    expect(tuningBlockedBy(thermalAt(95, 8), ac)).toBe("thermal:critical");
    expect(tuningBlockedBy(cool, powerOf("battery", 50))).toBe("power:battery");
    expect(tuningBlockedBy(cool, powerOf("battery", 5))).toBe("power:low_battery");
  });

  test("bad input is refused", () => {
    expect(() => decide(base({ maxThreads: 0 }))).toThrow(/maxThreads/);
    expect(() => decide(base({ best: { threads: 0, batch: 4 } }))).toThrow(/best/);
    expect(() => decide(base({ wanted: { threads: 2, batch: 1.5 } }))).toThrow(/wanted/);
  });
});

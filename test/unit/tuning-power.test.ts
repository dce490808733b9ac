// Power governor: battery caps, low-battery pause, restore on AC, unknown → no caps, `changed` only on transitions;
// and the profiles that fill the thermal and power limits.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core";
import { DEFAULT_POWER, PowerGovernor, checkPowerLimits } from "../../src/tuning/power";
import { DEFAULT_THERMAL, checkThermalLimits } from "../../src/tuning/thermal";
import { PROFILES, PROFILE_NAMES, autoThreadsFor, profileLimits } from "../../src/tuning/profiles";

function rig(limits = DEFAULT_POWER) {
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  return { gov: new PowerGovernor(limits, { log }), events: (name: string) => lines.filter((l) => l.event === name) };
}
const ac = { status: "ac" as const, batteryPercent: 80 };
const bat = (p: number | null) => ({ status: "battery" as const, batteryPercent: p });

describe("power governor", () => {
  test("AC: no caps; battery: threads 2, batch 4; back on AC: restored", () => {
    const { gov, events } = rig();
    expect(gov.update(ac)).toMatchObject({ state: "ac", threadCap: null, batchCap: null, pause: false, changed: true });
    expect(gov.update(bat(47))).toMatchObject({ state: "battery", threadCap: 2, batchCap: 4, pause: false, changed: true });
    expect(events("power.source_changed").at(-1)).toMatchObject({ from: "ac", to: "battery", battery_percent: 47 });
    expect(events("power.battery_caps")[0]).toMatchObject({ thread_cap: 2, batch_cap: 4, battery_percent: 47 });
    expect(gov.update({ status: "ac", batteryPercent: 48 })).toMatchObject({ state: "ac", threadCap: null, batchCap: null, pause: false, changed: true });
    expect(events("power.restored")).toHaveLength(1);
  });

  test("below pauseBelowPercent on battery: pause; it holds until 2 points above or AC", () => {
    const { gov, events } = rig();
    gov.update(bat(25));
    expect(gov.update(bat(19))).toMatchObject({ state: "low_battery", pause: true, changed: true });
    expect(gov.state).toBe("low_battery");
    expect(events("power.paused")[0]).toMatchObject({ level: "warn", battery_percent: 19, pause_below_percent: 20 });
    expect(gov.update(bat(20))).toMatchObject({ state: "low_battery", pause: true, changed: false }); // gauge jitter
    expect(gov.update(bat(22))).toMatchObject({ state: "battery", pause: false, threadCap: 2, changed: true });
    gov.update(bat(10));
    expect(gov.update({ status: "ac", batteryPercent: 10 })).toMatchObject({ state: "ac", pause: false, threadCap: null, changed: true });
  });

  test("battery with no charge reading: caps, no pause; but a paused rig stays paused until a reading or AC", () => {
    expect(rig().gov.update(bat(null))).toMatchObject({ state: "battery", threadCap: 2, batchCap: 4, pause: false });
    const { gov } = rig();
    gov.update(bat(15));
    expect(gov.update(bat(null))).toMatchObject({ state: "low_battery", pause: true, changed: false });
    expect(gov.update(bat(30))).toMatchObject({ state: "battery", pause: false, changed: true });
  });

  test("unknown source: no caps, and the reason says why", () => {
    const d = rig().gov.update({ status: "unknown", batteryPercent: null });
    expect(d).toMatchObject({ state: "unknown", threadCap: null, batchCap: null, pause: false });
    expect(d.reason).toContain("unknown");
  });

  test("`changed` only on transitions, across a long sequence", () => {
    const { gov, events } = rig();
    const seq = [ac, ac, bat(60), bat(59), bat(58), bat(30), bat(19), bat(18), bat(21), ac, ac, { status: "unknown" as const, batteryPercent: null }];
    const changed = seq.map((p) => gov.update(p).changed);
    expect(changed).toEqual([true, false, true, false, false, false, true, false, false, true, false, true]);
    expect(events("power.source_changed")).toHaveLength(5);
  });

  test("caps and the pause threshold are configurable; disabled caps nothing", () => {
    const g = new PowerGovernor({ enabled: true, batteryThreads: 1, batteryBatch: 2, pauseBelowPercent: 30 });
    expect(g.update(bat(40))).toMatchObject({ threadCap: 1, batchCap: 2, pause: false });
    expect(g.update(bat(29)).pause).toBe(true);
    const off = new PowerGovernor({ ...DEFAULT_POWER, enabled: false }).update(bat(5));
    expect(off).toMatchObject({ state: "low_battery", threadCap: null, batchCap: null, pause: false });
    expect(off.reason).toContain("off");
  });

  test("bad limits are refused with the key named", () => {
    expect(() => checkPowerLimits({ ...DEFAULT_POWER, batteryThreads: 0 })).toThrow(/batteryThreads/);
    expect(() => checkPowerLimits({ ...DEFAULT_POWER, batteryBatch: 2.5 })).toThrow(/batteryBatch/);
    expect(() => checkPowerLimits({ ...DEFAULT_POWER, pauseBelowPercent: 101 })).toThrow(/pauseBelowPercent/);
  });
});

describe("profiles", () => {
  test("balanced is DESIGN.md's defaults; every profile makes valid limits", () => {
    expect(profileLimits("balanced")).toEqual({ thermal: DEFAULT_THERMAL, power: DEFAULT_POWER, threadShare: 1 });
    for (const name of PROFILE_NAMES) {
      const l = profileLimits(name);
      expect(() => checkThermalLimits(l.thermal)).not.toThrow();
      expect(() => checkPowerLimits(l.power)).not.toThrow();
      expect(PROFILES[name].description.length).toBeGreaterThan(20);
    }
  });

  test("laptop is cooler and gentler than balanced; beast uses cgminer's 75/85/95 and higher battery caps", () => {
    const [lap, bal, beast] = (["laptop", "balanced", "beast"] as const).map((n) => profileLimits(n));
    expect(lap!.thermal.hot).toBeLessThan(bal!.thermal.hot);
    expect(lap!.thermal.critical).toBeLessThan(bal!.thermal.critical);
    expect(lap!.power.batteryThreads).toBeLessThan(bal!.power.batteryThreads);
    expect(lap!.power.pauseBelowPercent).toBeGreaterThan(bal!.power.pauseBelowPercent);
    expect([beast!.thermal.warm, beast!.thermal.hot, beast!.thermal.critical]).toEqual([75, 85, 95]);
    expect(beast!.power.batteryThreads).toBeGreaterThan(bal!.power.batteryThreads);
    expect(beast!.power.batteryBatch).toBeGreaterThan(bal!.power.batteryBatch);
  });

  test("the operator's explicit keys override the profile's; undefined keys do not", () => {
    const l = profileLimits("laptop", { thermal: { hot: 75, critical: undefined }, power: { batteryThreads: 3 } });
    expect(l.thermal.hot).toBe(75);
    expect(l.thermal.critical).toBe(80);
    expect(l.power.batteryThreads).toBe(3);
    expect(l.power.pauseBelowPercent).toBe(30);
  });

  test("threads=auto takes the profile's share of the allowed CPUs, at least one", () => {
    expect(autoThreadsFor("balanced", 8)).toBe(8);
    expect(autoThreadsFor("laptop", 8)).toBe(4);
    expect(autoThreadsFor("laptop", 1)).toBe(1);
    expect(autoThreadsFor("beast", 2)).toBe(2);
  });
});

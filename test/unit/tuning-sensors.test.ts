// CPU temperature, power source and RAPL energy over fake sysfs trees (test/fixtures/sysfs, copied to a temp dir
// when a test rewrites files) and over small trees built here for the drivers the fixtures do not carry.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createLogger } from "../../src/core";
import { EnergyCounter, type PowerReading, readPower, TemperatureSensor } from "../../src/tuning/sensors";
import { SysFs } from "../../src/tuning/sysfs";
import { ROOT } from "../helpers";

const FIXTURES = join(ROOT, "test/fixtures/sysfs");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rignode-sysfs-"));
  dirs.push(d);
  return d;
};
/** A writable copy of a fixture tree. */
const copy = (name: string) => {
  const d = tempDir();
  cpSync(join(FIXTURES, name), d, { recursive: true });
  return d;
};
/** A tree from { "sys/class/hwmon/hwmon0/name": "k10temp", ... }. */
const tree = (files: Record<string, string | number>) => {
  const d = tempDir();
  for (const [p, v] of Object.entries(files)) put(d, p, v);
  return d;
};
const put = (root: string, p: string, v: string | number) => {
  mkdirSync(dirname(join(root, p)), { recursive: true });
  writeFileSync(join(root, p), `${v}\n`);
};
const fixture = (name: string) => new SysFs(join(FIXTURES, name));
/** A logger that keeps its lines' events. */
const capture = () => {
  const events: string[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => events.push(JSON.parse(l).event) });
  return { log, events };
};
/** Makes a file unreadable the way a non-root user meets root-only RAPL; root ignores modes, so there a directory stands in. */
const makeUnreadable = (file: string) => {
  if (process.getuid?.() !== 0) return chmodSync(file, 0o000);
  renameSync(file, `${file}.saved`);
  mkdirSync(file);
};
const makeReadable = (file: string) => {
  if (process.getuid?.() !== 0) return chmodSync(file, 0o644);
  rmSync(file, { recursive: true });
  renameSync(`${file}.saved`, file);
};

describe("CPU temperature: the sensor chosen and named", () => {
  test("laptop: coretemp Package id 0, not nvme/thinkpad/pch/acpitz", () => {
    const s = new TemperatureSensor(fixture("laptop"));
    expect(s.sensorName).toBe("coretemp Package id 0 (hwmon4/temp1)");
    expect(s.read()).toEqual({ status: "ok", celsius: 54, sensor: "coretemp Package id 0 (hwmon4/temp1)", frozen: false });
  });

  test("two-socket server: the hotter of both coretemp packages", () => {
    const r = new TemperatureSensor(fixture("server2s")).read();
    expect(r).toMatchObject({ status: "ok", celsius: 67 });
    if (r.status === "ok") expect(r.sensor).toBe("coretemp max of Package id 0 (hwmon1/temp1), Package id 1 (hwmon2/temp1)");
  });

  test("k10temp: Tdie over Tctl (Zen 1 Tctl carries a +27 °C offset), Tctl alone on Zen 3, unlabelled temp1 on pre-Zen", () => {
    const zen1 = tree({
      "sys/class/hwmon/hwmon0/name": "nvme", "sys/class/hwmon/hwmon0/temp1_label": "Composite", "sys/class/hwmon/hwmon0/temp1_input": 41850,
      "sys/class/hwmon/hwmon1/name": "k10temp",
      "sys/class/hwmon/hwmon1/temp1_label": "Tctl", "sys/class/hwmon/hwmon1/temp1_input": 72500,
      "sys/class/hwmon/hwmon1/temp2_label": "Tdie", "sys/class/hwmon/hwmon1/temp2_input": 45500,
      "sys/class/hwmon/hwmon1/temp3_label": "Tccd1", "sys/class/hwmon/hwmon1/temp3_input": 47250,
    });
    expect(new TemperatureSensor(new SysFs(zen1)).read()).toEqual({ status: "ok", celsius: 45.5, sensor: "k10temp Tdie (hwmon1/temp2)", frozen: false });
    const zen3 = tree({
      "sys/class/hwmon/hwmon2/name": "k10temp",
      "sys/class/hwmon/hwmon2/temp1_label": "Tctl", "sys/class/hwmon/hwmon2/temp1_input": 63625,
      "sys/class/hwmon/hwmon2/temp3_label": "Tccd1", "sys/class/hwmon/hwmon2/temp3_input": 61500,
      "sys/class/hwmon/hwmon2/temp4_label": "Tccd2", "sys/class/hwmon/hwmon2/temp4_input": 58250,
    });
    expect(new TemperatureSensor(new SysFs(zen3)).read()).toMatchObject({ celsius: 63.625, sensor: "k10temp Tctl (hwmon2/temp1)" });
    const fam15 = tree({ "sys/class/hwmon/hwmon0/name": "k10temp", "sys/class/hwmon/hwmon0/temp1_input": 38125, "sys/class/hwmon/hwmon0/temp1_max": 70000 });
    expect(new TemperatureSensor(new SysFs(fam15)).read()).toMatchObject({ celsius: 38.125, sensor: "k10temp temp1 (hwmon0/temp1)" });
  });

  test("coretemp without a package sensor (Core 2 era): the hottest core", () => {
    const core2 = tree({
      "sys/class/hwmon/hwmon0/name": "coretemp",
      "sys/class/hwmon/hwmon0/temp2_label": "Core 0", "sys/class/hwmon/hwmon0/temp2_input": 44000,
      "sys/class/hwmon/hwmon0/temp3_label": "Core 1", "sys/class/hwmon/hwmon0/temp3_input": 47000,
    });
    expect(new TemperatureSensor(new SysFs(core2)).read()).toMatchObject({ celsius: 47, sensor: "coretemp max of Core 0 (hwmon0/temp2), Core 1 (hwmon0/temp3)" });
  });

  test("zenpower Tdie; then thermal zones x86_pkg_temp and acpitz when no hwmon driver is loaded", () => {
    const zp = tree({
      "sys/class/hwmon/hwmon3/name": "zenpower",
      "sys/class/hwmon/hwmon3/temp1_label": "Tdie", "sys/class/hwmon/hwmon3/temp1_input": 51375,
      "sys/class/hwmon/hwmon3/temp2_label": "Tctl", "sys/class/hwmon/hwmon3/temp2_input": 51375,
      "sys/class/hwmon/hwmon3/temp3_label": "Tccd1", "sys/class/hwmon/hwmon3/temp3_input": 49000,
      "sys/class/hwmon/hwmon3/power1_label": "SVI2_P_Core", "sys/class/hwmon/hwmon3/power1_input": 41853000,
    });
    expect(new TemperatureSensor(new SysFs(zp)).read()).toMatchObject({ celsius: 51.375, sensor: "zenpower Tdie (hwmon3/temp1)" });
    const noCoretemp = copy("laptop");
    rmSync(join(noCoretemp, "sys/class/hwmon/hwmon4"), { recursive: true });
    expect(new TemperatureSensor(new SysFs(noCoretemp)).read()).toMatchObject({ celsius: 54, sensor: "x86_pkg_temp (thermal_zone4)" });
    rmSync(join(noCoretemp, "sys/class/thermal/thermal_zone4"), { recursive: true });
    expect(new TemperatureSensor(new SysFs(noCoretemp)).read()).toMatchObject({ celsius: 27.8, sensor: "acpitz (thermal_zone0)" });
  });

  test("a VM with no sensor reads unavailable and says what it looked for", () => {
    const s = new TemperatureSensor(fixture("vm"));
    const r = s.read();
    expect(r.status).toBe("unavailable");
    if (r.status === "unavailable") expect(r.reason).toContain("hwmon: absent");
    expect(s.sensorName).toBeNull();
  });

  test("this machine: a named plausible reading or unavailable, never a number without a sensor", () => {
    const r = new TemperatureSensor(new SysFs("/")).read();
    if (r.status === "ok") {
      expect(r.sensor.length).toBeGreaterThan(0);
      expect(r.celsius).toBeGreaterThanOrEqual(-40);
      expect(r.celsius).toBeLessThanOrEqual(150);
    } else expect(r.status).toBe("unavailable");
  });
});

describe("CPU temperature: absurd, vanished and frozen sensors", () => {
  test("absurd values (255 °C, -128 °C) are ignored: at discovery the next kind is used, while running the other package counts", () => {
    const d = copy("laptop");
    put(d, "sys/class/hwmon/hwmon4/temp1_input", 255000);
    expect(new TemperatureSensor(new SysFs(d)).read()).toMatchObject({ sensor: "x86_pkg_temp (thermal_zone4)", celsius: 54 });
    const s2 = copy("server2s");
    const s = new TemperatureSensor(new SysFs(s2));
    expect(s.read()).toMatchObject({ celsius: 67 });
    put(s2, "sys/class/hwmon/hwmon2/temp1_input", 255000);
    expect(s.read()).toMatchObject({ status: "ok", celsius: 61 });
    put(s2, "sys/class/hwmon/hwmon1/temp1_input", -128000);
    const r = s.read();
    expect(r.status).toBe("lost");
    if (r.status === "lost") expect(r.reason).toContain("absurd");
  });

  test("a sensor whose file vanishes turns lost, stays lost while nothing is there, and is re-found when restored (also renumbered)", () => {
    const d = tree({
      "sys/class/hwmon/hwmon1/name": "k10temp",
      "sys/class/hwmon/hwmon1/temp1_label": "Tctl", "sys/class/hwmon/hwmon1/temp1_input": 55000,
    });
    const { log, events } = capture();
    const s = new TemperatureSensor(new SysFs(d), { log });
    expect(s.read()).toMatchObject({ status: "ok", celsius: 55, sensor: "k10temp Tctl (hwmon1/temp1)" });
    rmSync(join(d, "sys/class/hwmon/hwmon1/temp1_input"));
    const lost = s.read();
    expect(lost).toMatchObject({ status: "lost", sensor: "k10temp Tctl (hwmon1/temp1)" });
    if (lost.status === "lost") expect(lost.reason).toContain("unreadable");
    expect(events).toContain("temperature.sensor_lost");
    expect(s.read()).toMatchObject({ status: "lost", sensor: "k10temp Tctl (hwmon1/temp1)" });
    put(d, "sys/class/hwmon/hwmon1/temp1_input", 56000);
    expect(s.read()).toEqual({ status: "ok", celsius: 56, sensor: "k10temp Tctl (hwmon1/temp1)", frozen: false });
    // Module reload: the driver comes back as another hwmon number.
    renameSync(join(d, "sys/class/hwmon/hwmon1"), join(d, "sys/class/hwmon/hwmon7"));
    expect(s.read().status).toBe("lost");
    expect(s.read()).toMatchObject({ status: "ok", sensor: "k10temp Tctl (hwmon7/temp1)" });
    expect(s.sensorName).toBe("k10temp Tctl (hwmon7/temp1)");
  });

  test("laptop: coretemp gone → lost once, then the next kind (x86_pkg_temp), named", () => {
    const d = copy("laptop");
    const s = new TemperatureSensor(new SysFs(d));
    expect(s.read().status).toBe("ok");
    rmSync(join(d, "sys/class/hwmon/hwmon4"), { recursive: true });
    expect(s.read()).toMatchObject({ status: "lost", sensor: "coretemp Package id 0 (hwmon4/temp1)" });
    expect(s.read()).toMatchObject({ status: "ok", sensor: "x86_pkg_temp (thermal_zone4)" });
  });

  test("the same value past frozenAfterMs is flagged frozen (injected clock); a change clears it", () => {
    const d = copy("laptop");
    let now = 1_000_000;
    const { log, events } = capture();
    const s = new TemperatureSensor(new SysFs(d), { now: () => now, frozenAfterMs: 600_000, log });
    expect(s.read()).toMatchObject({ frozen: false });
    now += 300_000;
    expect(s.read()).toMatchObject({ frozen: false });
    now += 300_000; // exactly 600 s: not past yet
    expect(s.read()).toMatchObject({ frozen: false });
    now += 1;
    expect(s.read()).toMatchObject({ status: "ok", celsius: 54, frozen: true });
    expect(events.filter((e) => e === "temperature.sensor_frozen")).toHaveLength(1);
    now += 10_000;
    expect(s.read()).toMatchObject({ frozen: true });
    expect(events.filter((e) => e === "temperature.sensor_frozen")).toHaveLength(1); // logged once
    put(d, "sys/class/hwmon/hwmon4/temp1_input", 55000);
    expect(s.read()).toMatchObject({ celsius: 55, frozen: false });
    now += 600_001;
    expect(s.read()).toMatchObject({ frozen: true });
  });
});

describe("power source", () => {
  const ps = "sys/class/power_supply";

  test("laptop on its charger: ac from ADP1, BAT0 76% charging; the mouse's battery is not the system's", () => {
    expect(readPower(fixture("laptop"))).toEqual({ status: "ac", batteryPercent: 76, batteryStatus: "Charging", source: "ADP1" });
  });

  test("unplug → battery (Discharging), plug → ac (Charging, Not charging, Full)", () => {
    const d = copy("laptop");
    const fs = new SysFs(d);
    put(d, `${ps}/ADP1/online`, 0);
    put(d, `${ps}/BAT0/status`, "Discharging");
    put(d, `${ps}/BAT0/capacity`, 75);
    expect(readPower(fs)).toEqual({ status: "battery", batteryPercent: 75, batteryStatus: "Discharging", source: "BAT0" });
    put(d, `${ps}/BAT0/status`, "Full"); // some firmware lags a moment after unplugging: the offline adapter decides
    expect(readPower(fs).status).toBe("battery");
    put(d, `${ps}/ADP1/online`, 1);
    for (const status of ["Charging", "Not charging", "Full"]) {
      put(d, `${ps}/BAT0/status`, status);
      expect(readPower(fs)).toMatchObject({ status: "ac", batteryStatus: status, source: "ADP1" });
    }
  });

  test("no adapter entry: the battery's state decides; Unknown → unknown", () => {
    const d = copy("laptop");
    const fs = new SysFs(d);
    rmSync(join(d, `${ps}/ADP1`), { recursive: true });
    expect(readPower(fs)).toMatchObject({ status: "ac", source: "BAT0" });
    put(d, `${ps}/BAT0/status`, "Discharging");
    expect(readPower(fs)).toMatchObject({ status: "battery", source: "BAT0" });
    put(d, `${ps}/BAT0/status`, "Unknown");
    expect(readPower(fs)).toMatchObject({ status: "unknown", batteryPercent: 76 });
  });

  test("a USB-C charger (ucsi, type USB) online is ac; offline with the battery discharging is battery", () => {
    const usbc = "ucsi-source-psy-USBC000:001";
    const d = tree({
      [`${ps}/${usbc}/type`]: "USB", [`${ps}/${usbc}/online`]: 1, [`${ps}/${usbc}/usb_type`]: "C [PD] PD_PPS",
      [`${ps}/BAT0/type`]: "Battery", [`${ps}/BAT0/status`]: "Charging", [`${ps}/BAT0/capacity`]: 41,
    });
    expect(readPower(new SysFs(d))).toEqual({ status: "ac", batteryPercent: 41, batteryStatus: "Charging", source: usbc });
    put(d, `${ps}/${usbc}/online`, 0);
    put(d, `${ps}/BAT0/status`, "Discharging");
    expect(readPower(new SysFs(d))).toMatchObject({ status: "battery", source: "BAT0" });
  });

  test("only a peripheral battery, a server, a VM: unknown with nothing invented", () => {
    const d = copy("laptop");
    rmSync(join(d, `${ps}/ADP1`), { recursive: true });
    rmSync(join(d, `${ps}/BAT0`), { recursive: true });
    const none: PowerReading = { status: "unknown", batteryPercent: null, batteryStatus: null, source: null };
    expect(readPower(new SysFs(d))).toEqual(none);
    expect(readPower(fixture("server2s"))).toEqual(none);
    expect(readPower(fixture("vm"))).toEqual(none);
  });

  test("two batteries combine by energy; an out-of-range capacity is not a percentage", () => {
    const d = tree({
      [`${ps}/AC/type`]: "Mains", [`${ps}/AC/online`]: 0,
      [`${ps}/BAT0/type`]: "Battery", [`${ps}/BAT0/status`]: "Discharging", [`${ps}/BAT0/capacity`]: 90,
      [`${ps}/BAT0/energy_now`]: 21_600_000, [`${ps}/BAT0/energy_full`]: 24_000_000,
      [`${ps}/BAT1/type`]: "Battery", [`${ps}/BAT1/status`]: "Unknown", [`${ps}/BAT1/capacity`]: 10,
      [`${ps}/BAT1/energy_now`]: 7_200_000, [`${ps}/BAT1/energy_full`]: 72_000_000,
    });
    expect(readPower(new SysFs(d))).toEqual({ status: "battery", batteryPercent: 30, batteryStatus: "Discharging", source: "BAT0" });
    const odd = tree({ [`${ps}/BAT0/type`]: "Battery", [`${ps}/BAT0/status`]: "Discharging", [`${ps}/BAT0/capacity`]: 150 });
    expect(readPower(new SysFs(odd))).toMatchObject({ status: "battery", batteryPercent: null });
  });
});

describe("RAPL energy", () => {
  const pkg0 = "sys/class/powercap/intel-rapl:0/energy_uj";

  test("laptop: only package-0 counts (not core/uncore/dram subdomains, psys or the mmio copy); joules since the first read", () => {
    const d = copy("laptop");
    const e = new EnergyCounter(new SysFs(d));
    expect(e.read()).toEqual({ status: "ok", joules: 0, domains: ["package-0 (intel-rapl:0)"] });
    put(d, pkg0, 27352818765 + 5_000_000);
    put(d, "sys/class/powercap/intel-rapl:1/energy_uj", 81127332540 + 99_000_000); // psys: ignored
    put(d, "sys/class/powercap/intel-rapl:0:0/energy_uj", 11402381647 + 4_000_000); // core: inside package-0
    expect(e.read()).toMatchObject({ status: "ok", joules: 5 });
  });

  test("two packages add up", () => {
    const d = copy("server2s");
    const e = new EnergyCounter(new SysFs(d));
    expect(e.read()).toMatchObject({ joules: 0, domains: ["package-0 (intel-rapl:0)", "package-1 (intel-rapl:1)"] });
    put(d, pkg0, 148923411377 + 1_000_000);
    put(d, "sys/class/powercap/intel-rapl:1/energy_uj", 162551093852 + 2_000_000);
    expect(e.read()).toMatchObject({ joules: 3 });
  });

  test("a counter that wraps adds max_energy_range_uj", () => {
    const d = copy("laptop");
    const max = 262143328850;
    put(d, pkg0, max - 1_000_000);
    const e = new EnergyCounter(new SysFs(d));
    e.read();
    put(d, pkg0, 500_000);
    expect(e.read()).toMatchObject({ status: "ok", joules: 1.5 });
    put(d, pkg0, 2_500_000);
    expect(e.read()).toMatchObject({ joules: 3.5 });
  });

  test("unreadable energy_uj (root-only) → unavailable with the reason; readable again → the count goes on", () => {
    const d = copy("laptop");
    const e = new EnergyCounter(new SysFs(d));
    e.read();
    makeUnreadable(join(d, pkg0));
    const r = e.read();
    expect(r.status).toBe("unavailable");
    if (r.status === "unavailable") expect(r.reason).toContain("root-only");
    makeReadable(join(d, pkg0));
    put(d, pkg0, 27352818765 + 2_000_000);
    expect(e.read()).toMatchObject({ status: "ok", joules: 2 });
  });

  test("no powercap (VM, this machine without RAPL) → unavailable", () => {
    const r = new EnergyCounter(fixture("vm")).read();
    expect(r.status).toBe("unavailable");
    if (r.status === "unavailable") expect(r.reason).toContain("powercap");
  });
});

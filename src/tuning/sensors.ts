import type { Logger } from "../core";
import { readInt, type SysFs } from "./sysfs";

// CPU temperature, power source and RAPL energy, each read from the kernel's files (never estimated). The root
// directory is injectable (SysFs), so tests drive the same code over fixture trees.

export type TempReading =
  | { status: "ok"; celsius: number; sensor: string; frozen: boolean }
  | { status: "unavailable"; reason: string }
  | { status: "lost"; sensor: string; reason: string };

/** Readings outside this range are a broken sensor (255 °C, -128 °C, 0 K), not a temperature. */
const MIN_C = -40;
const MAX_C = 150;
const HWMON = "sys/class/hwmon";
const THERMAL = "sys/class/thermal";

interface Member {
  file: string; // relative to the SysFs root
  tag: string; // "Package id 0 (hwmon2/temp1)"
}
interface Choice {
  name: string;
  members: Member[];
}

/** A value in millidegrees that is a plausible CPU temperature, in °C; null otherwise. */
function celsiusOf(milli: number | null): number | null {
  if (milli === null) return null;
  const c = milli / 1000;
  return c >= MIN_C && c <= MAX_C ? c : null;
}

/** hwmon devices with their driver name and the directory that holds their tempN_* files. */
function hwmons(fs: SysFs): { id: string; name: string; dir: string }[] {
  const out: { id: string; name: string; dir: string }[] = [];
  for (const id of fs.list(HWMON)) {
    const base = `${HWMON}/${id}`;
    // Since Linux 3.x the attributes sit in hwmonN itself; older drivers kept them (and "name") in hwmonN/device.
    const hasTemps = (d: string) => fs.list(d).some((f) => /^temp\d+_input$/.test(f));
    const dir = hasTemps(base) ? base : `${base}/device`;
    const name = fs.read(`${base}/name`) ?? fs.read(`${base}/device/name`);
    if (name) out.push({ id, name, dir });
  }
  return out;
}

/** tempN inputs of one hwmon device with their labels (null when the driver gives none). */
function temps(fs: SysFs, h: { id: string; dir: string }): { n: number; label: string | null; file: string }[] {
  return fs
    .list(h.dir)
    .map((f) => /^temp(\d+)_input$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ n: Number(m[1]), label: fs.read(`${h.dir}/temp${m[1]}_label`), file: `${h.dir}/${m[0]}` }));
}

const sane = (fs: SysFs, file: string) => celsiusOf(readInt(fs, file)) !== null;

/**
 * Picks the CPU package sensor. Order: coretemp "Package id N" (all packages, the hottest counts), else its
 * "Core N" inputs (CPUs without a package sensor); k10temp Tdie,
 * else Tctl (on Zen 1/Zen+ Tctl carries a +10..27 °C fan-control offset; Tdie is the die itself), else the
 * unlabelled temp1 of pre-Zen parts; zenpower likewise; thermal zones of type x86_pkg_temp; acpitz. A kind counts
 * only when at least one of its inputs reads a plausible value now; inputs of other drivers (nvme, iwlwifi, pch)
 * are never used.
 */
export function discoverTemperature(fs: SysFs): Choice | null {
  const hw = hwmons(fs);
  const group = (driver: string, members: Member[]): Choice | null =>
    members.length === 0
      ? null
      : {
          name: members.length === 1 ? `${driver} ${members[0]!.tag}` : `${driver} max of ${members.map((m) => m.tag).join(", ")}`,
          members,
        };
  const PACKAGE = /^Package id \d+$/;
  const coretempOf = (label: RegExp): Member[] =>
    hw
      .filter((h) => h.name === "coretemp")
      .map((h) => ({ h, ts: temps(fs, h) }))
      // "Core N" only stands in on a device that has no package input at all, not for a broken one.
      .filter(({ ts }) => label === PACKAGE || !ts.some((t) => t.label && PACKAGE.test(t.label)))
      .flatMap(({ h, ts }) => ts.map((t) => ({ ...t, id: h.id })))
      .filter((t) => t.label && label.test(t.label) && sane(fs, t.file))
      .map((t) => ({ file: t.file, tag: `${t.label} (${t.id}/temp${t.n})` }));
  const amd = (driver: string): Member[] => {
    const out: Member[] = [];
    for (const h of hw.filter((h) => h.name === driver)) {
      const ts = temps(fs, h);
      const pick =
        ts.find((t) => t.label === "Tdie" && sane(fs, t.file)) ??
        ts.find((t) => t.label === "Tctl" && sane(fs, t.file)) ??
        ts.find((t) => t.label === null && t.n === 1 && sane(fs, t.file));
      if (pick) out.push({ file: pick.file, tag: `${pick.label ?? "temp1"} (${h.id}/temp${pick.n})` });
    }
    return out;
  };
  const zone = (type: string): Member[] =>
    fs
      .list(THERMAL)
      .filter((z) => /^thermal_zone\d+$/.test(z) && fs.read(`${THERMAL}/${z}/type`) === type && sane(fs, `${THERMAL}/${z}/temp`))
      .map((z) => ({ file: `${THERMAL}/${z}/temp`, tag: `(${z})` }));
  return (
    group("coretemp", coretempOf(PACKAGE)) ??
    group("coretemp", coretempOf(/^Core \d+$/)) ?? // before Sandy Bridge (no PTS) and on some Atoms there is no package input
    group("k10temp", amd("k10temp")) ??
    group("zenpower", amd("zenpower")) ??
    group("x86_pkg_temp", zone("x86_pkg_temp")) ??
    group("acpitz", zone("acpitz"))
  );
}

/** Why nothing was found, with what the machine does have (for the API and the log). */
function noSensorReason(fs: SysFs): string {
  const hw = fs.exists(HWMON) ? `hwmon: ${hwmons(fs).map((h) => h.name).join(",") || "none"}` : "hwmon: absent";
  const zones = fs.list(THERMAL).filter((z) => z.startsWith("thermal_zone"));
  const th = fs.exists(THERMAL) ? `thermal zones: ${zones.map((z) => fs.read(`${THERMAL}/${z}/type`) ?? "?").join(",") || "none"}` : "thermal: absent";
  return `no coretemp/k10temp/zenpower hwmon input and no x86_pkg_temp/acpitz thermal zone with a plausible value (${hw}; ${th})`;
}

/**
 * The CPU temperature with its source named. A sensor that stops reading (driver unloaded, file gone, absurd
 * values) turns "lost"; every later read looks for a sensor again (hwmon numbers change when a driver reloads),
 * and may settle on another kind, which its name then says. A value that has not changed at all for longer than
 * frozenAfterMs is flagged frozen (a live package sensor moves by at least its 1 °C / 0.125 °C step under load).
 */
export class TemperatureSensor {
  private choice: Choice | null = null;
  private name: string | null = null;
  private lostReason: string | null = null;
  private lastRaw: string | null = null;
  private since = 0;
  private frozenLogged = false;
  private readonly now: () => number;
  private readonly frozenAfterMs: number;
  private readonly log?: Logger;

  constructor(
    private readonly fs: SysFs,
    opts: { now?: () => number; frozenAfterMs?: number; log?: Logger } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.frozenAfterMs = opts.frozenAfterMs ?? 600_000;
    this.log = opts.log;
    this.adopt(discoverTemperature(fs));
  }

  /** The sensor in use (or the one that was lost); null when none was ever found. */
  get sensorName(): string | null {
    return this.name;
  }

  private adopt(c: Choice | null): void {
    if (!c) return;
    if (c.name !== this.name) this.log?.info("temperature.sensor", { sensor: c.name, previous: this.name ?? undefined });
    this.choice = c;
    this.name = c.name;
    this.lostReason = null;
    this.lastRaw = null;
    this.frozenLogged = false;
  }

  read(): TempReading {
    if (!this.choice) {
      this.adopt(discoverTemperature(this.fs));
      if (!this.choice) {
        if (this.name !== null) return { status: "lost", sensor: this.name, reason: this.lostReason ?? "sensor gone" };
        return { status: "unavailable", reason: noSensorReason(this.fs) };
      }
    }
    const raws: (number | null)[] = this.choice.members.map((m) => readInt(this.fs, m.file));
    const values = raws.map(celsiusOf).filter((c): c is number => c !== null);
    if (values.length === 0) {
      const m = this.choice.members[0]!;
      const raw = raws[0];
      this.lostReason = raw === null || raw === undefined ? `${m.file} unreadable` : `${m.file} reads an absurd ${raw / 1000} °C`;
      this.log?.warn("temperature.sensor_lost", { sensor: this.name, reason: this.lostReason });
      this.choice = null;
      return { status: "lost", sensor: this.name!, reason: this.lostReason };
    }
    const key = raws.join(",");
    const t = this.now();
    if (key !== this.lastRaw) {
      if (this.frozenLogged) this.log?.info("temperature.sensor_moving", { sensor: this.name });
      this.lastRaw = key;
      this.since = t;
      this.frozenLogged = false;
    }
    const frozen = t - this.since > this.frozenAfterMs;
    if (frozen && !this.frozenLogged) {
      this.frozenLogged = true;
      this.log?.warn("temperature.sensor_frozen", { sensor: this.name, unchanged_s: Math.round((t - this.since) / 1000) });
    }
    return { status: "ok", celsius: Math.max(...values), sensor: this.name!, frozen };
  }
}

export interface PowerReading {
  status: "ac" | "battery" | "unknown";
  batteryPercent: number | null;
  batteryStatus: string | null;
  source: string | null;
}

const PS = "sys/class/power_supply";
/** power_supply types that mean an external source (USB-C chargers appear as USB / USB_PD / ucsi "USB"). */
const EXTERNAL = new Set(["Mains", "USB", "USB_C", "USB_PD", "USB_PD_DRP", "BrickID", "Wireless"]);
/** Battery states that need an external source (kernel ABI: "Not charging" = connected but not charging). */
const POWERED = new Set(["Charging", "Full", "Not charging"]);

/**
 * Where the power comes from: an external supply online → ac; a system battery discharging, or every external
 * supply offline with a battery present → battery; a battery charging/full with no supply entry → ac; nothing
 * (desktops, servers, VMs) → unknown. Batteries of peripherals (scope "Device": mice, keyboards) are ignored.
 */
export function readPower(fs: SysFs): PowerReading {
  const external: { name: string; online: boolean }[] = [];
  const batteries: { name: string; status: string | null; capacity: number | null; now: number | null; full: number | null }[] = [];
  for (const name of fs.list(PS)) {
    const base = `${PS}/${name}`;
    const type = fs.read(`${base}/type`);
    if (type && EXTERNAL.has(type)) external.push({ name, online: readInt(fs, `${base}/online`) === 1 });
    else if (type === "Battery" && fs.read(`${base}/scope`) !== "Device" && fs.read(`${base}/present`) !== "0") {
      const cap = readInt(fs, `${base}/capacity`);
      batteries.push({
        name,
        status: fs.read(`${base}/status`),
        capacity: cap !== null && cap >= 0 && cap <= 100 ? cap : null,
        now: readInt(fs, `${base}/energy_now`) ?? readInt(fs, `${base}/charge_now`),
        full: readInt(fs, `${base}/energy_full`) ?? readInt(fs, `${base}/charge_full`),
      });
    }
  }
  const percent = batteryPercent(batteries);
  const discharging = batteries.find((b) => b.status === "Discharging");
  const status = discharging?.status ?? batteries[0]?.status ?? null;
  const base = { batteryPercent: percent, batteryStatus: status };
  const online = external.find((e) => e.online);
  if (online) return { status: "ac", ...base, source: online.name };
  if (batteries.length === 0) return { status: "unknown", ...base, source: null };
  if (discharging) return { status: "battery", ...base, source: discharging.name };
  if (external.length > 0) return { status: "battery", ...base, source: batteries[0]!.name };
  const powered = batteries.find((b) => b.status !== null && POWERED.has(b.status));
  if (powered) return { status: "ac", ...base, source: powered.name };
  return { status: "unknown", ...base, source: null };
}

/** Charge of all system batteries together: by energy when every one reports it, else the mean of capacities. */
function batteryPercent(bs: { capacity: number | null; now: number | null; full: number | null }[]): number | null {
  if (bs.length === 0) return null;
  if (bs.length > 1 && bs.every((b) => b.now !== null && b.full !== null && b.full > 0)) {
    const now = bs.reduce((s, b) => s + b.now!, 0);
    const full = bs.reduce((s, b) => s + b.full!, 0);
    return Math.min(100, Math.round((100 * now) / full));
  }
  const caps = bs.map((b) => b.capacity).filter((c): c is number => c !== null);
  return caps.length ? Math.round(caps.reduce((s, c) => s + c, 0) / caps.length) : null;
}

export type EnergyReading = { status: "ok"; joules: number; domains: string[] } | { status: "unavailable"; reason: string };

const RAPL = "sys/class/powercap";

/**
 * Joules used by the CPU packages since the first read, from RAPL's top-level package domains (intel-rapl:N named
 * package-N; AMD Zen uses the same driver). Subdomains (core, uncore, dram) are inside their package and psys
 * contains the packages, so neither is added. energy_uj wraps at max_energy_range_uj: a reading below the previous
 * one adds that range. Since Linux 5.10 energy_uj is root-only (CVE-2020-8694): then "unavailable", said why.
 */
export class EnergyCounter {
  private last = new Map<string, number>();
  private total = 0;

  constructor(private readonly fs: SysFs) {}

  read(): EnergyReading {
    const domains = this.fs
      .list(RAPL)
      .filter((d) => /^intel-rapl:\d+$/.test(d) && /^package-\d+$/.test(this.fs.read(`${RAPL}/${d}/name`) ?? ""));
    if (domains.length === 0) {
      const why = this.fs.exists(RAPL) ? "no RAPL package domain (intel-rapl:N named package-N)" : "no powercap (RAPL) in this kernel/VM";
      return { status: "unavailable", reason: `${why} under ${RAPL}` };
    }
    const deltas: [string, number][] = [];
    let joules = 0;
    for (const d of domains) {
      const file = `${RAPL}/${d}/energy_uj`;
      const raw = readInt(this.fs, file);
      if (raw === null || raw < 0) {
        const why = this.fs.exists(file) ? "not readable (root-only since Linux 5.10, CVE-2020-8694)" : "absent";
        return { status: "unavailable", reason: `${file} ${why}` };
      }
      const prev = this.last.get(d);
      let delta = prev === undefined ? 0 : raw - prev;
      if (delta < 0) {
        const range = readInt(this.fs, `${RAPL}/${d}/max_energy_range_uj`);
        delta = range !== null && range > 0 ? delta + range : 0; // no range: re-baseline rather than guess
      }
      deltas.push([d, raw]);
      joules += delta / 1e6;
    }
    // Commit only when every domain was read, so one failed read does not skew the next delta.
    for (const [d, raw] of deltas) this.last.set(d, raw);
    this.total += joules;
    return { status: "ok", joules: this.total, domains: domains.map((d) => `${this.fs.read(`${RAPL}/${d}/name`)} (${d})`) };
  }
}

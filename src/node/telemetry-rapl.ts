// The RAPL package power limit as an actuator for guarded actions: constraint_0_power_limit_uw of each package
// domain under sys/class/powercap (root only on most systems). Where it cannot be written the action is
// "unavailable", said why; nothing is guessed.
import { accessSync, constants, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Logger } from "../core";
import { join } from "node:path";

const RAPL = "sys/class/powercap";
/** Never set a package below this (W): the limit is a tuning knob, not a way to stall the machine. */
export const MIN_LIMIT_W = 5;

export type RaplStatus = { ok: true; watts: number; files: string[] } | { ok: false; reason: string };
/** Each package's limit file and its value (µW): what a change replaced, to be written back as it was. */
export type RaplSnapshot = Record<string, number>;

export class RaplLimit {
  constructor(private readonly root = "/") {}

  private dir(): string {
    return join(this.root, RAPL);
  }

  /** The first package's long-term limit in W, and the files a change writes; or why there is none to write. */
  status(): RaplStatus {
    let names: string[];
    try {
      names = readdirSync(this.dir()).filter((d) => /^intel-rapl:\d+$/.test(d));
    } catch {
      return { ok: false, reason: `no powercap (RAPL) under ${join(this.root, RAPL)}` };
    }
    const files = names
      .filter((d) => /^package-\d+$/.test(readText(join(this.dir(), d, "name")) ?? ""))
      .map((d) => join(this.dir(), d, "constraint_0_power_limit_uw"));
    if (!files.length) return { ok: false, reason: "no RAPL package domain (intel-rapl:N named package-N)" };
    const uw = Number(readText(files[0]!));
    if (!Number.isFinite(uw) || uw <= 0) return { ok: false, reason: `${files[0]} not readable` };
    for (const f of files) {
      try {
        accessSync(f, constants.W_OK);
      } catch {
        return { ok: false, reason: `${f} is not writable (root only)` };
      }
    }
    return { ok: true, watts: uw / 1e6, files };
  }

  /** Every package's limit as it is now (each may differ on a multi-socket machine). */
  snapshot(): RaplSnapshot {
    const s = this.status();
    if (!s.ok) throw new Error(s.reason);
    return Object.fromEntries(s.files.map((f) => [f, Number(readText(f))]));
  }

  /** Writes a snapshot back, package by package (only package limit files of this powercap tree are written). */
  restore(snap: RaplSnapshot): void {
    for (const [f, uw] of Object.entries(snap)) {
      const rel = f.startsWith(this.dir() + "/") ? f.slice(this.dir().length + 1) : "";
      if (!/^intel-rapl:\d+\/constraint_0_power_limit_uw$/.test(rel)) throw new Error(`${f}: not a RAPL package limit file`);
      if (!Number.isSafeInteger(uw) || uw <= 0) throw new Error(`${f}: ${uw} is not a limit in µW`);
    }
    for (const [f, uw] of Object.entries(snap)) writeFileSync(f, String(uw));
  }

  /** Sets each package's limit to `f` of its value in `from` (W; at least MIN_LIMIT_W). */
  setEach(from: RaplSnapshot, f: (watts: number) => number): void {
    this.restore(Object.fromEntries(Object.entries(from).map(([file, uw]) => [file, Math.round(Math.max(MIN_LIMIT_W, f(uw / 1e6)) * 1e6)])));
  }

}

/**
 * The power limits a change replaced, kept in DATA_DIR/telemetry-rapl-restore.json until they are written back: a
 * limit outlives the process, so a start after a crash writes them back (whether or not --telemetry-act is on then).
 */
export class RaplRestoreFile {
  readonly path: string | null;
  constructor(dataDir: string | null, private readonly log: Logger) {
    this.path = dataDir ? join(dataDir, "telemetry-rapl-restore.json") : null;
  }

  /** Keeps `snap` (null: forgets it, nothing left to write back). */
  save(snap: RaplSnapshot | null): void {
    if (!this.path) return;
    try {
      if (snap) writeFileSync(this.path, JSON.stringify(snap));
      else rmSync(this.path, { force: true });
    } catch (e) {
      this.log.warn("telemetry.power_limit_state_failed", { path: this.path, error: (e as Error).message });
    }
  }

  /** At start: writes back what an earlier run left lowered, then forgets it. */
  restore(rapl: RaplLimit): void {
    if (!this.path || !existsSync(this.path)) return;
    try {
      const snap = JSON.parse(readFileSync(this.path, "utf8")) as RaplSnapshot;
      rapl.restore(snap);
      rmSync(this.path, { force: true });
      this.log.warn("telemetry.power_limit_restored", { path: this.path, limits_uw: snap, note: "a limit lowered by an earlier run was written back" });
    } catch (e) {
      this.log.error("telemetry.power_limit_restore_failed", { path: this.path, error: (e as Error).message, todo: "check the package limits under /sys/class/powercap, then delete the file" });
    }
  }
}

function readText(p: string): string | null {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return null;
  }
}

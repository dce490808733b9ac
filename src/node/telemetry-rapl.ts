// The RAPL package power limit as an actuator for guarded actions: constraint_0_power_limit_uw of each package
// domain under sys/class/powercap (root only on most systems). Where it cannot be written the action is
// "unavailable", said why; nothing is guessed.
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const RAPL = "sys/class/powercap";
/** Never set a package below this (W): the limit is a tuning knob, not a way to stall the machine. */
export const MIN_LIMIT_W = 5;

export type RaplStatus = { ok: true; watts: number; files: string[] } | { ok: false; reason: string };

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

  /** Sets every package's long-term limit to `watts` (at least MIN_LIMIT_W). */
  set(watts: number): void {
    const s = this.status();
    if (!s.ok) throw new Error(s.reason);
    const uw = Math.round(Math.max(MIN_LIMIT_W, watts) * 1e6);
    for (const f of s.files) writeFileSync(f, String(uw));
  }
}

function readText(p: string): string | null {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return null;
  }
}

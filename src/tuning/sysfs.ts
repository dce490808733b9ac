import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Read-only view of the kernel's pseudo-files under one root directory: "/" on a real machine, a fixture tree in
 * tests. Every path is relative to the root ("sys/class/hwmon"), so tests and the real system run the same code.
 * Nothing here throws: an absent or unreadable file (root-only RAPL counters, a sensor whose driver was unloaded)
 * reads as null and the caller says "unavailable".
 */
export class SysFs {
  constructor(readonly root = "/") {}

  private path(rel: string): string {
    return join(this.root, rel.replace(/^\/+/, ""));
  }

  /** The file's text, trimmed; null when it is absent or cannot be read. */
  read(rel: string): string | null {
    try {
      return readFileSync(this.path(rel), "utf8").trim();
    } catch {
      return null;
    }
  }

  /** Entry names of a directory in natural order (hwmon2 before hwmon10); [] when absent. */
  list(rel: string): string[] {
    try {
      return readdirSync(this.path(rel)).sort(naturalCompare);
    } catch {
      return [];
    }
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }
}

/** Compares names with their digit runs as numbers, independent of the locale. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.split(/(\d+)/);
  const rb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    if (i % 2 === 1) return Number(x) - Number(y) || x.length - y.length;
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

/** Parses a kernel CPU list ("0-3,8-11", "0,2,4", "" for none) into sorted numbers; null when malformed. */
export function parseCpuList(text: string | null): number[] | null {
  if (text === null) return null;
  const out = new Set<number>();
  for (const part of text.split(",").map((s) => s.trim())) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65_536) return null;
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** An integer file (millidegrees, microjoules, percent); null when absent or not a whole number. */
export function readInt(fs: SysFs, rel: string): number | null {
  const t = fs.read(rel);
  if (t === null || !/^-?\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

// Every number an operator may tune, in a JSON file read at start and reloaded by the node when it changes. A file
// may set only some keys: the rest keep their defaults. A malformed file is refused with its path and the field.
import { z } from "zod";
import { MAX_CONFIG_BYTES, readRegularFile, RignodeError } from "../core";

const frac = z.number().min(0).max(1);
const pos = z.number().positive();

const detector = z
  .object({
    /** Samples per block mean (1 Hz: 5 s). */
    block: z.number().int().min(1).max(60),
    /** CUSUM slack and decision interval, in spreads of a block mean. */
    k: z.number().min(0).max(10),
    h: z.number().positive().max(100),
    /** Blocks that set the reference level at start and after an alarm. */
    warmup: z.number().int().min(1).max(720),
    rewarm: z.number().int().min(1).max(720),
    /** How fast the reference follows slow drift (per block), and the most one block may move it (spreads). */
    alpha: frac,
    clip: pos,
    /** The most one block's deviation counts (spreads). */
    zclip: pos,
    /** Block differences the spread is estimated from. */
    scaleWindow: z.number().int().min(4).max(10_000),
  })
  .strict();

const FEATURES = ["hashrate", "reject_ratio", "temperature", "latency", "hashes_per_joule", "load", "thread_balance"] as const;
/**
 * Smallest spread per feature: relative to the level and absolute; changes well below it are not worth an alarm.
 * Set by the study: a 60 s reject ratio of ~12 shares jumps by 0.08 on one reject, a share's round trip varies by
 * ~30%, a package temperature wanders a degree or two over minutes.
 */
const floor = z.object({ rel: frac, abs: z.number().min(0) }).strict();

export const thresholdsSchema = z
  .object({
    /** Samples the bit encoder, stability and entropy look back over. */
    window: z.number().int().min(3).max(3600),
    detector,
    floors: z.object(Object.fromEntries(FEATURES.map((f) => [f, floor])) as Record<(typeof FEATURES)[number], typeof floor>).strict(),
    /** Coefficient of variation at which stability reaches 0. */
    stabilityCv: pos,
    /** Seconds an alarm keeps counting toward the class, the hazard and the advisories. */
    holdSec: z.number().int().min(1).max(86_400),
    hashrate: z.object({ minorDrop: frac, majorDrop: frac, criticalDrop: frac }).strict(),
    /** Reject ratio marks; a ratio counts toward the score and the advice from minCount rejects in its 60 s on. */
    rejects: z.object({ minor: frac, major: frac, critical: frac, minCount: z.number().int().min(1).max(1_000_000) }).strict(),
    thermal: z.object({ limitC: z.number().min(30).max(150), minorHeadroomC: z.number().min(0), majorHeadroomC: z.number().min(0), criticalHeadroomC: z.number().min(0) }).strict(),
    latency: z.object({ limitMs: pos }).strict(),
    /** Load per CPU above which a hashrate drop is put down to a competing process. */
    load: z.object({ high: pos }).strict(),
    /** Score below which the class is minor, major, critical. */
    score: z.object({ minor: frac, major: frac, critical: frac }).strict(),
    advice: z.object({ ttlSec: z.number().int().min(1).max(86_400), powerStepW: pos.max(50) }).strict(),
    /** Sample rate while a change is suspected. */
    burstHz: z.number().min(1).max(20),
  })
  .strict()
  .superRefine((t, ctx) => {
    const order = (path: string[], a: number, b: number, c: number, up: boolean) => {
      if (up ? !(a <= b && b <= c) : !(a >= b && b >= c)) ctx.addIssue({ code: "custom", path, message: `must be ${up ? "increasing" : "decreasing"} (minor, major, critical)` });
    };
    order(["hashrate"], t.hashrate.minorDrop, t.hashrate.majorDrop, t.hashrate.criticalDrop, true);
    order(["rejects"], t.rejects.minor, t.rejects.major, t.rejects.critical, true);
    order(["thermal"], t.thermal.minorHeadroomC, t.thermal.majorHeadroomC, t.thermal.criticalHeadroomC, false);
    order(["score"], t.score.minor, t.score.major, t.score.critical, false);
    // A block adds max(0, min(z, zclip) − k) to the CUSUM: with zclip ≤ k nothing ever adds, and no alarm could come.
    if (t.detector.zclip <= t.detector.k) ctx.addIssue({ code: "custom", path: ["detector", "zclip"], message: "must be above detector.k (else the detector can never alarm)" });
  });

export type Thresholds = z.infer<typeof thresholdsSchema>;

/** Calibrated with bench/telemetry-study.ts (≤ 1 false alarm per 24 h per feature at 1 Hz; a 10% drop in ~15 s). */
export const DEFAULT_THRESHOLDS: Thresholds = {
  window: 30,
  detector: { block: 5, k: 1, h: 6, warmup: 12, rewarm: 4, alpha: 0.05, clip: 1.5, zclip: 4, scaleWindow: 60 },
  floors: {
    // 2.5%: the harsh regime (25% of thread-seconds stalled) raised 7.8 false alarms a day at 2%, 2.3 at 2.25%.
    hashrate: { rel: 0.025, abs: 0 },
    hashes_per_joule: { rel: 0.025, abs: 0 },
    reject_ratio: { rel: 0, abs: 0.15 },
    temperature: { rel: 0, abs: 3 },
    latency: { rel: 0.6, abs: 5 },
    load: { rel: 0, abs: 0.1 },
    thread_balance: { rel: 0, abs: 0.05 },
  },
  stabilityCv: 0.1,
  holdSec: 120,
  hashrate: { minorDrop: 0.05, majorDrop: 0.2, criticalDrop: 0.5 },
  rejects: { minor: 0.02, major: 0.05, critical: 0.2, minCount: 3 },
  thermal: { limitC: 95, minorHeadroomC: 15, majorHeadroomC: 8, criticalHeadroomC: 3 },
  latency: { limitMs: 2000 },
  load: { high: 1 },
  score: { minor: 0.8, major: 0.5, critical: 0.2 },
  advice: { ttlSec: 120, powerStepW: 10 },
  burstHz: 5,
};

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Defaults under the file's keys, one level of sections deep (a section may set only some of its keys). */
function overlay(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(over)) {
    if (!Object.hasOwn(over, key)) continue;
    const b = Object.hasOwn(base, key) ? base[key] : undefined;
    const v = over[key];
    out[key] = isObject(b) && isObject(v) ? overlay(b, v) : v;
  }
  return out;
}

/** Parses a thresholds document (JSON); `path` names it in the message when it is refused. */
export function parseThresholds(text: string, path: string): Thresholds {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new RignodeError("config", `telemetry thresholds file ${path}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(data)) throw new RignodeError("config", `telemetry thresholds file ${path}: expected a JSON object at the top level`);
  const parsed = thresholdsSchema.safeParse(overlay(DEFAULT_THRESHOLDS as unknown as Record<string, unknown>, data));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join(".") || "(top level)";
    let value: unknown = data;
    for (const p of issue.path) value = isObject(value) ? value[String(p)] : undefined;
    const got = issue.code === "unrecognized_keys" ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` : `${JSON.stringify(value) ?? "missing"} is not allowed`;
    throw new RignodeError("config", `telemetry thresholds file ${path}, field ${field}: ${got}; ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and parses a thresholds file (at most 1 MiB, a regular file). */
export function loadThresholds(path: string): Thresholds {
  const text = readRegularFile(path, { what: "telemetry thresholds file", maxBytes: MAX_CONFIG_BYTES, todo: "pass a JSON file (--telemetry-thresholds FILE)" });
  return parseThresholds(text, path);
}

// Telemetry history as flat rows, and those rows as Parquet or NDJSON bytes (the export's two formats). Pure: rows in,
// bytes out; the node reads the history and writes the file. Both formats come from one column table and one check,
// so a Parquet file and the NDJSON of the same rows hold the same values, row for row.
import { parquetWriteBuffer } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import { RignodeError, VERSION } from "../core";
import type { Feature, RuptureClass, Scored } from "./types";

/** One scored second, flattened for files and tables. null: the rig could not measure it. */
export interface TelemetryRow {
  /** ms since the epoch (Parquet: TIMESTAMP_MILLIS, UTC). */
  t: number;
  /** H/s over the last 5 s, whole rig. */
  hashrate: number;
  /** Hashes since the miner started (counter). */
  hashes: number;
  /** 0..1, 1 = healthy. */
  score: number;
  class: RuptureClass;
  hazard: number;
  accepted: number | null;
  rejected: number | null;
  stale: number | null;
  reject_ratio: number | null;
  latency_ms: number | null;
  temperature_c: number | null;
  thermal_headroom_c: number | null;
  energy_j: number | null;
  hashes_per_joule: number | null;
  load: number | null;
  /** The slowest thread's hashrate over the threads' mean (null below 2 threads). */
  thread_balance: number | null;
  threads: number;
  batch: number;
  paused: boolean;
  thermal: string;
  power: string;
  /** Advisories in force at this second. */
  advisories: number;
  /** Features whose detector alarmed on this sample, comma-separated ("" for none). */
  alarms: string;
  /** Why the class is what it is, "; "-separated. */
  reasons: string;
}

type Kind = "time" | "f64" | "i64" | "i32" | "bool" | "str" | "class";
interface Column {
  name: keyof TelemetryRow;
  kind: Kind;
  nullable: boolean;
}

const CLASSES: readonly RuptureClass[] = ["none", "minor", "major", "critical"];

/** The file layout, in column order. Adding a column: add it to TelemetryRow, here, and to telemetryRow(). */
export const TELEMETRY_COLUMNS: readonly Column[] = [
  { name: "t", kind: "time", nullable: false },
  { name: "hashrate", kind: "f64", nullable: false },
  { name: "hashes", kind: "i64", nullable: false },
  { name: "score", kind: "f64", nullable: false },
  { name: "class", kind: "class", nullable: false },
  { name: "hazard", kind: "f64", nullable: false },
  { name: "accepted", kind: "i64", nullable: true },
  { name: "rejected", kind: "i64", nullable: true },
  { name: "stale", kind: "i64", nullable: true },
  { name: "reject_ratio", kind: "f64", nullable: true },
  { name: "latency_ms", kind: "f64", nullable: true },
  { name: "temperature_c", kind: "f64", nullable: true },
  { name: "thermal_headroom_c", kind: "f64", nullable: true },
  { name: "energy_j", kind: "f64", nullable: true },
  { name: "hashes_per_joule", kind: "f64", nullable: true },
  { name: "load", kind: "f64", nullable: true },
  { name: "thread_balance", kind: "f64", nullable: true },
  { name: "threads", kind: "i32", nullable: false },
  { name: "batch", kind: "i32", nullable: false },
  { name: "paused", kind: "bool", nullable: false },
  { name: "thermal", kind: "str", nullable: false },
  { name: "power", kind: "str", nullable: false },
  { name: "advisories", kind: "i32", nullable: false },
  { name: "alarms", kind: "str", nullable: false },
  { name: "reasons", kind: "str", nullable: false },
];

const PARQUET_TYPE = { time: "TIMESTAMP", f64: "DOUBLE", i64: "INT64", i32: "INT32", bool: "BOOLEAN", str: "STRING", class: "STRING" } as const;

/** Flattens one scored sample; `advisories` is how many were in force then (the history stores it beside the sample). */
export function telemetryRow(s: Scored, advisories: number): TelemetryRow {
  const x = s.sample;
  const alarms = (Object.keys(s.features) as Feature[]).filter((f) => s.features[f].alarm);
  return {
    t: s.t,
    hashrate: x.hashrate,
    hashes: x.hashes,
    score: s.score,
    class: s.class,
    hazard: s.hazard,
    accepted: x.accepted,
    rejected: x.rejected,
    stale: x.stale,
    reject_ratio: s.kpis.rejectRatio,
    latency_ms: x.latencyMs,
    temperature_c: x.tempC,
    thermal_headroom_c: s.kpis.thermalHeadroomC,
    energy_j: x.energyJ,
    hashes_per_joule: s.kpis.hashesPerJoule,
    load: x.load,
    thread_balance: s.features.thread_balance?.value ?? null,
    threads: x.threads,
    batch: x.batch,
    paused: x.paused,
    thermal: x.thermal,
    power: x.power,
    advisories,
    alarms: alarms.join(","),
    reasons: s.reasons.join("; "),
  };
}

/** Refuses a value the file could not hold faithfully (NaN, a fraction in an integer column, a missing field). */
function checkRows(rows: readonly TelemetryRow[]): void {
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object") throw bad(i, "(row)", "is not an object");
    for (const c of TELEMETRY_COLUMNS) {
      const v: unknown = row[c.name];
      if (v === null && c.nullable) continue;
      if (v === null || v === undefined) throw bad(i, c.name, "is missing");
      const ok =
        c.kind === "f64" ? typeof v === "number" && Number.isFinite(v)
        : c.kind === "i64" || c.kind === "time" ? Number.isSafeInteger(v)
        : c.kind === "i32" ? Number.isSafeInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31
        : c.kind === "bool" ? typeof v === "boolean"
        : c.kind === "class" ? CLASSES.includes(v as RuptureClass)
        : typeof v === "string";
      if (!ok) throw bad(i, c.name, `has ${typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v))}, not ${WANT[c.kind]}`);
    }
  });
}

const WANT: Record<Kind, string> = {
  time: "an integer ms timestamp",
  f64: "a finite number",
  i64: "a safe integer",
  i32: "a 32-bit integer",
  bool: "a boolean",
  str: "a string",
  class: CLASSES.join("|"),
};

function bad(i: number, field: string, what: string): RignodeError {
  return new RignodeError("input", `telemetry row ${i}: ${field} ${what}`);
}

/**
 * The rows as one Parquet file (snappy, one column chunk per field; the schema is TELEMETRY_COLUMNS). At least one row:
 * the writer's file of no rows has an empty list in its footer that strict readers (arrow-rs ≥ 57) refuse.
 */
export function toParquet(rows: readonly TelemetryRow[]): Uint8Array {
  if (rows.length === 0) throw new RignodeError("input", "no telemetry rows to write: a Parquet export needs at least one row (widen --since)");
  checkRows(rows);
  const columnData: ColumnSource[] = TELEMETRY_COLUMNS.map((c) => {
    const values = rows.map((r) => r[c.name]);
    // INT64 columns take bigints; the timestamp column converts numbers itself.
    const data = c.kind === "i64" ? values.map((v) => (v === null ? null : BigInt(v as number))) : values;
    return { name: c.name, data, type: PARQUET_TYPE[c.kind], nullable: c.nullable };
  });
  const buf = parquetWriteBuffer({
    columnData,
    rowGroupSize: 100_000,
    createdBy: `rignode ${VERSION}`,
    kvMetadata: [{ key: "rignode.telemetry.schema", value: "2" }], // 2: thread_balance added
  });
  return new Uint8Array(buf);
}

/** The rows as NDJSON: one object per line, keys in column order, t in ms; empty for no rows. */
export function toNdjson(rows: readonly TelemetryRow[]): string {
  checkRows(rows);
  let out = "";
  for (const r of rows) {
    const o: Record<string, unknown> = {};
    for (const c of TELEMETRY_COLUMNS) o[c.name] = r[c.name];
    out += JSON.stringify(o) + "\n";
  }
  return out;
}

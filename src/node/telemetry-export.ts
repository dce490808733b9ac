// `rignode telemetry export`: the history's rows since a time, as NDJSON (one row a line, the columns in order) or
// Parquet; both from the one column table in src/telemetry/parquet.ts, so the two agree row for row.
import { RignodeError } from "../core";
import { toNdjson, toParquet, type TelemetryRow } from "../telemetry";
import { readHistory } from "./telemetry-history";

export type RowEncoder = (rows: TelemetryRow[]) => string | Uint8Array;

/** Export formats by name. */
export const EXPORT_FORMATS: Record<string, RowEncoder> = { ndjson: toNdjson, parquet: toParquet };

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "--since": an ISO time, or -N{s,m,h,d} before now. */
export function parseSince(text: string, now = Date.now()): number {
  const rel = /^-(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(t)) throw new RignodeError("usage", `--since '${text}': expected an ISO time (2026-11-26T10:00:00Z) or a span back from now (-30m, -1h, -7d)`);
  return t;
}

/** The rows of the data dir's history since `since`, encoded as `format`. */
export function exportTelemetry(dataDir: string, o: { since: number; format: string }): { rows: number; body: string | Uint8Array } {
  const enc = EXPORT_FORMATS[o.format];
  if (!enc) {
    const known = Object.keys(EXPORT_FORMATS).join(", ");
    throw new RignodeError("usage", `--format '${o.format}': expected one of ${known}`);
  }
  const h = readHistory(dataDir);
  try {
    const rows = h.rows(o.since);
    return { rows: rows.length, body: enc(rows) };
  } finally {
    h.close();
  }
}

// `rignode telemetry export`: the history's rows since a time, as NDJSON (one row a line, the columns of TelemetryRow
// in order) or through a registered binary format (parquet: H3's writer registers itself here).
import { RignodeError } from "../core";
import { readHistory, ROW_COLUMNS, type TelemetryRow } from "./telemetry-history";

export type RowEncoder = (rows: TelemetryRow[]) => string | Uint8Array;

/** Export formats by name; "parquet" is added where the Parquet writer is built in. */
export const EXPORT_FORMATS: Record<string, RowEncoder> = {
  ndjson: (rows) => rows.map((r) => JSON.stringify(Object.fromEntries(ROW_COLUMNS.map((c) => [c, r[c]])))).join("\n") + (rows.length ? "\n" : ""),
};

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
    throw new RignodeError("usage", o.format === "parquet" ? `--format parquet is not built into this rignode yet (formats: ${known})` : `--format '${o.format}': expected one of ${known}`);
  }
  const h = readHistory(dataDir);
  try {
    const rows = h.rows(o.since);
    return { rows: rows.length, body: enc(rows) };
  } finally {
    h.close();
  }
}

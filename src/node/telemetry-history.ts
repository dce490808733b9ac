// Telemetry's records on disk: scored samples in their own SQLite file (flat rows, kept retentionDays), and an NDJSON
// audit log of every advisory and action. Both in the data dir; both write-behind so a slow disk never delays a sample.
import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RignodeError, type Logger } from "../core";
import { TELEMETRY_COLUMNS, telemetryRow, type Scored, type TelemetryRow } from "../telemetry";

export const TELEMETRY_DB = "telemetry.sqlite";
export const AUDIT_FILE = "telemetry-audit.ndjson";

/** The history's columns: the export's (Parquet and NDJSON), one mechanism from the table in src/telemetry/parquet.ts. */
export const ROW_COLUMNS = TELEMETRY_COLUMNS.map((c) => c.name);

const FLUSH_EVERY = 10;
const PRUNE_EVERY_MS = 3600_000;

/** Scored samples in DATA_DIR/telemetry.sqlite; rows older than the retention are deleted at open and hourly. */
export class TelemetryHistory {
  private pending: TelemetryRow[] = [];
  private lastPrune = 0;
  private failing = false;
  private readonly insert;

  private constructor(private readonly db: Database, private readonly retentionMs: number, private readonly log: Logger | null, private readonly now: () => number) {
    this.insert = db.prepare(`INSERT INTO samples (${ROW_COLUMNS.join(", ")}) VALUES (${ROW_COLUMNS.map(() => "?").join(", ")})`);
  }

  static open(dataDir: string, retentionDays: number, log: Logger | null = null, now: () => number = Date.now): TelemetryHistory {
    let db: Database;
    try {
      mkdirSync(dataDir, { recursive: true });
      db = new Database(join(dataDir, TELEMETRY_DB), { create: true, strict: true });
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`CREATE TABLE IF NOT EXISTS samples (${ROW_COLUMNS.map((c) => `${c} ${colType(c)}`).join(", ")}) STRICT`);
      db.exec("CREATE INDEX IF NOT EXISTS samples_t ON samples (t)");
      // A history written by an older rignode lacks the columns added since (all nullable): they are added, empty.
      const have = new Set((db.prepare("PRAGMA table_info(samples)").all() as { name: string }[]).map((c) => c.name));
      for (const c of ROW_COLUMNS) if (!have.has(c)) db.exec(`ALTER TABLE samples ADD COLUMN ${c} ${colType(c)}`);
    } catch (e) {
      throw new RignodeError("store", `telemetry history ${join(dataDir, TELEMETRY_DB)}: ${(e as Error).message}`);
    }
    const h = new TelemetryHistory(db, retentionDays * 86_400_000, log, now);
    h.prune();
    return h;
  }

  /** The history, or null (logged) when the file cannot be opened: mining goes on without it. */
  static openOrNull(dataDir: string, retentionDays: number, log: Logger): TelemetryHistory | null {
    try {
      return TelemetryHistory.open(dataDir, retentionDays, log);
    } catch (e) {
      log.warn("telemetry.history_unavailable", { error: (e as Error).message, note: "scoring without a history" });
      return null;
    }
  }

  /** A scored sample, with how many advisories were in force then. */
  add(s: Scored, advisories: number): void {
    this.pending.push(telemetryRow(s, advisories));
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  flush(): void {
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const r of rows) this.insert.run(...(ROW_COLUMNS.map((c) => (typeof r[c] === "boolean" ? (r[c] ? 1 : 0) : r[c])) as (string | number | null)[]));
      })();
      this.failing = false;
    } catch (e) {
      // Logged once per failing spell: a full disk must not flood the log, and the scorer goes on.
      if (!this.failing) this.log?.warn("telemetry.history_write_failed", { error: (e as Error).message, rows: rows.length });
      this.failing = true;
    }
    if (this.now() - this.lastPrune > PRUNE_EVERY_MS) this.prune();
  }

  prune(): number {
    this.lastPrune = this.now();
    return this.db.prepare("DELETE FROM samples WHERE t < ?").run(this.now() - this.retentionMs).changes;
  }

  /** Rows at or after `since` (ms), oldest first; pending rows are flushed first. */
  rows(since: number, limit = 10_000_000): TelemetryRow[] {
    this.flush();
    const rows = this.db.prepare(`SELECT ${ROW_COLUMNS.join(", ")} FROM samples WHERE t >= ? ORDER BY t LIMIT ?`).all(since, limit) as (Omit<TelemetryRow, "paused"> & { paused: number })[];
    // SQLite has no booleans: paused is stored 0/1.
    return rows.map((r) => ({ ...r, paused: r.paused === 1 }));
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

function colType(c: string): string {
  const col = TELEMETRY_COLUMNS.find((x) => x.name === c)!;
  const type = col.kind === "f64" ? "REAL" : col.kind === "str" || col.kind === "class" ? "TEXT" : "INTEGER";
  return col.nullable ? type : `${type} NOT NULL`;
}

/** Opens the history read-only for `rignode telemetry export` (a clear error when there is none). */
export function readHistory(dataDir: string): TelemetryHistory {
  if (!existsSync(join(dataDir, TELEMETRY_DB))) throw new RignodeError("unavailable", `no telemetry history in ${dataDir} (${TELEMETRY_DB}): run a miner or a pool with telemetry on first`);
  return TelemetryHistory.open(dataDir, 3650);
}

/** Advisories and actions, one JSON object a line, appended to DATA_DIR/telemetry-audit.ndjson. */
export class AuditLog {
  readonly path: string;
  private failing = false;
  constructor(dataDir: string, private readonly log: Logger) {
    this.path = join(dataDir, AUDIT_FILE);
  }
  write(entry: Record<string, unknown>): void {
    try {
      appendFileSync(this.path, JSON.stringify({ ts: new Date().toISOString(), ...entry }) + "\n");
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.log.warn("telemetry.audit_write_failed", { path: this.path, error: (e as Error).message });
      this.failing = true;
    }
  }
}

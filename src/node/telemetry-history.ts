// Telemetry's records on disk: scored samples in their own SQLite file (flat rows, kept retentionDays), and an NDJSON
// audit log of every advisory and action. Both in the data dir; both write-behind so a slow disk never delays a sample.
import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RignodeError, type Logger } from "../core";
import type { Scored } from "../telemetry";

export const TELEMETRY_DB = "telemetry.sqlite";
export const AUDIT_FILE = "telemetry-audit.ndjson";

/** One scored sample as history keeps and exports it (flat: one column a figure). */
export interface TelemetryRow {
  t: number;
  hashrate: number;
  hashes: number;
  score: number;
  class: string;
  hazard: number;
  reject_ratio: number | null;
  temperature: number | null;
  hashes_per_joule: number | null;
  thermal_headroom: number | null;
  latency_ms: number | null;
  load: number | null;
  threads: number;
  batch: number;
  paused: number;
  alarms: string;
  reasons: string;
}

export const ROW_COLUMNS: (keyof TelemetryRow)[] = [
  "t", "hashrate", "hashes", "score", "class", "hazard", "reject_ratio", "temperature", "hashes_per_joule", "thermal_headroom",
  "latency_ms", "load", "threads", "batch", "paused", "alarms", "reasons",
];

export function toRow(s: Scored): TelemetryRow {
  return {
    t: s.t,
    hashrate: s.sample.hashrate,
    hashes: s.sample.hashes,
    score: s.score,
    class: s.class,
    hazard: s.hazard,
    reject_ratio: s.kpis.rejectRatio,
    temperature: s.sample.tempC,
    hashes_per_joule: s.kpis.hashesPerJoule,
    thermal_headroom: s.kpis.thermalHeadroomC,
    latency_ms: s.sample.latencyMs,
    load: s.sample.load,
    threads: s.sample.threads,
    batch: s.sample.batch,
    paused: s.sample.paused ? 1 : 0,
    alarms: Object.entries(s.features).filter(([, f]) => f.alarm).map(([k]) => k).join(","),
    reasons: s.reasons.join("; "),
  };
}

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

  add(s: Scored): void {
    this.pending.push(toRow(s));
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  flush(): void {
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const r of rows) this.insert.run(...(ROW_COLUMNS.map((c) => r[c]) as (string | number | null)[]));
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
    return this.db.prepare(`SELECT ${ROW_COLUMNS.join(", ")} FROM samples WHERE t >= ? ORDER BY t LIMIT ?`).all(since, limit) as TelemetryRow[];
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

function colType(c: keyof TelemetryRow): string {
  if (c === "class" || c === "alarms" || c === "reasons") return "TEXT NOT NULL";
  if (c === "t" || c === "threads" || c === "batch" || c === "paused") return "INTEGER NOT NULL";
  if (c === "hashrate" || c === "hashes" || c === "score" || c === "hazard") return "REAL NOT NULL";
  return "REAL";
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

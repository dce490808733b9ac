import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileKind, fsReason, RignodeError } from "../core";
import { dataDirError, ensureDataDir } from "./datadir";
import { describeMarker, MARKER_FILE, readMarker, writeMarker } from "./marker";
import { MIGRATIONS, type Migration } from "./migrations";

export const DB_FILE = "rignode.sqlite";

/** The node's one SQLite database: WAL journal, full sync, numbered migrations applied at open. */
export class Store {
  private constructor(
    readonly db: Database,
    readonly path: string,
  ) {}

  /** How long the integrity check at open took (ms), for the start-up log. */
  checkMs = 0;

  /**
   * Opens (creating if needed) the database in `dataDir`, checks it (PRAGMA quick_check) and brings its schema up to
   * date. A damaged database, or one missing or empty where the data dir's marker says one was created, is an error:
   * rignode never serves from it nor replaces it. `about` goes into the marker written at creation (network, genesis).
   */
  static open(dataDir: string, migrations: Migration[] = MIGRATIONS, about: Record<string, string> = {}): Store {
    if (dataDir === ":memory:") return Store.connect(":memory:", dataDir, migrations);
    ensureDataDir(dataDir);
    const path = join(dataDir, DB_FILE);
    const marker = readMarker(dataDir);
    let size: number | null = null;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new RignodeError("store", `database ${path} is ${fileKind(st)}, not a file; move it away or pass another --data-dir`);
      size = st.size;
    } catch (e) {
      if (e instanceof RignodeError) throw e;
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw dataDirError(dataDir, `cannot read ${path}`, e);
    }
    if (marker && !size) {
      const what = size === null ? "is missing" : "is empty (0 bytes)";
      throw new RignodeError(
        "store",
        `database ${path} ${what}, but ${join(dataDir, MARKER_FILE)} says one was made there (${describeMarker(marker)}); restore ${DB_FILE} from a backup, or move ${MARKER_FILE} out of ${dataDir} to start a new chain`,
      );
    }
    const store = Store.connect(path, dataDir, migrations);
    if (!marker) {
      try {
        writeMarker(dataDir, { database: DB_FILE, created: new Date().toISOString(), ...about });
      } catch (e) {
        store.close();
        throw e;
      }
    }
    return store;
  }

  private static connect(path: string, dataDir: string, migrations: Migration[]): Store {
    let db: Database;
    try {
      db = new Database(path, { create: true, strict: true });
    } catch (cause) {
      throw openError(path, dataDir, cause);
    }
    try {
      db.exec("PRAGMA journal_mode = WAL");
      // FULL: a committed transaction survives power loss, which "durable before acknowledged" requires.
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("PRAGMA busy_timeout = 5000");
      // 64 MiB of page cache (the default is 2 MiB): the share ledger's unique index and the chain's tables stay
      // in memory on a busy pool instead of being read back for every commit.
      db.exec("PRAGMA cache_size = -65536");
    } catch (cause) {
      db.close();
      throw openError(path, dataDir, cause);
    }
    const store = new Store(db, path);
    try {
      store.check(dataDir);
      store.migrate(migrations, dataDir);
    } catch (e) {
      db.close();
      throw e;
    }
    return store;
  }

  /**
   * PRAGMA quick_check: every page's b-tree structure and every record's format, in one pass over the file; it
   * skips only the index-against-table comparison of the full integrity_check.
   */
  private check(dataDir: string): void {
    const t0 = performance.now();
    let problems: string[];
    try {
      problems = this.db.query<{ quick_check: string }, []>("PRAGMA quick_check(3)").all().map((r) => r.quick_check);
    } catch (cause) {
      throw openError(this.path, dataDir, cause);
    }
    this.checkMs = Math.round(performance.now() - t0);
    if (problems.length !== 1 || problems[0] !== "ok") throw damaged(this.path, dataDir, problems.join("; "));
  }

  /** The schema version: the number of the last migration applied. */
  schemaVersion(): number {
    const row = this.db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get();
    return row?.v ?? 0;
  }

  private migrate(migrations: Migration[], dataDir: string): void {
    try {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT`);
    } catch (cause) {
      throw openError(this.path, dataDir, cause);
    }
    const current = this.schemaVersion();
    const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    if (current > latest) {
      throw new RignodeError("store", `database ${this.path} has schema version ${current}, newer than this rignode knows (${latest}); use a newer rignode`);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      const apply = this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
        this.db.exec(`PRAGMA user_version = ${m.version}`);
      });
      try {
        apply();
      } catch (cause) {
        if (sqliteKind(cause) !== "other") throw openError(this.path, dataDir, cause);
        throw new RignodeError("store", `migration ${m.version} (${m.name}) failed: ${(cause as Error).message}`, { cause });
      }
    }
  }

  /** Reads a meta value. */
  getMeta(key: string): string | undefined {
    return this.db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
  }

  /** Writes a meta value. */
  setMeta(key: string, value: string): void {
    this.db.query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  /** The journal mode in force (for /info and tests). */
  journalMode(): string {
    return String(this.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode);
  }

  close(): void {
    this.db.close();
  }
}

/** Which SQLite failure an error is: a damaged file, a read-only one, one that cannot be opened, or another. */
function sqliteKind(e: unknown): "damaged" | "readonly" | "cantopen" | "full" | "other" {
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = String((e as Error)?.message ?? "");
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code) || /malformed|not a database|corrupt/i.test(msg)) return "damaged";
  if (/^SQLITE_READONLY/.test(code) || /readonly database|read-only/i.test(msg)) return "readonly";
  if (/^SQLITE_CANTOPEN/.test(code) || /unable to open/i.test(msg)) return "cantopen";
  if (/^SQLITE_FULL/.test(code) || /database or disk is full/i.test(msg)) return "full";
  return "other";
}

function damaged(path: string, dataDir: string, detail: string): RignodeError {
  const short = detail.replace(/\s+/g, " ").slice(0, 160);
  return new RignodeError(
    "store",
    `database ${path} is damaged (${short}); rignode will not serve from it: restore ${DB_FILE} from a backup, or move ${DB_FILE} and ${MARKER_FILE} out of ${dataDir} to start a new chain`,
  );
}

/** The one-line error for a database that cannot be opened or read, by what SQLite said. */
function openError(path: string, dataDir: string, cause: unknown): RignodeError {
  const why = fsReason(cause);
  switch (sqliteKind(cause)) {
    case "damaged":
      return Object.assign(damaged(path, dataDir, why), { cause });
    case "readonly":
      return new RignodeError("store", `database ${path} cannot be written (${why}); make it and ${dataDir} writable for this user, or pass --data-dir DIR`, { cause });
    case "full":
      return new RignodeError("store", `database ${path} cannot be written (${why}); free some space or pass --data-dir DIR on another disk`, { cause });
    case "cantopen":
      return new RignodeError("store", `database ${path} cannot be opened (${why}); check that ${dataDir} is a writable directory and ${DB_FILE} a file in it, or pass --data-dir DIR`, { cause });
    default:
      return new RignodeError("store", `database ${path} cannot be opened (${why}); pass --data-dir DIR, or restore ${DB_FILE} from a backup`, { cause });
  }
}

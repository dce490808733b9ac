import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { RignodeError } from "../core";
import { MIGRATIONS, type Migration } from "./migrations";

export const DB_FILE = "rignode.sqlite";

/** The node's one SQLite database: WAL journal, full sync, numbered migrations applied at open. */
export class Store {
  private constructor(
    readonly db: Database,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the database in `dataDir` and brings its schema up to date. */
  static open(dataDir: string, migrations: Migration[] = MIGRATIONS): Store {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new RignodeError("store", `data dir ${dataDir} cannot be created: ${(cause as Error).message}`, { cause });
    }
    const path = dataDir === ":memory:" ? ":memory:" : join(dataDir, DB_FILE);
    let db: Database;
    try {
      db = new Database(path, { create: true, strict: true });
      db.exec("PRAGMA journal_mode = WAL");
      // FULL: a committed transaction survives power loss, which "durable before acknowledged" requires.
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("PRAGMA busy_timeout = 5000");
      // 64 MiB of page cache (the default is 2 MiB): the share ledger's unique index and the chain's tables stay
      // in memory on a busy pool instead of being read back for every commit.
      db.exec("PRAGMA cache_size = -65536");
    } catch (cause) {
      throw new RignodeError("store", `database ${path} cannot be opened: ${(cause as Error).message}`, { cause });
    }
    const store = new Store(db, path);
    store.migrate(migrations);
    return store;
  }

  /** The schema version: the number of the last migration applied. */
  schemaVersion(): number {
    const row = this.db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get();
    return row?.v ?? 0;
  }

  private migrate(migrations: Migration[]): void {
    try {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT`);
    } catch (cause) {
      throw new RignodeError("store", `database ${this.path} is not usable: ${(cause as Error).message}`, { cause });
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

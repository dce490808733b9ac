import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, truncateSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RignodeError } from "../../src/core";
import { DB_FILE, lockDataDir, MARKER_FILE, MIGRATIONS, readMarker, Store } from "../../src/store";
import { prng } from "../helpers";

const dir = () => mkdtempSync(join(tmpdir(), "rignode-store-"));

describe("store", () => {
  test("opens in WAL mode at the latest schema version and keeps data across reopen", () => {
    const d = dir();
    const s = Store.open(d);
    expect(s.journalMode()).toBe("wal");
    expect(s.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
    s.setMeta("k", "v1");
    s.setMeta("k", "v2");
    s.close();
    const again = Store.open(d);
    expect(again.getMeta("k")).toBe("v2");
    again.close();
  });

  test("applies only the migrations that are new, in order", () => {
    const d = dir();
    Store.open(d).close();
    const more = [...MIGRATIONS, { version: 99, name: "extra", sql: "CREATE TABLE extra (x INTEGER) STRICT" }];
    const s = Store.open(d, more);
    expect(s.schemaVersion()).toBe(99);
    expect(s.db.query("SELECT count(*) AS n FROM schema_migrations").get()).toEqual({ n: MIGRATIONS.length + 1 });
    s.close();
  });

  test("refuses a database from a newer rignode", () => {
    const d = dir();
    Store.open(d, [...MIGRATIONS, { version: 50, name: "future", sql: "SELECT 1" }]).close();
    expect(() => Store.open(d)).toThrow(/schema version 50, newer than this rignode knows/);
  });

  test("a file that is not a database is refused as damaged, with what to do", () => {
    const d = dir();
    writeFileSync(join(d, DB_FILE), "this is not a database".repeat(100));
    expect(() => Store.open(d)).toThrow(`database ${join(d, DB_FILE)} is damaged (`);
    expect(() => Store.open(d)).toThrow(`restore ${DB_FILE} from a backup, or move ${DB_FILE} and ${MARKER_FILE} out of ${d} to start a new chain`);
  });

  test("a failing migration leaves the schema where it was", () => {
    const d = dir();
    Store.open(d).close();
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    const broken = { version: latest + 1, name: "broken", sql: "CREATE TABLE t (x INTEGER); SELECT nonsense FROM nowhere" };
    expect(() => Store.open(d, [...MIGRATIONS, broken])).toThrow(`migration ${latest + 1} (broken) failed`);
    const s = Store.open(d);
    expect(s.schemaVersion()).toBe(latest);
    expect(s.db.query("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeNull();
    s.close();
  });
});

/** A store with some rows in several tables, closed (its WAL checkpointed into the file). */
function filledStore(): string {
  const d = dir();
  const s = Store.open(d, MIGRATIONS, { network: "devnet" });
  s.db.exec("CREATE TABLE filler (k INTEGER PRIMARY KEY, v TEXT) STRICT; CREATE INDEX filler_v ON filler (v)");
  const put = s.db.query("INSERT INTO filler (v) VALUES (?)");
  s.db.transaction(() => {
    for (let i = 0; i < 3000; i++) put.run(`row ${i} `.repeat(8));
  })();
  for (let i = 0; i < 50; i++) s.setMeta(`k${i}`, `v${i}`);
  s.close();
  return d;
}

/** Overwrites whole pages of the database's b-trees (root pages from the middle of the schema) with random bytes. */
function damagePages(d: string, seed: number): number[] {
  const path = join(d, DB_FILE);
  const db = new Database(path);
  const pageSize = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  const roots = (db.query("SELECT rootpage FROM sqlite_master WHERE rootpage > 1 ORDER BY rootpage").all() as { rootpage: number }[]).map((r) => r.rootpage);
  db.close();
  const middle = roots.slice(Math.floor(roots.length / 3), Math.floor(roots.length / 3) + 3);
  const rand = prng(seed);
  const fd = openSync(path, "r+");
  for (const page of middle) {
    const bytes = Buffer.alloc(pageSize);
    for (let i = 0; i < pageSize; i++) bytes[i] = Math.floor(rand() * 256);
    writeSync(fd, bytes, 0, pageSize, (page - 1) * pageSize);
  }
  closeSync(fd);
  return middle;
}

const storeError = (f: () => unknown): RignodeError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RignodeError);
    return e as RignodeError;
  }
  throw new Error("expected a RignodeError");
};

describe("store integrity at open", () => {
  test("quick_check at open: random bytes over b-tree pages in the middle of the file are refused, naming the file and what to do", () => {
    for (const seed of [1, 2, 3]) {
      const d = filledStore();
      expect(damagePages(d, seed)).toHaveLength(3);
      const e = storeError(() => Store.open(d));
      expect(e.code).toBe("store"); // exit 1
      expect(e.message).toStartWith(`database ${join(d, DB_FILE)} is damaged (`);
      expect(e.message).toContain("rignode will not serve from it: restore rignode.sqlite from a backup");
      expect(e.message).not.toContain("\n");
    }
  });

  test("an intact store passes the check and records how long it took", () => {
    const d = filledStore();
    const s = Store.open(d);
    expect(s.checkMs).toBeGreaterThanOrEqual(0);
    expect(s.getMeta("k7")).toBe("v7");
    s.close();
  });

  test("the marker is written once at creation, outside the database, with what the database holds", () => {
    const d = dir();
    Store.open(d, MIGRATIONS, { network: "devnet", genesis: "ab".repeat(32) }).close();
    const m = readMarker(d)!;
    expect(m).toMatchObject({ database: DB_FILE, network: "devnet", genesis: "ab".repeat(32) });
    expect(Date.parse(m.created)).toBeGreaterThan(Date.now() - 60_000);
    const before = readFileSync(join(d, MARKER_FILE), "utf8");
    Store.open(d, MIGRATIONS, { network: "other" }).close();
    expect(readFileSync(join(d, MARKER_FILE), "utf8")).toBe(before); // never rewritten
  });

  test("a database truncated to 0 bytes where the marker says one was made is an error, not a fresh chain", () => {
    const d = filledStore();
    truncateSync(join(d, DB_FILE), 0);
    const e = storeError(() => Store.open(d));
    expect(e.code).toBe("store");
    expect(e.message).toStartWith(`database ${join(d, DB_FILE)} is empty (0 bytes), but ${join(d, MARKER_FILE)} says one was made there (created `);
    expect(e.message).toContain("network devnet");
    expect(e.message).toContain(`restore ${DB_FILE} from a backup, or move ${MARKER_FILE} out of ${d} to start a new chain`);
    expect(readFileSync(join(d, DB_FILE)).length).toBe(0); // left as found: nothing created over it
  });

  test("a missing database where the marker says one was made is an error; moving the marker away starts afresh", () => {
    const d = filledStore();
    unlinkSync(join(d, DB_FILE));
    expect(() => Store.open(d)).toThrow(`database ${join(d, DB_FILE)} is missing, but`);
    expect(existsSync(join(d, DB_FILE))).toBe(false);
    unlinkSync(join(d, MARKER_FILE));
    const s = Store.open(d);
    expect(s.getMeta("k7")).toBeUndefined();
    s.close();
    expect(readMarker(d)).not.toBeNull();
  });

  test("a data dir from before markers (a database, no marker) opens and gets its marker", () => {
    const d = filledStore();
    unlinkSync(join(d, MARKER_FILE));
    const s = Store.open(d);
    expect(s.getMeta("k7")).toBe("v7");
    s.close();
    expect(readMarker(d)?.database).toBe(DB_FILE);
  });

  test("a damaged marker, or a database path that is a directory, is a clear error", () => {
    const d = filledStore();
    writeFileSync(join(d, MARKER_FILE), "\x00garbage");
    expect(() => Store.open(d)).toThrow(`marker ${join(d, MARKER_FILE)} is damaged`);
    const e = dir();
    mkdirSync(join(e, DB_FILE));
    expect(() => Store.open(e)).toThrow(`database ${join(e, DB_FILE)} is a directory, not a file`);
  });

  test("a data dir that cannot be made (under /proc, or below a file) names the path and what to do", () => {
    const proc = `/proc/rignode-test-${process.pid}`;
    const e = storeError(() => Store.open(proc));
    expect(e.code).toBe("store");
    expect(e.message).toStartWith(`data dir ${proc}: cannot be created or used as a directory: `);
    expect(e.message).toContain("pass --data-dir DIR");
    const f = join(dir(), "file");
    writeFileSync(f, "x");
    const e2 = storeError(() => lockDataDir(join(f, "data")));
    expect(e2.message).toStartWith(`data dir ${join(f, "data")}: cannot be created or used as a directory: `);
    const e3 = storeError(() => lockDataDir(f));
    expect(e3.message).toMatch(/not a directory|exists and is not a directory/);
  });
});

describe("data dir lock", () => {
  test("LOCK as a directory is refused with its path and what to do, and left alone", () => {
    const d = dir();
    mkdirSync(join(d, "LOCK"));
    const e = storeError(() => lockDataDir(d));
    expect(e.code).toBe("store");
    expect(e.message).toBe(`${join(d, "LOCK")} is a directory, not rignode's lock file; remove it (rm -r ${join(d, "LOCK")}) and start again`);
    expect(existsSync(join(d, "LOCK"))).toBe(true);
  });

  test("a data dir that cannot be written: /proc/self (a directory no one may create files in)", () => {
    const e = storeError(() => lockDataDir("/proc/self"));
    expect(e.code).toBe("store");
    expect(e.message).toStartWith(`data dir /proc/self: cannot create /proc/self/LOCK: `);
  });

  test("one process per data dir; a lock left by a dead process is taken over", () => {
    const d = dir();
    const a = lockDataDir(d);
    writeFileSync(join(d, "LOCK"), "1\n"); // pid 1 is alive (init): somebody else holds it
    expect(() => lockDataDir(d)).toThrow("is in use by process 1");
    writeFileSync(join(d, "LOCK"), "999999999\n"); // no such process: stale
    const b = lockDataDir(d);
    b.release();
    a.release();
  });
});

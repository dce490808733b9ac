import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DB_FILE, lockDataDir, MIGRATIONS, Store } from "../../src/store";

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

  test("a corrupt database file is a clear error", () => {
    const d = dir();
    writeFileSync(join(d, DB_FILE), "this is not a database".repeat(100));
    expect(() => Store.open(d)).toThrow(/cannot be opened|not usable/);
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

describe("data dir lock", () => {
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

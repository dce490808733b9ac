import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { parseLedgerSpec } from "../../src/pool";

describe("--ledger", () => {
  test("sqlite by default; a postgres:// URL from the flag or RIGNODE_LEDGER", () => {
    expect(loadConfig({ env: {}, flags: {} }).pool.ledger).toBe("sqlite");
    expect(loadConfig({ env: {}, flags: { ledger: "postgres://pool@10.0.0.5:5432/ledger" } }).pool.ledger).toBe("postgres://pool@10.0.0.5:5432/ledger");
    expect(loadConfig({ env: { RIGNODE_LEDGER: "postgresql://pool:secret@db:5433/l?sslmode=require" }, flags: {} }).pool.ledger).toBe("postgresql://pool:secret@db:5433/l?sslmode=require");
    expect(parseLedgerSpec("postgres://pool@db:5432/ledger")).toEqual({ kind: "postgres", url: "postgres://pool@db:5432/ledger", connections: 4, commitTimeoutMs: 10_000 });
  });

  test("connections= and commit_timeout= in the URL are rignode's: read, checked, and not passed to the driver", () => {
    const s = parseLedgerSpec("postgres://pool@db:5432/ledger?sslmode=require&connections=16&commit_timeout=30");
    expect(s).toEqual({ kind: "postgres", url: "postgres://pool@db:5432/ledger?sslmode=require", connections: 16, commitTimeoutMs: 30_000 });
    expect(() => parseLedgerSpec("postgres://pool@db/l?connections=0")).toThrow(/connections=0 must be a whole number 1-64/);
    expect(() => parseLedgerSpec("postgres://pool@db/l?commit_timeout=abc")).toThrow(/commit_timeout=abc must be a whole number 1-120/);
    expect(() => parseLedgerSpec("postgres://pool@db/l?connections=65")).toThrow(/1-64/);
  });

  test.each(["mysql://pool@db/ledger", "postgres://db:5432", "sqlite3", "", "postgres://pool@db:5432/"])("%p is refused with what is accepted", (bad) => {
    expect(() => loadConfig({ env: {}, flags: { ledger: bad } })).toThrow(/sqlite or postgres:\/\/USER@HOST:PORT\/DB/);
    expect(() => parseLedgerSpec(bad)).toThrow(/neither "sqlite" nor a postgres:\/\/USER@HOST:PORT\/DB URL/);
  });
});

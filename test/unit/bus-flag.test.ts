import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { exitCodeFor } from "../../src/core";
import { checkBusConfig } from "../../src/node/pool";

describe("--bus", () => {
  test("off by default; redis://HOST:PORT[/DB] from the flag or RIGNODE_BUS", () => {
    expect(loadConfig({ env: {}, flags: {} }).pool.bus).toBe("");
    expect(loadConfig({ env: {}, flags: { bus: "redis://10.0.0.7:6379/2" } }).pool.bus).toBe("redis://10.0.0.7:6379/2");
    expect(loadConfig({ env: { RIGNODE_BUS: "valkey://:pw@cache:6380" }, flags: {} }).pool.bus).toBe("valkey://:pw@cache:6380");
  });

  test.each(["http://cache:6379", "redis://cache", "redis://cache:6379/db", "cache:6379"])("%p is refused with what is accepted", (bad) => {
    expect(() => loadConfig({ env: {}, flags: { bus: bad } })).toThrow(/redis:\/\/HOST:PORT\[\/DB\]/);
  });

  test("needs a postgres ledger: with sqlite the start is refused (a usage error: exit 2) with the reason", () => {
    const sqlite = loadConfig({ env: {}, flags: { bus: "redis://127.0.0.1:6379" } });
    expect(() => checkBusConfig(sqlite)).toThrow(/--bus needs --ledger postgres:\/\//);
    let err: unknown;
    try {
      checkBusConfig(sqlite);
    } catch (e) {
      err = e;
    }
    expect(exitCodeFor(err)).toBe(2);
    const pg = loadConfig({ env: {}, flags: { bus: "redis://127.0.0.1:6379", ledger: "postgres://pool@db:5432/ledger" } });
    expect(() => checkBusConfig(pg)).not.toThrow();
    expect(() => checkBusConfig(loadConfig({ env: {}, flags: {} }))).not.toThrow();
  });
});

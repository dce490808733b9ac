import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";
import { createLogger, fromHex, leToBigInt, bigIntToLe, toHex, reversed } from "../../src/core";
import { HashrateMeter } from "../../src/miner";
import { isLoopbackHost, parseListen } from "../../src/config";

describe("argv parsing", () => {
  test("command, --flag value, --flag=value, booleans, positionals", () => {
    const p = parseArgs(["bench", "--threads", "2", "--algo=scrypt", "--json", "x"], new Set(["json"]));
    expect(p.command).toBe("bench");
    expect(Object.fromEntries(p.flags)).toEqual({ threads: "2", algo: "scrypt", json: true });
    expect(p.positionals).toEqual(["x"]);
  });
  test("a flag given twice and single-dash options are refused", () => {
    expect(() => parseArgs(["bench", "--threads", "1", "--threads", "2"], new Set())).toThrow("given twice");
    expect(() => parseArgs(["bench", "-t", "2"], new Set())).toThrow("unknown option '-t'");
  });
});

describe("bytes", () => {
  test("hex round trip and errors", () => {
    expect(toHex(fromHex("00ff10"))).toBe("00ff10");
    expect(() => fromHex("abc")).toThrow("odd number of digits");
    expect(() => fromHex("zz")).toThrow("not a hex digit");
    expect(() => fromHex("00", 2, "HEADER_HEX")).toThrow("HEADER_HEX: expected 2 bytes (4 hex digits), got 1 bytes");
  });
  test("little-endian numbers", () => {
    expect(leToBigInt(Uint8Array.from([1, 2]))).toBe(0x0201n);
    expect(toHex(bigIntToLe(0x0201n, 4))).toBe("01020000");
    expect(toHex(reversed(Uint8Array.from([1, 2, 3])))).toBe("030201");
  });
});

describe("hashrate windows", () => {
  test("rates over 10 s, 60 s and 15 min from cumulative samples", () => {
    const m = new HashrateMeter();
    for (let s = 0; s <= 120; s++) m.sample(s * 1000, s < 60 ? s * 100 : 6000 + (s - 60) * 1000);
    expect(m.rate(10_000)).toBeCloseTo(1000, 6);
    expect(m.rate(60_000)).toBeCloseTo(1000, 6);
    expect(m.rate(15 * 60_000)).toBeCloseTo((66000 - 0) / 120, 6); // all we have
  });
  test("zero before two samples", () => {
    const m = new HashrateMeter();
    m.sample(0, 5);
    expect(m.windows()).toEqual({ "10s": 0, "60s": 0, "15m": 0 });
  });
});

describe("logging", () => {
  test("text lines with key=value, JSON lines with --log-json, levels filtered", () => {
    const lines: string[] = [];
    const text = createLogger({ json: false, level: "info", write: (l) => lines.push(l) });
    text.debug("hidden");
    text.info("miner.started", { threads: 2, note: "two words" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+Z INFO {2}miner\.started threads=2 note="two words"$/);
    const json = createLogger({ json: true, level: "debug", write: (l) => lines.push(l) }).child({ component: "api" });
    json.warn("x", { n: 5n });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: "warn", event: "x", component: "api", n: "5" });
  });
});

describe("listen addresses", () => {
  test("parse and loopback detection", () => {
    expect(parseListen("[::1]:8420")).toEqual({ host: "::1", port: 8420 });
    expect(parseListen("0.0.0.0:1")).toEqual({ host: "0.0.0.0", port: 1 });
    expect(isLoopbackHost("127.0.0.2")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("192.168.1.2")).toBe(false);
  });
});

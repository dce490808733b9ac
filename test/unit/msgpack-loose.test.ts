// The loose msgpack profile of the native Stratum port, and that the canonical (consensus) profile refuses it.
import { describe, expect, test } from "bun:test";
import { decode, decodeLoose, encode, encodeLoose } from "../../src/core";

describe("msgpack loose profile", () => {
  test("JSON-RPC objects round-trip: maps, floats, negative integers, nested arrays, null", () => {
    const m = { id: -5, method: "mining.set_difficulty", params: [0.000123, -70000, 2 ** 40, "x", null, true, [{ a: [1.5] }]] };
    expect(decodeLoose(encodeLoose(m))).toEqual(m);
  });

  test("the canonical decoder refuses maps, floats and negative integers; the canonical encoder too", () => {
    expect(() => decode(encodeLoose({ a: 1 }))).toThrow(/not allowed/);
    expect(() => decode(encodeLoose([0.5]))).toThrow(/not allowed/);
    expect(() => decode(encodeLoose([-1]))).toThrow(/not allowed/);
    expect(() => encode([0.5] as never)).toThrow(/unsigned safe integer/);
  });

  test("the loose decoder takes wider-than-needed integers and lengths (other encoders write them)", () => {
    expect(decodeLoose(new Uint8Array([0xcd, 0x00, 0x05]))).toBe(5);
    expect(decodeLoose(new Uint8Array([0xd9, 0x01, 0x61]))).toBe("a");
    expect(() => decodeLoose(new Uint8Array([0x81, 0x01, 0x02]))).toThrow(/map keys must be strings/);
    expect(() => decodeLoose(new Uint8Array([0xde, 0xff, 0xff]))).toThrow(/cannot fit/);
  });
});

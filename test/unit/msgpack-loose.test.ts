// The loose msgpack profile of the native Stratum port, and that the canonical (consensus) profile refuses it.
import { describe, expect, test } from "bun:test";
import { decode, decodeLoose, encode, encodeLoose, RignodeError } from "../../src/core";

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
  });

  test("bad input is an 'input' error, never another exception: a key that is an array, truncation, trailing bytes, unknown extensions, nesting that exhausts the stack", () => {
    const deep = new Uint8Array(1 << 20).fill(0x91);
    deep[deep.length - 1] = 0xc0;
    for (const bad of [[0x81, 0x91, 0x01, 0x02], [0xde, 0xff, 0xff], [0x92, 0x01], [0x01, 0x02], [0xd4, 0x05, 0x01], [], [0xdd, 0xff, 0xff, 0xff, 0xff]].map((b) => Uint8Array.from(b)).concat([deep])) {
      let err: unknown;
      try {
        decodeLoose(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RignodeError);
      expect((err as RignodeError).code).toBe("input");
      expect((err as Error).message).toStartWith("msgpack: ");
    }
  });

  test("only JSON data comes out: msgpackr's Date and undefined extensions and nesting past 32 are 'input' errors", () => {
    const deep = new Uint8Array(40).fill(0x91);
    deep[39] = 0xc0;
    expect(() => decodeLoose(Uint8Array.from([0xd6, 0xff, 0, 0, 0, 1]))).toThrow("msgpack: a Date value is not JSON data");
    expect(() => decodeLoose(Uint8Array.from([0xd4, 0x00, 0x00]))).toThrow("msgpack: an undefined value is not JSON data");
    expect(() => decodeLoose(deep)).toThrow("msgpack: nested too deeply");
    expect(decodeLoose(Uint8Array.from([0x81, 0xa1, 0x62, 0xc4, 0x02, 0x01, 0x02]))).toEqual({ b: new Uint8Array([1, 2]) });
  });

  test("a '__proto__' key cannot reach an object's prototype", () => {
    const m = decodeLoose(Uint8Array.from([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x81, 0xa1, 0x61, 0x01])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect((m as { a?: unknown }).a).toBeUndefined();
    expect(({} as { a?: unknown }).a).toBeUndefined();
  });

  test("the bytes are the shortest forms, the same any msgpack encoder writes for JSON data", () => {
    expect([...encodeLoose({ id: 1, result: true, error: null })]).toEqual([0x83, 0xa2, 0x69, 0x64, 0x01, 0xa6, ...new TextEncoder().encode("result"), 0xc3, 0xa5, ...new TextEncoder().encode("error"), 0xc0]);
    expect([...encodeLoose([-1, 300, "a"])]).toEqual([0x93, 0xff, 0xcd, 0x01, 0x2c, 0xa1, 0x61]);
  });

  // Found by test/fuzz: msgpackr reads structured-clone references by default, so two extension values (0x69 "value
  // #1", then 0x70 "pointer to #1" inside it) made an object that contains itself. A session echoing such an id could
  // not encode its answer (stack overflow), and the worker's client threw a TypeError showing such an error text.
  test("a reference cycle (structured-clone extensions 0x69/0x70) is refused as bad input", () => {
    const cyclic = Uint8Array.from(Buffer.from("82a26964d669000000019191d67000000001a66d6574686f64a178", "hex")); // {id: [[<id>]], method: "x"}
    expect(() => decodeLoose(cyclic)).toThrow(RignodeError);
    expect(() => decodeLoose(cyclic)).toThrow(/msgpack: Structured clone extension is disabled/);
    expect(() => decodeLoose(Uint8Array.from([0xd6, 0x70, 0, 0, 0, 1]))).toThrow(RignodeError);
  });

  // Found by test/fuzz: msgpackr reads its big-integer extension (0x42) of any size; nothing writes one back past 64
  // bits, so a session echoing it as an id could not answer.
  test("the big-integer extension (0x42) is refused as bad input", () => {
    const big = Uint8Array.from(Buffer.from("81a26964c70c420c6eada6e7c445f309ad1287", "hex")); // {id: <a 96-bit integer>}
    expect(() => decodeLoose(big)).toThrow(/msgpack: the big-integer extension \(0x42\) is not accepted/);
  });
});

import { describe, expect, test } from "bun:test";
import { encodeLine, LineDecoder } from "../../src/stratum";

describe("JSON lines", () => {
  test("messages split at any byte, several per chunk, CRLF and blank lines", () => {
    const text = '{"id":1,"method":"mining.subscribe","params":["é"]}\r\n\n{"id":"x","method":"mining.authorize","params":["a.b","x"]}\n';
    const bytes = new TextEncoder().encode(text);
    const d = new LineDecoder(1024);
    const out: unknown[] = [];
    for (const b of bytes) out.push(...d.push(new Uint8Array([b])));
    expect(out).toEqual([
      { id: 1, method: "mining.subscribe", params: ["é"] },
      { id: "x", method: "mining.authorize", params: ["a.b", "x"] },
    ]);
    expect(new LineDecoder(100).push(encodeLine({ a: 1 }))).toEqual([{ a: 1 }]);
  });
  test("an overlong line is refused even before its newline arrives; a non-JSON line is refused", () => {
    expect(() => new LineDecoder(16).push(new TextEncoder().encode("x".repeat(17)))).toThrow("longer than 16");
    expect(() => new LineDecoder(64).push(new TextEncoder().encode("hello\n"))).toThrow("not JSON");
  });
});

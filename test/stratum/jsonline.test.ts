import { describe, expect, test } from "bun:test";
import { encodeLine, LineDecoder } from "../../src/stratum";
import { prng } from "../helpers";

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
  test("any cutting of a stream into reads gives the same messages", () => {
    const msgs = Array.from({ length: 40 }, (_, i) => ({ id: i, method: "mining.submit", params: ["é".repeat(i), "x".repeat(i * 37)] }));
    const bytes = new TextEncoder().encode(msgs.map((m) => JSON.stringify(m) + (m.id % 3 ? "\n" : "\r\n\n")).join(""));
    const rand = prng(11);
    for (let round = 0; round < 20; round++) {
      const d = new LineDecoder(4096);
      const out: unknown[] = [];
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(rand() * (round % 2 ? 3 : 700));
        out.push(...d.push(bytes.slice(at, at + n)));
        at += n;
      }
      expect(out).toEqual(msgs);
    }
  });
  // Seen in the fuzz run's slowest inputs: every read re-copied the unfinished line, O(n^2) in the number of reads
  // (a 16 KiB line in 1-byte reads: 128 MB copied, ~0.25 s of CPU; a 1 MiB line on the worker's side: minutes).
  // The work is counted in bytes copied, not timed.
  test("a line trickled in 1-byte reads is copied a bounded number of times, not once per read", () => {
    const set = Uint8Array.prototype.set;
    let copied = 0;
    Uint8Array.prototype.set = function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copied += src.length;
      return set.call(this, src, offset);
    };
    let out: unknown[] = [];
    try {
      const d = new LineDecoder(16 * 1024);
      const line = new TextEncoder().encode(JSON.stringify({ id: 1, method: "x", params: ["a".repeat(16_000)] }) + "\n");
      for (const byte of line) out = out.concat(d.push(new Uint8Array([byte])));
    } finally {
      Uint8Array.prototype.set = set;
    }
    expect(out).toEqual([{ id: 1, method: "x", params: ["a".repeat(16_000)] }]);
    expect(copied).toBeLessThan(4 * 16_100);
  });
});

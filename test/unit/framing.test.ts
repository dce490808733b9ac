import { describe, expect, test } from "bun:test";
import { frame, FrameDecoder, FrameWriter, parseMessage, messageValue } from "../../src/p2p";

describe("frames", () => {
  test("frames split into 1-byte chunks reassemble in order", () => {
    const a = frame(["ping", 1], 1000);
    const b = frame(["inv", "tx", [new Uint8Array(32).fill(3)]], 1000);
    const d = new FrameDecoder(1000);
    const out = [];
    for (const byte of [...a, ...b]) out.push(...d.push(new Uint8Array([byte])));
    expect(out).toEqual([["ping", 1], ["inv", "tx", [new Uint8Array(32).fill(3)]]]);
    expect(d.pending()).toBe(0);
  });
  test("a length over the maximum is refused before its body arrives", () => {
    const d = new FrameDecoder(100);
    expect(() => d.push(new Uint8Array([0, 0, 1, 0]))).toThrow("exceeds the maximum 100");
    expect(() => frame(["x", new Uint8Array(200)], 100)).toThrow("exceeds 100");
  });
  test("a body that is not canonical msgpack is refused", () => {
    expect(() => new FrameDecoder(100).push(new Uint8Array([0, 0, 0, 2, 0xcc, 0x01]))).toThrow("shortest form");
  });
  test("a 4 MiB frame trickled in 1 KiB pieces decodes to the same value; then frames and a split prefix in one chunk", () => {
    const big = new Uint8Array(4 * 1024 * 1024 - 64).map((_, i) => (i * 31 + 7) & 0xff);
    const f = frame(["blocks", [big]], 4 * 1024 * 1024);
    const d = new FrameDecoder(4 * 1024 * 1024);
    const out = [];
    for (let i = 0; i < f.length; i += 1024) {
      out.push(...d.push(f.subarray(i, i + 1024)));
      if (i + 1024 < f.length) expect(d.pending()).toBe(i + 1024);
    }
    expect(out.length).toBe(1);
    expect(Buffer.from((out[0] as any)[1][0]).equals(Buffer.from(big))).toBe(true);
    expect(d.pending()).toBe(0);
    // Two whole frames and 2 bytes of a third's prefix, then the rest.
    const a = frame(["ping", 1], 100), b = frame(["pong", 2], 100), c = frame(["ping", 3], 100);
    const joined = new Uint8Array([...a, ...b, ...c]);
    expect(d.push(joined.subarray(0, a.length + b.length + 2))).toEqual([["ping", 1], ["pong", 2]]);
    expect(d.pending()).toBe(2);
    expect(d.push(joined.subarray(a.length + b.length + 2))).toEqual([["ping", 3]]);
  });
  test("an unfinished frame is overdue after the floor plus its length at the minimum rate; a finished one is not", () => {
    let now = 1_000_000;
    const d = new FrameDecoder(4 * 1024 * 1024, undefined, () => now);
    expect(d.overdue()).toBeNull();
    const f = frame(["x", new Uint8Array(80 * 1024)], 4 * 1024 * 1024);
    d.push(f.subarray(0, 100));
    expect(d.expected()).toBe(f.length - 4);
    // 15 s floor + ~80 KiB at 8 KiB/s = ~25 s.
    now += 24_000;
    expect(d.overdue()).toBeNull();
    now += 2_000;
    expect(d.overdue()).toMatch(/unfinished after 26 s/);
    d.push(f.subarray(100));
    expect(d.overdue()).toBeNull();
    // A prefix that never completes is timed too.
    d.push(new Uint8Array([0, 0]));
    now += 16_000;
    expect(d.overdue()).toMatch(/a frame of 0 bytes unfinished/);
  });
  test("partial socket writes are queued and flushed on drain, in order; a peer that never reads is cut off", () => {
    const written: number[] = [];
    let room = 3;
    const sock = { write: (b: Uint8Array) => { const n = Math.min(room, b.length); written.push(...b.subarray(0, n)); room -= n; return n; }, end() {} };
    const w = new FrameWriter(sock, 10);
    expect(w.send(new Uint8Array([1, 2, 3, 4, 5]))).toBe(true);
    expect(w.send(new Uint8Array([6, 7]))).toBe(true);
    expect(w.backlog()).toBe(4);
    room = 100;
    w.drain();
    expect(written).toEqual([1, 2, 3, 4, 5, 6, 7]);
    room = 0;
    expect(w.send(new Uint8Array(8))).toBe(true);
    expect(w.send(new Uint8Array(8))).toBe(false);
  });
});

describe("messages", () => {
  test("round trip and shape checks", () => {
    const m = { t: "getblocks" as const, hashes: [new Uint8Array(32)] };
    expect(parseMessage(messageValue(m))).toEqual(m);
    expect(() => parseMessage(["getblocks", [new Uint8Array(31)]])).toThrow("hash must be 32 bytes");
    expect(() => parseMessage(["nonsense"])).toThrow("unknown message");
    expect(() => parseMessage(["getblocks", Array(17).fill(new Uint8Array(32))])).toThrow("at most 16");
    expect(() => parseMessage(5)).toThrow("a message is [name");
  });
});

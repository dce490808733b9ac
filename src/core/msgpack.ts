import { RignodeError } from "./errors";

// Canonical MessagePack for consensus data: one encoding per value. The encoder always picks the shortest form;
// the decoder refuses any other form (a longer integer width, a str for bytes, trailing bytes), so a transaction
// or block cannot be re-encoded into different bytes with the same meaning (no malleability of ids).

/** The values the chain encodes: unsigned integers (bigint above 2^53), byte strings, text, booleans, null, arrays. */
export type Value = number | bigint | Uint8Array | string | boolean | null | Value[];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Encodes a value canonically. Integers must be unsigned; floats and maps are not part of the format. */
export function encode(v: Value): Uint8Array {
  const w = new Writer();
  write(w, v);
  return w.finish();
}

/** Decodes exactly one canonical value from `bytes`; anything else is an "input" error. */
export function decode(bytes: Uint8Array, maxDepth = 16): Value {
  const r: Reader = { b: bytes, p: 0, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  const v = read(r, maxDepth);
  if (r.p !== bytes.length) fail(`${bytes.length - r.p} trailing bytes`);
  return v;
}

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  byte(x: number): void {
    this.ensure(1);
    this.buf[this.len++] = x;
  }
  uint(x: bigint, bytes: number): void {
    this.ensure(bytes);
    for (let i = bytes - 1; i >= 0; i--) this.buf[this.len++] = Number((x >> BigInt(8 * i)) & 0xffn);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeUint(w: Writer, x: bigint): void {
  if (x < 0n) throw new RignodeError("input", `msgpack: negative integer ${x} is not encodable`);
  if (x < 0x80n) w.byte(Number(x));
  else if (x <= 0xffn) (w.byte(0xcc), w.uint(x, 1));
  else if (x <= 0xffffn) (w.byte(0xcd), w.uint(x, 2));
  else if (x <= 0xffffffffn) (w.byte(0xce), w.uint(x, 4));
  else if (x <= 0xffffffffffffffffn) (w.byte(0xcf), w.uint(x, 8));
  else throw new RignodeError("input", `msgpack: integer ${x} exceeds 64 bits`);
}

function writeLen(w: Writer, n: number, fix: number | null, fixMax: number, c8: number | null, c16: number, c32: number): void {
  if (fix !== null && n <= fixMax) w.byte(fix | n);
  else if (c8 !== null && n <= 0xff) (w.byte(c8), w.uint(BigInt(n), 1));
  else if (n <= 0xffff) (w.byte(c16), w.uint(BigInt(n), 2));
  else (w.byte(c32), w.uint(BigInt(n), 4));
}

function write(w: Writer, v: Value): void {
  if (v === null) w.byte(0xc0);
  else if (v === false) w.byte(0xc2);
  else if (v === true) w.byte(0xc3);
  else if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) writeUint(w, BigInt(v));
    else throw new RignodeError("input", `msgpack: ${v} is not an unsigned safe integer`);
  } else if (typeof v === "bigint") writeUint(w, v);
  else if (v instanceof Uint8Array) {
    writeLen(w, v.length, null, 0, 0xc4, 0xc5, 0xc6);
    w.bytes(v);
  } else if (typeof v === "string") {
    const b = new TextEncoder().encode(v);
    writeLen(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
    w.bytes(b);
  } else if (Array.isArray(v)) {
    writeLen(w, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const x of v) write(w, x);
  } else throw new RignodeError("input", `msgpack: cannot encode ${typeof v}`);
}

interface Reader {
  b: Uint8Array;
  p: number;
  dv: DataView;
}

function fail(msg: string): never {
  throw new RignodeError("input", `msgpack: ${msg}`);
}

function take(r: Reader, n: number): number {
  if (r.p + n > r.b.length) fail("truncated");
  const at = r.p;
  r.p += n;
  return at;
}

function readUintN(r: Reader, n: number): bigint {
  const at = take(r, n);
  let x = 0n;
  for (let i = 0; i < n; i++) x = (x << 8n) | BigInt(r.b[at + i]!);
  return x;
}

function lenOf(r: Reader, n: number, min: number): number {
  const x = Number(readUintN(r, n));
  if (x < min) fail(`length ${x} not in its shortest form`);
  return x;
}

/** An integer read back: a number when safe, a bigint above 2^53 (both round-trip through encode). */
function intValue(x: bigint): number | bigint {
  return x <= MAX_SAFE ? Number(x) : x;
}

function read(r: Reader, depth: number): Value {
  const t = r.b[take(r, 1)]!;
  if (t < 0x80) return t;
  if (t >= 0x90 && t <= 0x9f) return readArray(r, t & 0x0f, depth);
  if (t >= 0xa0 && t <= 0xbf) return readStr(r, t & 0x1f);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(r, lenOf(r, 1, 0));
    case 0xc5:
      return readBin(r, lenOf(r, 2, 0x100));
    case 0xc6:
      return readBin(r, lenOf(r, 4, 0x10000));
    case 0xcc: {
      const x = readUintN(r, 1);
      if (x < 0x80n) fail("integer not in its shortest form");
      return Number(x);
    }
    case 0xcd:
      return intMin(r, readUintN(r, 2), 0x100n);
    case 0xce:
      return intMin(r, readUintN(r, 4), 0x10000n);
    case 0xcf:
      return intMin(r, readUintN(r, 8), 0x100000000n);
    case 0xd9:
      return readStr(r, lenOf(r, 1, 32));
    case 0xda:
      return readStr(r, lenOf(r, 2, 0x100));
    case 0xdb:
      return readStr(r, lenOf(r, 4, 0x10000));
    case 0xdc:
      return readArray(r, lenOf(r, 2, 16), depth);
    case 0xdd:
      return readArray(r, lenOf(r, 4, 0x10000), depth);
    default:
      return fail(`type byte 0x${t.toString(16)} is not allowed`);
  }
}

function intMin(r: Reader, x: bigint, min: bigint): number | bigint {
  if (x < min) fail("integer not in its shortest form");
  return intValue(x);
}

function readBin(r: Reader, n: number): Uint8Array {
  const at = take(r, n);
  return r.b.slice(at, at + n);
}

function readStr(r: Reader, n: number): string {
  const at = take(r, n);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(r.b.subarray(at, at + n));
  } catch {
    return fail("invalid UTF-8 in a string");
  }
}

function readArray(r: Reader, n: number, depth: number): Value[] {
  if (depth <= 0) fail("nested too deeply");
  if (n > r.b.length - r.p) fail(`array of ${n} items cannot fit in the remaining bytes`);
  const out: Value[] = [];
  for (let i = 0; i < n; i++) out.push(read(r, depth - 1));
  return out;
}

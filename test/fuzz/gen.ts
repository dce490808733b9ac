// The fuzz generator: a seeded PRNG and structure-aware mutations of valid inputs (bytes, msgpack values, JSON
// documents, streams). Every input is size-bounded by construction, so no input can take unbounded time; every input
// is derived from (seed, index) alone, so one failure replays without the inputs before it.
import { decodeLoose, encodeLoose, type LooseValue } from "../../src/core";

/** splitmix32: small, fast, and good enough to drive mutations; the same seed gives the same stream everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  u32(): number {
    this.s = (this.s + 0x9e3779b9) | 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  /** Mostly small sizes, sometimes large: what finds both off-by-ones and cap checks. */
  size(max: number): number {
    const r = this.int(10);
    return r < 6 ? this.int(Math.min(max, 8) + 1) : r < 9 ? this.int(Math.min(max, 64) + 1) : this.int(max + 1);
  }
}

/** The seed of input `index` of a run: each input has its own stream, so `--from index --n 1` replays it. */
export function inputSeed(runSeed: number, index: number): number {
  let z = (runSeed ^ Math.imul(index + 1, 0x9e3779b1)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) | 0;
}

/** Bytes with a special meaning somewhere in the formats: msgpack type bytes, JSON punctuation, boundaries. */
const INTERESTING_BYTES = [
  0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x5c, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
  0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd9, 0xda, 0xdb,
  0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xfe, 0xff,
];
/** The msgpack type bytes a swap draws from (every family, fixed and sized). */
const TYPE_BYTES = [0x00, 0x7f, 0x80, 0x81, 0x90, 0x91, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];
/** Length values that sit on every boundary a decoder checks (fix/8/16/32-bit forms, caps, the largest). */
const LENGTHS = [0, 1, 15, 16, 31, 32, 127, 128, 255, 256, 16383, 16384, 16385, 65535, 65536, 1 << 20, (1 << 22) + 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

function be(x: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) (b[i] = x & 0xff), (x = Math.floor(x / 256));
  return b;
}

/** A msgpack prefix that declares far more than follows (array, map, str, bin of a huge or boundary count). */
export function hugeHeader(r: Rng): Uint8Array {
  const n = r.pick(LENGTHS);
  const t = r.pick([0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]);
  const w = t === 0xc4 || t === 0xd9 ? 1 : t === 0xc5 || t === 0xda || t === 0xdc || t === 0xde ? 2 : 4;
  return concat([new Uint8Array([t]), be(n % 2 ** (8 * w), w)]);
}

/**
 * A msgpack extension value: timestamps (type -1, every width, some out of range), the types msgpackr decodes by default
 * (bigint, error, set, typed array, regexp, references), unknown types, empty and cut ones.
 */
export function extValue(r: Rng): Uint8Array {
  const t = r.pick([0xff, 0x00, 0x01, 0x7f, 0x80, 0xfe, 0x42, 0x62, 0x65, 0x69, 0x70, 0x73, 0x74, 0x78]);
  switch (r.int(7)) {
    case 6: {
      // msgpackr's structured-clone pair: value #id (0x69), then a pointer back to it (0x70) inside: a cycle.
      const id = [0, 0, 0, r.int(3)];
      return new Uint8Array([0xd6, 0x69, ...id, ...r.pick([[0x91, 0x91], [0x92, 0xc0], [0x91]]), 0xd6, 0x70, ...id]);
    }
    case 0:
      return concat([new Uint8Array([0xd6, t]), r.bytes(4)]);
    case 1:
      return concat([new Uint8Array([0xd7, t]), r.chance(0.5) ? new Uint8Array(8).fill(0xff) : r.bytes(8)]);
    case 2:
      return concat([new Uint8Array([0xc7, 12, t]), r.bytes(12)]);
    case 3:
      return new Uint8Array([r.pick([0xd4, 0xd5, 0xd8]), t, ...r.bytes(r.int(17))]);
    case 4:
      return new Uint8Array([0xc7, 0, t]);
    default:
      return concat([new Uint8Array([r.pick([0xc8, 0xc9]), 0xff, 0xff, 0xff, 0xff].slice(0, r.chance(0.5) ? 3 : 5)), new Uint8Array([t])]);
  }
}

/** `depth` nested one-item arrays (or maps) around a small value: deep nesting without size. */
export function deepNest(r: Rng, depth: number): Uint8Array {
  const open = r.chance(0.5) ? [0x91] : [0x81, 0xa1, 0x6b];
  const out = new Uint8Array(depth * open.length + 1);
  for (let i = 0; i < depth; i++) out.set(open, i * open.length);
  out[out.length - 1] = 0xc0;
  return out;
}

/**
 * One raw byte-level mutation: bit flip, interesting byte, type-byte swap, insert, delete, duplicate, truncate, a
 * boundary length written over any 1/2/4 bytes, a huge msgpack header, or a splice with another valid input.
 */
export function mutateOnce(r: Rng, b: Uint8Array, others: readonly Uint8Array[], maxLen: number): Uint8Array {
  const at = r.int(b.length + 1);
  switch (r.int(11)) {
    case 0: {
      if (!b.length) return r.bytes(1 + r.int(4));
      const c = b.slice();
      c[at % b.length]! ^= 1 << r.int(8);
      return c;
    }
    case 1: {
      if (!b.length) return new Uint8Array([r.pick(INTERESTING_BYTES)]);
      const c = b.slice();
      c[at % b.length] = r.pick(INTERESTING_BYTES);
      return c;
    }
    case 2: {
      if (!b.length) return new Uint8Array([r.pick(TYPE_BYTES)]);
      const c = b.slice();
      c[at % b.length] = r.pick(TYPE_BYTES);
      return c;
    }
    case 3:
      return concat([b.subarray(0, at), r.chance(0.5) ? r.bytes(1 + r.size(32)) : new Uint8Array(1 + r.size(32)).fill(r.pick(INTERESTING_BYTES)), b.subarray(at)]);
    case 4:
      return concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.size(32)))]);
    case 5: {
      const end = Math.min(b.length, at + 1 + r.size(64));
      const piece = b.subarray(at, end);
      const times = 1 + r.size(16);
      return concat([b.subarray(0, end), ...Array.from({ length: times }, () => piece), b.subarray(end)]);
    }
    case 6:
      return b.subarray(0, r.int(b.length + 1)).slice();
    case 7: {
      const w = r.pick([1, 2, 4]);
      if (b.length < w) return b;
      const c = b.slice();
      c.set(be(r.pick(LENGTHS) % 2 ** (8 * w), w), r.int(b.length - w + 1));
      return c;
    }
    case 8:
      return concat([b.subarray(0, at), r.chance(0.5) ? hugeHeader(r) : extValue(r), r.chance(0.5) ? b.subarray(at) : new Uint8Array(0)]);
    case 9:
      return concat([b.subarray(0, at), deepNest(r, 1 + r.size(200)), b.subarray(at)]);
    default: {
      const o = others.length ? r.pick(others) : b;
      const cut = r.int(o.length + 1);
      return r.chance(0.5) ? concat([b.subarray(0, at), o.subarray(cut)]) : concat([o.subarray(0, cut), b.subarray(at)]);
    }
  }
}

/** 1 to 4 stacked byte mutations, the result cut to `maxLen`. */
export function mutateBytes(r: Rng, b: Uint8Array, others: readonly Uint8Array[], maxLen: number): Uint8Array {
  let out = b;
  for (let k = 1 + r.int(4); k > 0; k--) {
    out = mutateOnce(r, out, others, maxLen);
    if (out.length > maxLen) out = out.subarray(0, maxLen);
  }
  return out;
}

// ---- values: what the structure-aware mutations put in place of a node ----

const MAX_U64 = (1n << 64n) - 1n;
/** Numbers on every edge the decoders and schemas check. */
export const EDGE_NUMBERS: LooseValue[] = [
  0, 1, -1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 63, MAX_U64, 2n ** 53n + 1n,
  -0, 0.5, 1e-7, 1e308, -1e308, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 10.005, 0.1 + 0.2,
];
/** Keys that are special to JavaScript objects or to the formats. */
export const EVIL_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "id", "method", "params", "result", "error", "", "a.b", "\u0000", "x".repeat(300)];
const EVIL_STRINGS = ["", "\u0000", "\uffff", "\ud800", "é", "😀", "\n", "\r\n", "%s%n", "../../etc/passwd", "/dev/zero", "0x", "00".repeat(40), "zz", "x".repeat(5000), "a".repeat(201), "1e309", "-0", "null", "true", "constructor", "__proto__", "toString", "devnet", "x.json"];

/** A small random value of any loose type, with edge cases over-represented. */
export function randomValue(r: Rng, depth = 2, map = false): LooseValue {
  switch (map ? 8 : r.int(depth > 0 ? 9 : 7)) {
    case 0:
      return r.pick(EDGE_NUMBERS);
    case 1:
      return r.u32() % 1000;
    case 2:
      return r.pick(EVIL_STRINGS);
    case 3:
      return r.bytes(r.pick([0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 79, 80, 81]));
    case 4:
      return r.pick([null, true, false]);
    case 5:
      return String.fromCharCode(...Array.from({ length: r.size(40) }, () => 32 + r.int(95)));
    case 6:
      return r.pick(EDGE_NUMBERS) as number;
    case 7:
      return Array.from({ length: r.size(6) }, () => randomValue(r, depth - 1));
    default: {
      const o: Record<string, LooseValue> = Object.create(null);
      for (let k = r.size(4); k > 0; k--) o[r.chance(0.5) ? r.pick(EVIL_KEYS) : `k${r.int(9)}`] = randomValue(r, depth - 1);
      return o;
    }
  }
}

type Tree = LooseValue;
type Container = Tree[] | { [k: string]: Tree };

/** Every container of a value tree (arrays and maps), for picking where to mutate. */
function containers(v: Tree, out: Container[] = [], depth = 0): Container[] {
  if (depth > 40) return out;
  if (Array.isArray(v)) {
    out.push(v);
    for (const x of v) containers(x, out, depth + 1);
  } else if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    out.push(v);
    for (const x of Object.values(v)) containers(x, out, depth + 1);
  }
  return out;
}

/** About how many bytes a value encodes to (stops counting past 1 MB). */
function weight(v: Tree, budget = 1 << 20): number {
  if (v instanceof Uint8Array || typeof v === "string") return v.length + 1;
  if (Array.isArray(v) || (v && typeof v === "object")) {
    let w = 1;
    for (const x of Object.values(v)) if ((w += weight(x, budget - w)) > budget) break;
    return w;
  }
  return 9;
}

/** A deep copy (bytes copied too) so mutations never touch a seed. */
export function clone(v: Tree): Tree {
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === "object") {
    const o: Record<string, Tree> = Object.create(null);
    for (const [k, x] of Object.entries(v)) o[k] = clone(x);
    return o;
  }
  return v;
}

/** Changes one node of a value tree: replace, retype, drop, add, duplicate, swap, nest, grow bytes or strings. */
export function mutateTree(r: Rng, root: Tree): Tree {
  const cs = containers(root);
  if (!cs.length || r.chance(0.05)) return randomValue(r);
  const c = r.pick(cs);
  const keys: (string | number)[] = Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c);
  const set = (k: string | number, v: Tree) => ((c as Record<string | number, Tree>)[k] = v);
  const get = (k: string | number) => (c as Record<string | number, Tree>)[k]!;
  const k = keys.length ? r.pick(keys) : 0;
  switch (r.int(10)) {
    case 0:
    case 1:
      set(k, randomValue(r));
      break;
    case 2: {
      const x = get(k);
      // The same content under another type: bytes as text, text as bytes, a number as a string.
      set(k, x instanceof Uint8Array ? Buffer.from(x).toString("latin1") : typeof x === "string" ? new TextEncoder().encode(x) : typeof x === "number" ? String(x) : [x]);
      break;
    }
    case 3:
      if (Array.isArray(c)) c.splice(r.int(c.length + 1), 1);
      else delete c[k as string];
      break;
    case 4:
      if (Array.isArray(c)) c.splice(r.int(c.length + 1), 0, r.chance(0.5) && c.length ? clone(r.pick(c)) : randomValue(r));
      // A key JavaScript treats specially, often holding a map: what prototype pollution is made of.
      else c[r.pick(EVIL_KEYS)] = r.chance(0.3) ? randomValue(r, 2, true) : randomValue(r);
      break;
    case 5:
      // Many copies of one item: list caps (headers, inv, addrs, workers) and counts.
      if (Array.isArray(c) && c.length) {
        const item = r.pick(c);
        // Bounded by weight, not count: 2001 copies of a large item would only be cut by maxLen after encoding.
        const n = Math.min(Math.floor(40_000 / weight(item)), r.pick([2, 15, 16, 17, 64, 65, 100, 101, 1000, 1001, 2001]));
        // Copies, not one shared reference: a later edit of the item must not multiply by n.
        for (let i = 0; i < n; i++) c.push(clone(item));
      }
      break;
    case 6: {
      let v = get(k);
      for (let d = r.pick([1, 2, 15, 16, 17, 100]); d > 0; d--) v = [v];
      set(k, v);
      break;
    }
    case 7: {
      const x = get(k);
      if (x instanceof Uint8Array) set(k, concat([x, r.bytes(r.pick([1, 31, 32, 1000]))]).subarray(0, r.int(x.length + 33)));
      else if (typeof x === "string") set(k, r.chance(0.5) ? x.repeat(1 + r.int(50)).slice(0, 20000) : x.slice(0, r.int(x.length + 1)));
      else set(k, r.pick(EDGE_NUMBERS));
      break;
    }
    case 8:
      if (Array.isArray(c) && c.length > 1) {
        const i = r.int(c.length);
        const j = r.int(c.length);
        [c[i], c[j]] = [c[j]!, c[i]!];
      }
      break;
    default:
      set(k, r.pick(EDGE_NUMBERS));
  }
  return root;
}

/** A string whose encoding is swapped for raw msgpack after encoding: how a value no encoder writes gets into a tree. */
const RAW = "\u0001raw\u0001";
const RAW_BYTES = new Uint8Array([0xa5, 0x01, 0x72, 0x61, 0x77, 0x01]);

/**
 * A msgpack-aware mutation: decode a valid input, change 1 to 3 nodes, encode (loose: any JSON-shaped value); sometimes
 * one node becomes an extension value (a timestamp, msgpackr's types, a reference cycle) in a well-formed message.
 */
export function mutateMsgpack(r: Rng, bytes: Uint8Array): Uint8Array {
  let v: Tree = clone(decodeLoose(bytes));
  for (let k = 1 + r.int(3); k > 0; k--) v = mutateTree(r, v);
  const raw = r.chance(0.1);
  if (raw) {
    const cs = containers(v);
    if (cs.length) {
      const c = r.pick(cs) as Record<string | number, Tree>;
      const keys = Object.keys(c);
      c[keys.length ? r.pick(keys) : 0] = RAW;
    } else v = RAW;
  }
  let out: Uint8Array;
  try {
    out = encodeLoose(v);
  } catch {
    return bytes;
  }
  if (!raw) return out;
  const at = Buffer.from(out).indexOf(RAW_BYTES);
  return at < 0 ? out : concat([out.subarray(0, at), extValue(r), out.subarray(at + RAW_BYTES.length)]);
}

/** A valid input mutated by either layer: structure first (most of the time), then sometimes bytes on top. */
export function mutateEncoded(r: Rng, seed: Uint8Array, others: readonly Uint8Array[], maxLen: number): Uint8Array {
  let b = r.chance(0.6) ? mutateMsgpack(r, seed) : seed;
  if (b === seed || r.chance(0.3)) b = mutateBytes(r, b, others, maxLen);
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

// ---- JSON documents ----

function jsonify(v: Tree): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(jsonify);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: jsonify(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

/** Text-level JSON edits JSON.stringify never makes: big integers, exponents, duplicate keys, deep nesting, BOM, junk. */
function jsonTextEdit(r: Rng, s: string): string {
  const at = r.int(s.length + 1);
  switch (r.int(7)) {
    case 0:
      return s.slice(0, at) + r.pick(["123456789012345678901234567890", "1e400", "-1e-400", "0.1e1", "-0", "1E+2", "9007199254740993"]) + s.slice(at);
    case 1:
      return s.replace("{", `{"${r.pick(EVIL_KEYS)}":${r.pick(["1", '"x"', "{}", "[]", "null", '{"a":1}'])},`);
    case 2: {
      const d = r.pick([10, 100, 1000, 5000]);
      return s.slice(0, at) + "[".repeat(d) + "]".repeat(r.chance(0.5) ? d : r.int(d)) + s.slice(at);
    }
    case 3:
      return "\ufeff" + s;
    case 4:
      return s.slice(0, at) + r.pick(['"\\ud800"', '"\\u0000"', '"\\x41"', "'a'", "NaN", "undefined", ",", "}", "]", "\t", "/*c*/"]) + s.slice(at);
    case 5:
      return s.replace(/"([a-z_]+)":/, `"$1":1,"$1":`);
    default:
      return s.slice(0, at);
  }
}

/** A JSON document mutated: tree edits (edge values, evil keys, retyping), then text edits or byte edits on top. */
export function mutateJson(r: Rng, doc: unknown, others: readonly Uint8Array[], maxLen: number): Uint8Array {
  let v = clone(doc as Tree);
  if (r.chance(0.8)) for (let k = 1 + r.int(3); k > 0; k--) v = mutateTree(r, v);
  let text = JSON.stringify(jsonify(v)) ?? "null";
  if (r.chance(0.4)) text = jsonTextEdit(r, text);
  let b: Uint8Array = new TextEncoder().encode(text);
  if (r.chance(0.25)) b = mutateBytes(r, b, others, maxLen);
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

/** A stream cut into random chunks: single bytes, small pieces, or whole; how TCP may deliver it. */
export function chunks(r: Rng, stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Tiny pieces only for short streams: each piece re-copies what waits (the decoders' cost, bounded by their caps),
  // so 1-byte pieces of a 40 KB stream would spend the run on memcpy rather than on new inputs.
  const pick = r.int(10);
  const mode = Math.max(pick === 0 ? 0 : pick < 3 ? 1 : pick < 6 ? 2 : 3, stream.length > 4096 ? 2 : stream.length > 1024 ? 1 : 0);
  for (let at = 0; at < stream.length; ) {
    const n = mode === 0 ? 1 : mode === 1 ? 1 + r.int(8) : mode === 2 ? 1 + r.int(512) : stream.length;
    out.push(stream.subarray(at, at + n));
    at += n;
  }
  if (r.chance(0.1)) out.splice(r.int(out.length + 1), 0, new Uint8Array(0));
  return out;
}

/** A 4-byte big-endian length prefix followed by the body: one frame of rignode's TCP links. */
export function frameOf(body: Uint8Array, declared = body.length): Uint8Array {
  return concat([be(declared, 4), body]);
}

// "msgpackr/pack" resolves to the pure-JavaScript build: the optional native string extractor is never loaded, so the
// tests and the compiled binary run the same code.
import { addExtension, Packr, Unpackr } from "msgpackr/pack";
import { RignodeError } from "./errors";
import type { Value } from "./msgpack";

// The loose msgpack profile: Stratum's native frames carry the same JSON-RPC objects as the JSON port, as any msgpack
// encoder writes them (maps with string keys, negative integers, floats, any integer width). This is msgpackr: the
// canonical codec (src/core/msgpack.ts) is kept for consensus bytes only, where one encoding per value is the rule.
// bench/frames.ts (a frame encoded, and decoded out of a stream, median of 5 runs): msgpackr writes the same bytes
// as rignode's own loose encoder did; notify 5.2 -> 1.7 us to encode, submit 1.7 -> 0.8 / 3.2 -> 1.0 us, an answer
// 1.4 -> 0.5 / 1.8 -> 0.2 us.

/** Any JSON-shaped value. */
export type LooseValue = Value | number | LooseValue[] | { [key: string]: LooseValue };

// No records or structures (plain msgpack both ways, what other implementations read); maps sized to their
// entries (the shortest header); undefined written as nil; 64-bit integers as numbers (nothing in Stratum needs more).
// No structured-clone references when reading: msgpackr otherwise builds objects that contain themselves from two
// extension values (found by test/fuzz), which no encoder can write back (the answer echoing such an id overflowed the
// stack, and the session's answer failed) and JSON.stringify throws on.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number", structuredClone: false });
// msgpackr also reads its big-integer extension (type 0x42) of any size, which nothing writes back past 64 bits: a
// session echoing one as an id could not encode its answer (found by test/fuzz). Stratum has no use for it.
addExtension({
  type: 0x42,
  unpack: () => {
    throw new Error("the big-integer extension (0x42) is not accepted");
  },
});

/** Encodes a JSON-shaped value (a fresh copy: msgpackr's own buffer is reused by its next call). */
export function encodeLoose(v: LooseValue): Uint8Array {
  try {
    return new Uint8Array(packr.pack(v)); // a copy (typed-array constructor: one memcpy)
  } catch (e) {
    throw new RignodeError("input", `msgpack: cannot encode: ${(e as Error).message}`);
  }
}

/**
 * Decodes exactly one value. Anything msgpackr refuses (truncated, trailing bytes, an unknown extension, a map key
 * that is not a string, nesting deep enough to exhaust the stack) is an "input" error, as every bad frame is.
 */
export function decodeLoose(bytes: Uint8Array): LooseValue {
  let v: unknown;
  try {
    v = unpackr.unpack(bytes);
  } catch (e) {
    throw new RignodeError("input", `msgpack: ${(e as Error).message.slice(0, 160)}`);
  }
  const bad = notJson(v, MAX_DEPTH);
  if (bad) throw new RignodeError("input", `msgpack: ${bad}`);
  return v as LooseValue;
}

/** Nesting a JSON-RPC message never needs (a notify is 3 deep). */
const MAX_DEPTH = 32;

/**
 * Why a decoded value is not JSON-shaped (null when it is): msgpackr's extensions also make undefined, Date, Set,
 * Map, RegExp, Error and typed arrays, and its nesting has no cap. Only what a JSON-RPC object holds gets through
 * (plus byte strings), so the decoder returns what its type says.
 */
function notJson(v: unknown, depth: number): string | null {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return null;
  if (depth <= 0) return "nested too deeply";
  if (Array.isArray(v)) {
    for (const x of v) {
      const bad = notJson(x, depth - 1);
      if (bad) return bad;
    }
    return null;
  }
  if (v instanceof Uint8Array && (v.constructor === Uint8Array || v.constructor === Buffer)) return null;
  if (typeof v === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
    for (const k in v as Record<string, unknown>) {
      const bad = notJson((v as Record<string, unknown>)[k], depth - 1);
      if (bad) return bad;
    }
    return null;
  }
  return `${v === undefined ? "an undefined" : `a ${(v as object).constructor?.name ?? typeof v}`} value is not JSON data`;
}

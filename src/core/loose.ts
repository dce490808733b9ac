// "msgpackr/pack" resolves to the pure-JavaScript build: the optional native string extractor is never loaded, so the
// tests and the compiled binary run the same code.
import { addExtension, Packr, Unpackr } from "msgpackr/pack";
import { RignodeError } from "./errors";
import type { Value } from "./msgpack";

// The loose msgpack profile: Stratum's native frames carry the same JSON-RPC objects as the JSON port, as any msgpack
// encoder writes them (maps with string keys, negative integers, floats, any integer width). This is msgpackr: the
// canonical codec (src/core/msgpack.ts) is kept for consensus bytes only, where one encoding per value is the rule.
// bench/frames.ts: msgpackr writes the same bytes as rignode's own loose encoder did, 1.3-6x faster to encode and
// 3-13x faster to decode on notify, submit and answers.

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
  try {
    return unpackr.unpack(bytes) as LooseValue;
  } catch (e) {
    throw new RignodeError("input", `msgpack: ${(e as Error).message.slice(0, 160)}`);
  }
}

// Fuzz targets for the pure parsers: Stratum JSON lines, native frames (both msgpack profiles), P2P messages with the
// decoders a node runs on their contents, canonical msgpack, blocks, transactions, headers.
import { bitsToTarget, checkBlockAlone, checkTransferAlone, decodeBlock, decodeHeader, decodeTx, encodeBlock, encodeHeader, encodeTx } from "../../src/chain";
import { decode, decodeLoose, encode, encodeLoose, type LooseValue } from "../../src/core";
import { parseMessage, type Message } from "../../src/p2p";
import { FrameDecoder, LineDecoder, LOOSE_CODEC, MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES } from "../../src/stratum";
import { chunks, concat, frameOf, mutateBytes, mutateEncoded, mutateJson, type Rng } from "./gen";
import { BLOCK_BYTES, HEADER_BYTES, MSGPACK_BYTES, P2P_BYTES, PARAMS, STRATUM_MESSAGES, TX_BYTES } from "./seeds";
import { count, describeError, expectRefusal, hex, type Outcome, type Target } from "./runner";

/** Largest input a mutation may make: past every cap a parser checks (16 KiB lines and frames), still fast. */
const MAX_INPUT = 40_000;
const P2P_MAX_FRAME = 4 * 1024 * 1024;

const JSON_LINES = STRATUM_MESSAGES.map((m) => new TextEncoder().encode(JSON.stringify(m)));
const LOOSE_BODIES = STRATUM_MESSAGES.map((m) => encodeLoose(m as LooseValue));

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A stream of 1-4 JSON lines, mostly mutated, with LF, CRLF, blank lines, a missing last newline, or an overlong line. */
function jsonStream(r: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let k = 1 + r.int(4); k > 0; k--) {
    const i = r.int(STRATUM_MESSAGES.length);
    parts.push(r.chance(0.85) ? mutateJson(r, STRATUM_MESSAGES[i], JSON_LINES, MAX_INPUT) : JSON_LINES[i]!);
    parts.push(new TextEncoder().encode(r.pick(["\n", "\n", "\n", "\r\n", "\n\n", " \n", ""])));
  }
  if (r.chance(0.03)) parts.push(new Uint8Array(MAX_MINER_MESSAGE_BYTES + r.int(3) - 1).fill(0x20 + r.int(90)), new Uint8Array([10]));
  return concat(parts);
}

/** A stream of 1-4 frames around mutated bodies; the length field is sometimes wrong, huge or cut. */
function frameStream(r: Rng, bodies: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let k = 1 + r.int(4); k > 0; k--) {
    const body = r.chance(0.85) ? mutateEncoded(r, r.pick(bodies), bodies, MAX_INPUT) : r.pick(bodies);
    const declared = r.chance(0.85) ? body.length : r.pick([0, 1, body.length - 1, body.length + 1, 16383, 16384, 16385, P2P_MAX_FRAME, P2P_MAX_FRAME + 1, 0xffffffff]);
    parts.push(frameOf(body, Math.max(0, declared) >>> 0));
  }
  const s = concat(parts);
  return r.chance(0.1) ? mutateBytes(r, s, [], MAX_INPUT * 4) : s;
}

function feed<T>(r: Rng, d: { push(c: Uint8Array): T[] }, stream: Uint8Array): T[] {
  const out: T[] = [];
  for (const c of chunks(r, stream)) out.push(...d.push(c));
  return out;
}

/** Stratum V1 JSON lines, as the pool (16 KiB cap) and a worker (1 MiB cap) read them, in random chunks. */
export const jsonLineTarget: Target = {
  name: "jsonline",
  tally: new Map(),
  run(r) {
    const stream = jsonStream(r);
    const d = new LineDecoder(r.chance(0.8) ? MAX_MINER_MESSAGE_BYTES : MAX_POOL_MESSAGE_BYTES);
    return expectRefusal(() => hex(stream), () => void feed(r, d, stream), this.tally);
  },
};

/** Native Stratum frames: length-prefixed loose msgpack, both caps, in random chunks. */
export const frameLooseTarget: Target = {
  name: "frame-loose",
  tally: new Map(),
  run(r) {
    const stream = frameStream(r, LOOSE_BODIES);
    const d = new FrameDecoder<LooseValue>(r.chance(0.8) ? MAX_MINER_MESSAGE_BYTES : MAX_POOL_MESSAGE_BYTES, LOOSE_CODEC);
    return expectRefusal(() => hex(stream), () => void feed(r, d, stream), this.tally);
  },
};

/** P2P frames: length-prefixed canonical msgpack (4 MiB cap), any canonical value, in random chunks. */
export const frameCanonicalTarget: Target = {
  name: "frame-canonical",
  tally: new Map(),
  run(r) {
    const stream = frameStream(r, MSGPACK_BYTES);
    return expectRefusal(() => hex(stream), () => void feed(r, new FrameDecoder(P2P_MAX_FRAME), stream), this.tally);
  },
};

/** What a node does with a parsed message's contents before any chain state: decode headers, blocks, transactions. */
function decodeContents(m: Message): void {
  if (m.t === "headers") for (const h of m.headers) bitsToTarget(decodeHeader(h).bits);
  else if (m.t === "blocks") for (const b of m.blocks) checkBlockAlone(decodeBlock(b), PARAMS);
  else if (m.t === "txs") for (const t of m.txs) decodeTx(t);
}

/** Every P2P message type: frame, canonical decode, parseMessage, then the decoders of what it carries. */
export const p2pTarget: Target = {
  name: "p2p",
  tally: new Map(),
  run(r) {
    const i = r.int(P2P_BYTES.length);
    const body = mutateEncoded(r, P2P_BYTES[i]!, P2P_BYTES, MAX_INPUT);
    const stream = frameOf(body);
    return expectRefusal(() => hex(stream), () => {
      for (const v of feed(r, new FrameDecoder(P2P_MAX_FRAME), stream)) {
        const m = parseMessage(v);
        count(this.tally, `parsed ${m.t}`);
        decodeContents(m);
      }
    }, this.tally);
  },
};

/**
 * Loose round trip: the same value back (numbers by ===, so -0 and 0 are one; NaN is itself). msgpackr decodes the
 * extension of type 0 as undefined and writes undefined as nil, by design (encodeUndefinedAsNil): the two are one here.
 */
function looseEqual(a: unknown, b: unknown): boolean {
  if (a == null && b == null) return true;
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return same(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => looseEqual(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && looseEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** The first value in `v` that is not JSON-shaped (nor bytes), by its type name; null when all are. */
function nonJson(v: unknown, depth = 0): string | null {
  if (v === null || v === undefined || typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Uint8Array) return null;
  if (typeof v !== "object") return typeof v;
  if (depth > 64) return "value nested over 64 deep";
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return (v as object).constructor?.name ?? "object";
  for (const x of Object.values(v)) {
    const t = nonJson(x, depth + 1);
    if (t) return t;
  }
  return null;
}

/**
 * The msgpack decoders. Canonical: refused with an "input" error, or accepted only when re-encoding gives the same
 * bytes (one encoding per value: no malleable ids). Loose: refused, or the value survives encodeLoose/decodeLoose.
 */
export const msgpackTarget: Target = {
  name: "msgpack",
  tally: new Map(),
  run(r) {
    const b = mutateEncoded(r, r.pick(MSGPACK_BYTES), MSGPACK_BYTES, MAX_INPUT);
    const show = () => hex(b);
    let out = expectRefusal(show, () => {
      const v = decode(b, r.chance(0.5) ? 16 : 64);
      const again = encode(v);
      if (!same(again, b)) throw new Error(`canonical decode accepted bytes that re-encode differently (${hex(again, 64)})`);
    }, this.tally);
    if (out) return out;
    out = expectRefusal(show, () => {
      const v = decodeLoose(b);
      // msgpackr's default extensions decode to objects JSON has no form for (Date, Error, Set, RegExp, typed arrays,
      // bigint): counted, not round-tripped (its encoder writes them differently or not at all).
      const other = nonJson(v);
      if (other) return count(this.tally, `loose decoded a ${other}`);
      if (!looseEqual(decodeLoose(encodeLoose(v)), v)) throw new Error("loose value does not survive a round trip");
    });
    return out;
  },
};

/** Blocks: decodeBlock, then the context-free checks; an accepted block re-encodes to the same bytes. */
export const blockTarget: Target = {
  name: "block",
  tally: new Map(),
  run(r) {
    const b = mutateEncoded(r, r.pick(BLOCK_BYTES), [...BLOCK_BYTES, ...TX_BYTES], MAX_INPUT);
    return expectRefusal(() => hex(b), () => {
      const block = decodeBlock(b);
      if (!same(encodeBlock(block), b)) throw new Error("decoded block re-encodes to other bytes");
      checkBlockAlone(block, PARAMS);
    }, this.tally);
  },
};

/** Transactions: decodeTx; an accepted one re-encodes to the same bytes; a transfer's signature is checked. */
export const txTarget: Target = {
  name: "tx",
  tally: new Map(),
  run(r) {
    const b = mutateEncoded(r, r.pick(TX_BYTES), TX_BYTES, MAX_INPUT);
    return expectRefusal(() => hex(b), () => {
      const t = decodeTx(b);
      if (!same(encodeTx(t), b)) throw new Error("decoded transaction re-encodes to other bytes");
      if (t.type === "transfer") checkTransferAlone(t, PARAMS);
    }, this.tally);
  },
};

/** Headers: 80 bytes or refused; the bits decoded to a target (or refused as negative or overflowing). */
export const headerTarget: Target = {
  name: "header",
  tally: new Map(),
  run(r) {
    const b = mutateBytes(r, r.pick(HEADER_BYTES), HEADER_BYTES, 200);
    return expectRefusal(() => hex(b), () => {
      const h = decodeHeader(b);
      if (!same(encodeHeader(h), b)) throw new Error("decoded header re-encodes to other bytes");
      bitsToTarget(h.bits);
    }, this.tally);
  },
};

export const WIRE_TARGETS: Target[] = [jsonLineTarget, frameLooseTarget, frameCanonicalTarget, p2pTarget, msgpackTarget, blockTarget, txTarget, headerTarget];

export { describeError, type Outcome };

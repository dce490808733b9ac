import { decodeLoose, encodeLoose, type LooseValue } from "../core";
import { frame, FrameDecoder, type FrameCodec } from "./framing";
import { encodeLine, LineDecoder } from "./jsonline";

/** The two Stratum codecs: newline-delimited JSON (Stratum V1) and length-prefixed msgpack frames (native). */
export type StratumCodec = "json" | "native";

/** The native codec's frame body: the same JSON-RPC objects as the JSON port, as msgpack (loose profile). */
export const LOOSE_CODEC: FrameCodec<LooseValue> = { encode: encodeLoose, decode: (b) => decodeLoose(b) };

/** One message's bytes for a codec; refuses a message over `maxBytes` for frames. */
export function encodeStratum(codec: StratumCodec, m: unknown, maxBytes: number): Uint8Array {
  return codec === "json" ? encodeLine(m) : frame(m as LooseValue, maxBytes, LOOSE_CODEC);
}

/** A decoder for one connection's byte stream: every complete message per chunk; throws "input" on bad data. */
export function stratumDecoder(codec: StratumCodec, maxBytes: number): { push(chunk: Uint8Array): unknown[] } {
  return codec === "json" ? new LineDecoder(maxBytes) : new FrameDecoder<LooseValue>(maxBytes, LOOSE_CODEC);
}

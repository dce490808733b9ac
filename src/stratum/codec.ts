import { decodeLoose, encodeLoose, RignodeError, type LooseValue } from "../core";
import { frame, FrameDecoder, type FrameCodec } from "./framing";
import { encodeLine, LineDecoder } from "./jsonline";

/** The two Stratum codecs: newline-delimited JSON (Stratum V1) and length-prefixed msgpack frames (native). */
export type StratumCodec = "json" | "native";

/** The native codec's frame body: the same JSON-RPC objects as the JSON port, as msgpack (loose profile). */
export const LOOSE_CODEC: FrameCodec<LooseValue> = { encode: encodeLoose, decode: (b) => decodeLoose(b) };

/**
 * One message's bytes for a codec; refuses ("input") a message over `maxBytes` in either codec, so nothing leaves that
 * the other end's decoder, with the same cap, would refuse.
 */
export function encodeStratum(codec: StratumCodec, m: unknown, maxBytes: number): Uint8Array {
  if (codec === "native") return frame(m as LooseValue, maxBytes, LOOSE_CODEC);
  const line = encodeLine(m);
  // The decoder's cap is on the line without its "\n".
  if (line.length - 1 > maxBytes) throw new RignodeError("input", `line of ${line.length - 1} bytes exceeds ${maxBytes}`);
  return line;
}

/** A decoder for one connection's byte stream: every complete message per chunk; throws "input" on bad data. */
export function stratumDecoder(codec: StratumCodec, maxBytes: number): { push(chunk: Uint8Array): unknown[] } {
  return codec === "json" ? new LineDecoder(maxBytes) : new FrameDecoder<LooseValue>(maxBytes, LOOSE_CODEC);
}

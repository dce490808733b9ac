import { RignodeError } from "../core";

/** Bitcoin's 80-byte block header. Hashes are kept as the 32 digest bytes (little-endian numbers). */
export interface Header {
  version: number;
  prevHash: Uint8Array;
  merkleRoot: Uint8Array;
  time: number;
  bits: number;
  nonce: number;
}

/** The 80 wire bytes of a header. */
export function encodeHeader(h: Header): Uint8Array {
  const b = new Uint8Array(80);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, h.version >>> 0, true);
  b.set(h.prevHash, 4);
  b.set(h.merkleRoot, 36);
  dv.setUint32(68, h.time >>> 0, true);
  dv.setUint32(72, h.bits >>> 0, true);
  dv.setUint32(76, h.nonce >>> 0, true);
  return b;
}

/** Parses 80 wire bytes. */
export function decodeHeader(b: Uint8Array): Header {
  if (b.length !== 80) throw new RignodeError("input", `header must be 80 bytes, got ${b.length}`);
  const dv = new DataView(b.buffer, b.byteOffset, 80);
  return {
    version: dv.getUint32(0, true),
    prevHash: b.slice(4, 36),
    merkleRoot: b.slice(36, 68),
    time: dv.getUint32(68, true),
    bits: dv.getUint32(72, true),
    nonce: dv.getUint32(76, true),
  };
}

/** Compact "bits" to a 256-bit target, as Bitcoin's SetCompact; negative or overflowing encodings are refused. */
export function bitsToTarget(bits: number): bigint {
  const exp = bits >>> 24;
  const mant = bits & 0x007fffff;
  if (bits & 0x00800000 && mant !== 0) throw new RignodeError("input", `bits 0x${bits.toString(16)} encode a negative target`);
  const t = exp <= 3 ? BigInt(mant) >> BigInt(8 * (3 - exp)) : BigInt(mant) << BigInt(8 * (exp - 3));
  if (t >> 256n !== 0n) throw new RignodeError("input", `bits 0x${bits.toString(16)} overflow 256 bits`);
  return t;
}

/** A target to compact bits (Bitcoin's GetCompact), rounding down. */
export function targetToBits(target: bigint): number {
  if (target <= 0n) return 0;
  let size = Math.ceil(target.toString(16).length / 2);
  let mant: bigint = size <= 3 ? target << BigInt(8 * (3 - size)) : target >> BigInt(8 * (size - 3));
  if (mant & 0x00800000n) {
    mant >>= 8n;
    size += 1;
  }
  return ((size << 24) | Number(mant)) >>> 0;
}

/** Expected hashes to find a block at this target: 2^256 / (target + 1). */
export function workForTarget(target: bigint): bigint {
  return (1n << 256n) / (target + 1n);
}

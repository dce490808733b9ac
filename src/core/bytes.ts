import { RignodeError } from "./errors";

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex to bytes; refuses odd length, non-hex characters and (when given) the wrong length. */
export function fromHex(hex: string, expectLength?: number, what = "hex"): Uint8Array {
  const s = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!HEX_RE.test(s)) {
    const bad = s.length % 2 === 1 ? "an odd number of digits" : "a character that is not a hex digit";
    throw new RignodeError("input", `${what}: '${abbreviate(hex)}' has ${bad}`);
  }
  if (expectLength !== undefined && s.length !== expectLength * 2) {
    throw new RignodeError("input", `${what}: expected ${expectLength} bytes (${expectLength * 2} hex digits), got ${s.length / 2} bytes`);
  }
  return Uint8Array.from(Buffer.from(s, "hex"));
}

/** Encodes bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** A reversed copy: digest bytes <-> display hex order. */
export function reversed(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes).reverse();
}

/** A hash or target (32 bytes, little-endian number) as a bigint. */
export function leToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 32) {
    // Four 64-bit reads instead of 32 BigInt steps: share checks call this for every hash.
    const v = new DataView(bytes.buffer, bytes.byteOffset, 32);
    return (v.getBigUint64(24, true) << 192n) | (v.getBigUint64(16, true) << 128n) | (v.getBigUint64(8, true) << 64n) | v.getBigUint64(0, true);
  }
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

/** a <= b for two little-endian numbers of 32 bytes (a hash against a target), without BigInt. */
export function leLessOrEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y;
  }
  return true;
}

/** A bigint as `length` little-endian bytes. */
export function bigIntToLe(x: bigint, length = 32): Uint8Array {
  if (x < 0n || x >> BigInt(length * 8) !== 0n) throw new RignodeError("input", `value does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Display hex (big-endian, as explorers print hashes) to little-endian bytes. */
export function displayHexToLe(hex: string, what = "hash"): Uint8Array {
  return reversed(fromHex(hex, 32, what));
}

/** Little-endian 32 bytes to display hex. */
export function leToDisplayHex(bytes: Uint8Array): string {
  return toHex(reversed(bytes));
}

function abbreviate(s: string): string {
  return s.length > 24 ? `${s.slice(0, 20)}…(${s.length} chars)` : s;
}

/** The parts end to end in one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

import { RignodeError } from "../core";
import { sha256d } from "./keys";

// An address is the account's Ed25519 public key, written base58 with a network version byte and a 4-byte
// checksum (sha256d), so that a mistyped or truncated address, or one of another network, is refused.
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Bytes in base58 (leading zero bytes as '1's), as Bitcoin writes addresses. */
export function base58(b: Uint8Array): string {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  let s = "";
  while (x > 0n) {
    s = ALPHABET[Number(x % 58n)] + s;
    x /= 58n;
  }
  for (const byte of b) {
    if (byte !== 0) break;
    s = "1" + s;
  }
  return s;
}

/** The bytes of a base58 string; null on a character outside the alphabet. */
export function unbase58(s: string): Uint8Array | null {
  let x = 0n;
  for (const c of s) {
    const v = INDEX.get(c);
    if (v === undefined) return null;
    x = x * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (x > 0n) {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  for (const c of s) {
    if (c !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/** Base58Check: version byte, payload, the first 4 bytes of sha256d of both; as Bitcoin writes addresses. */
export function base58CheckEncode(version: number, payload: Uint8Array): string {
  const all = new Uint8Array(payload.length + 5);
  all[0] = version;
  all.set(payload, 1);
  all.set(sha256d(all.subarray(0, payload.length + 1)).subarray(0, 4), payload.length + 1);
  return base58(all);
}

/** Version byte and payload of a Base58Check string; null on any bad character or checksum. */
export function base58CheckDecode(s: string): { version: number; payload: Uint8Array } | null {
  if (!s || s.length > 64) return null;
  const full = unbase58(s);
  if (!full || full.length < 5) return null;
  const body = full.subarray(0, full.length - 4);
  const check = sha256d(body).subarray(0, 4);
  for (let i = 0; i < 4; i++) if (check[i] !== full[full.length - 4 + i]) return null;
  return { version: body[0]!, payload: body.slice(1) };
}

/** The address string of a public key on a network. */
export function encodeAddress(publicKey: Uint8Array, version: number): string {
  if (publicKey.length !== 32) throw new RignodeError("input", `public key must be 32 bytes, got ${publicKey.length}`);
  return base58CheckEncode(version, publicKey);
}

/** The public key of an address; a typo, a bad checksum or another network's address is an "input" error. */
export function decodeAddress(address: string, version: number): Uint8Array {
  const text = address.trim();
  const raw = unbase58(text);
  if (!raw) throw new RignodeError("input", `address '${address}' has a character that is not base58`);
  if (raw.length !== 37) throw new RignodeError("input", `address '${address}' has the wrong length`);
  const d = base58CheckDecode(text);
  if (!d) throw new RignodeError("input", `address '${address}' has a bad checksum (a typo?)`);
  if (d.version !== version) throw new RignodeError("input", `address '${address}' belongs to another network`);
  return d.payload;
}

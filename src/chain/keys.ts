import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { RignodeError } from "../core";

// Ed25519 through node:crypto with raw 32-byte keys, wrapped in the fixed DER prefixes of RFC 8410.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** A key pair: 32-byte seed (private) and 32-byte public key. */
export interface KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** A new random key pair. */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    seed: new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length)),
    publicKey: new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length)),
  };
}

/** The key pair of a 32-byte seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new RignodeError("input", `private key seed must be 32 bytes, got ${seed.length}`);
  const priv = privateKeyObject(seed);
  const pub = createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  return { seed: Uint8Array.from(seed), publicKey: new Uint8Array(pub) };
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** Ed25519 signature (64 bytes) of `message`. */
export function signMessage(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyObject(seed)));
}

/** True when `sig` is a valid Ed25519 signature of `message` by `publicKey`; false for any malformed input. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    return verify(null, message, key, sig);
  } catch {
    return false;
  }
}

/** sha256d of bytes: ids of transactions and blocks. */
export function sha256d(b: Uint8Array): Uint8Array {
  // Bun's one-shot SHA-256: a third of node:crypto's cost per call (every share hashes its coinbase).
  return Bun.SHA256.hash(Bun.SHA256.hash(b) as Uint8Array) as Uint8Array;
}

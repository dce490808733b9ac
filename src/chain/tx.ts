import { RignodeError } from "../core";
import { decode, encode, type Value } from "../core";
import { sha256d, signMessage, verifySignature } from "./keys";

/** Size of the extranonce field of every coinbase: extranonce1 (4, from the pool) + extranonce2 (4, from the miner). */
export const EXTRANONCE_BYTES = 8;

export interface CoinbaseOutput {
  /** Recipient public key (32 bytes). */
  to: Uint8Array;
  amount: bigint;
}

/** The first transaction of a block: the reward and fees, paid to any number of outputs. */
export interface Coinbase {
  type: "coinbase";
  height: number;
  outputs: CoinbaseOutput[];
  extranonce: Uint8Array;
  memo: string;
}

/** A signed transfer between accounts. */
export interface Transfer {
  type: "transfer";
  from: Uint8Array;
  to: Uint8Array;
  amount: bigint;
  fee: bigint;
  /** The sender's count of earlier transfers: each nonce is used once, in order. */
  nonce: bigint;
  sig: Uint8Array;
}

export type Tx = Coinbase | Transfer;

const TYPE_COINBASE = 0;
const TYPE_TRANSFER = 1;

function coinbaseFields(c: Coinbase): Value[] {
  return [TYPE_COINBASE, c.height, c.outputs.map((o) => [o.to, o.amount]), c.extranonce, c.memo];
}

/** Canonical bytes of a transaction (msgpack array, fixed field order). */
export function encodeTx(tx: Tx): Uint8Array {
  if (tx.type === "coinbase") {
    if (tx.extranonce.length !== EXTRANONCE_BYTES) throw new RignodeError("input", `extranonce must be ${EXTRANONCE_BYTES} bytes`);
    return encode(coinbaseFields(tx));
  }
  return encode([TYPE_TRANSFER, tx.from, tx.to, tx.amount, tx.fee, tx.nonce, tx.sig]);
}

/** What a sender signs: the transfer without its signature, bound to one chain. */
export function transferSigningBytes(t: Omit<Transfer, "sig" | "type">, chainId: string): Uint8Array {
  return encode([TYPE_TRANSFER, chainId, t.from, t.to, t.amount, t.fee, t.nonce]);
}

/** A signed transfer. */
export function signTransfer(t: Omit<Transfer, "sig" | "type">, seed: Uint8Array, chainId: string): Transfer {
  return { type: "transfer", ...t, sig: signMessage(seed, transferSigningBytes(t, chainId)) };
}

/** True when the transfer's signature is the sender's, for this chain. */
export function verifyTransfer(t: Transfer, chainId: string): boolean {
  return verifySignature(t.from, transferSigningBytes(t, chainId), t.sig);
}

/** Transaction id: sha256d of its canonical bytes (as digest bytes). */
export function txId(tx: Tx | Uint8Array): Uint8Array {
  return sha256d(tx instanceof Uint8Array ? tx : encodeTx(tx));
}

/**
 * The most bytes a coinbase with up to `maxOutputs` outputs and a memo of up to `memoBytes` bytes can take: the
 * largest height and amounts (64-bit), encoded. Sizes what a pool's notify can be on a network.
 */
export function coinbaseBytesBound(maxOutputs: number, memoBytes: number): number {
  const out: CoinbaseOutput = { to: new Uint8Array(32), amount: (1n << 64n) - 1n };
  const outputs = Array.from({ length: maxOutputs }, () => out);
  return encodeTx({ type: "coinbase", height: 0xffffffff, outputs, extranonce: new Uint8Array(EXTRANONCE_BYTES), memo: "x".repeat(memoBytes) }).length;
}

/**
 * A coinbase split around its extranonce, as Stratum V1 expects: encodeTx(coinbase) ===
 * coinb1 || extranonce1 || extranonce2 || coinb2.
 */
export function splitCoinbase(c: Coinbase): { coinb1: Uint8Array; coinb2: Uint8Array } {
  const full = encodeTx(c);
  const tail = encode(c.memo);
  const at = full.length - tail.length - EXTRANONCE_BYTES;
  return { coinb1: full.slice(0, at), coinb2: full.slice(at + EXTRANONCE_BYTES) };
}

function bin(v: Value, n: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new RignodeError("input", `${what} must be ${n} bytes`);
  return v;
}

function uint(v: Value, what: string): bigint {
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "bigint") return v;
  throw new RignodeError("input", `${what} must be an unsigned integer`);
}

/** Parses canonical transaction bytes; anything malformed is an "input" error. */
export function decodeTx(bytes: Uint8Array): Tx {
  const v = decode(bytes);
  if (!Array.isArray(v) || v.length === 0) throw new RignodeError("input", "transaction must be a non-empty array");
  if (v[0] === TYPE_COINBASE) {
    if (v.length !== 5) throw new RignodeError("input", "coinbase must have 5 fields");
    const outs = v[2];
    if (!Array.isArray(outs)) throw new RignodeError("input", "coinbase outputs must be an array");
    if (typeof v[4] !== "string") throw new RignodeError("input", "coinbase memo must be a string");
    const height = uint(v[1]!, "coinbase height");
    if (height > 0xffffffffn) throw new RignodeError("input", "coinbase height out of range");
    return {
      type: "coinbase",
      height: Number(height),
      outputs: outs.map((o) => {
        if (!Array.isArray(o) || o.length !== 2) throw new RignodeError("input", "coinbase output must be [to, amount]");
        return { to: bin(o[0]!, 32, "output recipient"), amount: uint(o[1]!, "output amount") };
      }),
      extranonce: bin(v[3]!, EXTRANONCE_BYTES, "extranonce"),
      memo: v[4],
    };
  }
  if (v[0] === TYPE_TRANSFER) {
    if (v.length !== 7) throw new RignodeError("input", "transfer must have 7 fields");
    return {
      type: "transfer",
      from: bin(v[1]!, 32, "sender"),
      to: bin(v[2]!, 32, "recipient"),
      amount: uint(v[3]!, "amount"),
      fee: uint(v[4]!, "fee"),
      nonce: uint(v[5]!, "nonce"),
      sig: bin(v[6]!, 64, "signature"),
    };
  }
  throw new RignodeError("input", `unknown transaction type ${String(v[0])}`);
}

import { RignodeError } from "../core";
import { decode, encode } from "../core";
import { decodeHeader, encodeHeader, type Header } from "./header";
import { sha256d } from "./keys";
import { decodeTx, encodeTx, txId, type Tx } from "./tx";

/** A block: header and transactions, the coinbase first; on a proof-of-sync network, the producer's signature. */
export interface Block {
  header: Header;
  txs: Tx[];
  /** proof-of-sync: Ed25519 signature of the producer over sealBytes(chain id, block hash). */
  sig?: Uint8Array;
}

/** Canonical block bytes: [header (80 bytes), [tx bytes...]] or, sealed, [header, [txs], signature (64 bytes)]. */
export function encodeBlock(b: Block): Uint8Array {
  return encode(b.sig ? [encodeHeader(b.header), b.txs.map(encodeTx), b.sig] : [encodeHeader(b.header), b.txs.map(encodeTx)]);
}

/** What a proof-of-sync producer signs: the block id, for one chain. */
export function sealBytes(chainId: string, hash: Uint8Array): Uint8Array {
  return encode(["rignode-seal-v1", chainId, hash]);
}

/** Parses canonical block bytes. */
export function decodeBlock(bytes: Uint8Array): Block {
  const v = decode(bytes, 4);
  if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3) || !(v[0] instanceof Uint8Array) || !Array.isArray(v[1])) {
    throw new RignodeError("input", "block must be [header, [txs]] or [header, [txs], signature]");
  }
  if (v.length === 3 && !(v[2] instanceof Uint8Array && v[2].length === 64)) throw new RignodeError("input", "a block signature must be 64 bytes");
  return {
    ...(v.length === 3 ? { sig: v[2] as Uint8Array } : {}),
    header: decodeHeader(v[0]),
    txs: v[1].map((t) => {
      if (!(t instanceof Uint8Array)) throw new RignodeError("input", "each transaction must be a byte string");
      return decodeTx(t);
    }),
  };
}

/** Block id: sha256d of the 80-byte header (digest bytes). */
export function blockHash(h: Header): Uint8Array {
  return sha256d(encodeHeader(h));
}

function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  pair.set(a);
  pair.set(b, 32);
  return sha256d(pair);
}

/** One level up the tree: pairs hashed, an odd last one paired with itself (Bitcoin's rule). */
function nextLevel(level: Uint8Array[]): Uint8Array[] {
  const next: Uint8Array[] = [];
  for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1] ?? level[i]!));
  return next;
}

/** Bitcoin's merkle root over transaction ids. */
export function merkleRoot(ids: Uint8Array[]): Uint8Array {
  if (ids.length === 0) return new Uint8Array(32);
  let level = ids;
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

/**
 * The merkle branch of the first leaf (the coinbase): the sibling hashes a pool sends in mining.notify, so a
 * miner can compute the root from its own coinbase id alone.
 */
export function coinbaseBranch(ids: Uint8Array[]): Uint8Array[] {
  const branch: Uint8Array[] = [];
  let level = ids;
  while (level.length > 1) {
    branch.push(level[1] ?? level[0]!);
    level = nextLevel(level);
  }
  return branch;
}

/** The root from the coinbase id and its branch. */
export function rootFromBranch(coinbaseId: Uint8Array, branch: Uint8Array[]): Uint8Array {
  let h = coinbaseId;
  for (const s of branch) h = hashPair(h, s);
  return h;
}

/**
 * A miner's coinbase, coinb1 ‖ extranonce ‖ coinb2 (the pool's two halves around the miner's extranonce bytes), and
 * the merkle root it makes with the job's branch: what a pool checking a share, a worker building a header and a
 * real-coin proposal all compute.
 */
export function coinbaseRoot(coinb1: Uint8Array, extranonce: Uint8Array, coinb2: Uint8Array, branch: Uint8Array[]): { coinbase: Uint8Array; merkleRoot: Uint8Array } {
  const coinbase = new Uint8Array(coinb1.length + extranonce.length + coinb2.length);
  coinbase.set(coinb1);
  coinbase.set(extranonce, coinb1.length);
  coinbase.set(coinb2, coinb1.length + extranonce.length);
  return { coinbase, merkleRoot: rootFromBranch(sha256d(coinbase), branch) };
}

/** The transaction ids of a block, in order. */
export function blockTxIds(b: Block): Uint8Array[] {
  return b.txs.map((t) => txId(t));
}

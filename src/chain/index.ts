export { encode, decode, type Value } from "../core";
export { encodeHeader, decodeHeader, bitsToTarget, targetToBits, workForTarget, type Header } from "./header";
export { NETWORKS, loadNetwork, rewardAt, networkSchema, type NetworkParams } from "./params";
export { nextTarget, nextBits, type DifficultyPoint } from "./difficulty";
export { generateKeyPair, keyPairFromSeed, signMessage, verifySignature, sha256d, type KeyPair } from "./keys";
export { encodeAddress, decodeAddress, base58, unbase58, base58CheckEncode, base58CheckDecode } from "./address";
export {
  encodeTx, decodeTx, txId, signTransfer, verifyTransfer, splitCoinbase, coinbaseBytesBound, transferSigningBytes, EXTRANONCE_BYTES,
  type Tx, type Coinbase, type Transfer, type CoinbaseOutput,
} from "./tx";
export { encodeBlock, decodeBlock, blockHash, merkleRoot, coinbaseBranch, coinbaseRoot, rootFromBranch, blockTxIds, sealBytes, type Block } from "./block";
export { checkBlockAlone, checkTransferAlone, ValidationError } from "./validate";
export { Chain, genesisBlock, type ChainOptions, type AcceptResult } from "./chain";
export type { Tip } from "./chain-index";
export { syncMemo, type SyncClaim } from "./sync-claims";
export type { Account } from "./state";

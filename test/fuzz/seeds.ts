// Valid inputs of every format the fuzzer mutates: Stratum messages both ways, every P2P message, blocks (plain and
// sealed), both transaction types. Keys come from fixed seeds so every run mutates the same bytes.
import {
  encodeAddress, encodeBlock, encodeHeader, encodeTx, genesisBlock, keyPairFromSeed, NETWORKS, signMessage, signTransfer,
  type Block, type Tx,
} from "../../src/chain";
import { encode, encodeLoose, type LooseValue, type Value } from "../../src/core";
import { messageValue, type Message } from "../../src/p2p";

export const PARAMS = NETWORKS.devnet!;
export const KEY_A = keyPairFromSeed(new Uint8Array(32).fill(7));
export const KEY_B = keyPairFromSeed(new Uint8Array(32).fill(9));
export const ADDR_A = encodeAddress(KEY_A.publicKey, PARAMS.addressVersion);
export const ADDR_B = encodeAddress(KEY_B.publicKey, PARAMS.addressVersion);

const h32 = (b: number) => new Uint8Array(32).fill(b);

/** What a miner sends a pool (the pool's decoder and session read these). */
export const MINER_MESSAGES: Record<string, unknown>[] = [
  { id: 1, method: "mining.subscribe", params: ["cpuminer-multi/1.3.7", null] },
  { id: 2, method: "mining.authorize", params: [`${ADDR_A}.rig1`, "d=0.5"] },
  { id: 3, method: "mining.authorize", params: [ADDR_B, "x"] },
  { id: 4, method: "mining.submit", params: [`${ADDR_A}.rig1`, "1a", "00000001", "5f5e1000", "deadbeef"] },
  { id: 5, method: "mining.submit", params: [ADDR_B, "2", "ffffffff", "6a000000", "00000000", "00002000"] },
  { id: 6, method: "mining.configure", params: [["version-rolling", "minimum-difficulty"], { "version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 2 }] },
  { id: 7, method: "mining.suggest_difficulty", params: [0.001] },
  { id: 8, method: "mining.extranonce.subscribe", params: [] },
  { id: "abc", method: "mining.get_transactions", params: ["1"] },
];

/** What a pool sends a miner (the worker's client reads these). */
export const POOL_MESSAGES: Record<string, unknown>[] = [
  { id: null, method: "mining.notify", params: ["1a", "00".repeat(32), "9500cf0000".repeat(8), "a0", ["11".repeat(32), "22".repeat(32)], "00000001", "1d00ffff", "6a000000", true] },
  { id: null, method: "mining.set_difficulty", params: [2] },
  { id: 1, result: [[["mining.set_difficulty", "00000001"], ["mining.notify", "00000001"]], "07000001", 4], error: null },
  { id: 4, result: null, error: [23, "Low difficulty share", null] },
  { id: null, method: "client.reconnect", params: ["127.0.0.1", 3334, 0] },
  { id: null, method: "client.show_message", params: ["Banned: too many invalid shares (60 s)"] },
];

export const STRATUM_MESSAGES = [...MINER_MESSAGES, ...POOL_MESSAGES];

const coinbase = (height: number, n: number): Tx => ({
  type: "coinbase",
  height,
  outputs: Array.from({ length: n }, (_, i) => ({ to: i % 2 ? KEY_A.publicKey : KEY_B.publicKey, amount: BigInt(i + 1) * 123_456_789n })),
  extranonce: Uint8Array.from([0, 0, 0, 7, 0, 0, 0, 1]),
  memo: "fuzz",
});
const transfer = signTransfer({ from: KEY_A.publicKey, to: KEY_B.publicKey, amount: 5_000_000n, fee: 1_000n, nonce: 3n }, KEY_A.seed, PARAMS.chainId);
const bigTransfer = signTransfer({ from: KEY_B.publicKey, to: KEY_A.publicKey, amount: (1n << 62n) + 1n, fee: (1n << 40n) - 1n, nonce: 2n ** 53n + 1n }, KEY_B.seed, PARAMS.chainId);

export const TXS: Tx[] = [coinbase(1, 1), coinbase(0xffffffff, 5), coinbase(300, 0), transfer, bigTransfer];
export const TX_BYTES = TXS.map(encodeTx);

const genesis = genesisBlock(PARAMS);
const block1: Block = { header: { ...genesis.header, prevHash: h32(0xab), merkleRoot: h32(0xcd), time: genesis.header.time + 10, nonce: 0xdeadbeef }, txs: [coinbase(1, 3), transfer, bigTransfer] };
const sealed: Block = { ...block1, sig: signMessage(KEY_A.seed, h32(1)) };
export const BLOCKS: Block[] = [genesis, block1, sealed];
export const BLOCK_BYTES = BLOCKS.map(encodeBlock);
export const HEADER_BYTES = BLOCKS.map((b) => encodeHeader(b.header));

/** One valid message of each P2P type. */
export const P2P_MESSAGES: Message[] = [
  { t: "hello", version: 1, chainId: PARAMS.chainId, genesis: h32(1), height: 12345, tip: h32(2), nodeId: h32(3), listenPort: 8421, challenge: h32(4) },
  { t: "auth", sig: new Uint8Array(64).fill(5) },
  { t: "ping", n: 42 },
  { t: "pong", n: 2 ** 40 },
  { t: "getheaders", locator: [h32(6), h32(7), h32(8)] },
  { t: "headers", headers: HEADER_BYTES },
  { t: "getblocks", hashes: [h32(9), h32(10)] },
  { t: "blocks", blocks: BLOCK_BYTES },
  { t: "inv", kind: "block", ids: [h32(11), h32(12)] },
  { t: "inv", kind: "tx", ids: [h32(13)] },
  { t: "gettx", ids: [h32(14), h32(15)] },
  { t: "txs", txs: TX_BYTES },
  { t: "getaddr" },
  { t: "addr", addrs: [{ host: "127.0.0.1", port: 8421 }, { host: "2001:db8::1", port: 1 }, { host: "node.example", port: 65535 }] },
];
export const P2P_BYTES = P2P_MESSAGES.map((m) => encode(messageValue(m)));

/** Every valid msgpack input: canonical (P2P, chain) and loose (Stratum's native frames). */
export const MSGPACK_BYTES: Uint8Array[] = [
  ...P2P_BYTES,
  ...BLOCK_BYTES,
  ...TX_BYTES,
  ...STRATUM_MESSAGES.map((m) => encodeLoose(m as LooseValue)),
  encode([0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, (1n << 64n) - 1n] as Value),
  encode(["", "x".repeat(31), "y".repeat(32), "z".repeat(256), new Uint8Array(0), new Uint8Array(300), [], [[[]]], null, true, false]),
];

import { z } from "zod";
import { ALGOS, MAX_CONFIG_BYTES, readRegularFile, RignodeError } from "../core";

/** Everything that makes one chain different from another. */
export const networkSchema = z
  .object({
    name: z.string().min(1).max(64),
    /** Part of every signed transaction, so a transfer cannot be replayed on another network. */
    chainId: z.string().min(1).max(64),
    algo: z.enum(ALGOS),
    /** pow: proof of work; sync: proof-of-sync, blocks by the producers' rotation (src/consensus). */
    consensus: z.enum(["pow", "sync"]),
    /** Target seconds between blocks. */
    blockTime: z.number().int().min(1).max(3600),
    /** Easiest allowed target, as compact bits; also the genesis and starting difficulty. */
    powLimitBits: z.number().int().min(1).max(0xffffffff),
    /** Blocks in the LWMA difficulty window. */
    lwmaWindow: z.number().int().min(3).max(1000),
    /** Block reward in base units before any halving (decimal string: amounts are integers). */
    initialReward: z.string().regex(/^\d+$/),
    halvingInterval: z.number().int().min(1),
    /** Smallest amount a coinbase output or transfer may carry. */
    minOutput: z.string().regex(/^\d+$/),
    /** Most outputs one coinbase may have. */
    maxCoinbaseOutputs: z.number().int().min(1).max(10000),
    maxBlockBytes: z.number().int().min(1000).max(32 * 1024 * 1024),
    /** Seconds a block's time may be ahead of the node's clock. */
    maxFutureSeconds: z.number().int().min(1),
    /** Blocks in the median-time-past window. */
    mtpWindow: z.number().int().min(1).max(101),
    genesis: z
      .object({ time: z.number().int().min(0), nonce: z.number().int().min(0).max(0xffffffff), memo: z.string().max(100) })
      .strict(),
    coinDecimals: z.number().int().min(0).max(18),
    /** First byte of encoded addresses: addresses of another network do not parse here. */
    addressVersion: z.number().int().min(0).max(255),
    /** Public key (hex) the fixed 1% foundation fee of pool blocks is paid to. */
    foundation: z.string().regex(/^[0-9a-f]{64}$/, "expected a 32-byte public key in hex"),
    /** proof-of-sync: the registered producers (node keys, hex); every synced node draws from the same list. */
    producers: z.array(z.string().regex(/^[0-9a-f]{64}$/, "expected a 32-byte public key in hex")).max(10_000),
  })
  .strict();

export type NetworkParams = z.infer<typeof networkSchema>;

const DEVNET: NetworkParams = {
  name: "devnet",
  chainId: "rignode-devnet-1",
  algo: "sha256d",
  consensus: "pow",
  blockTime: 10,
  // About 10^8 hashes a block: one block per block time (10 s) for one core at ~10 MH/s, so a fresh devnet starts at a
  // pace a pool and its miners can follow (difficulty 0.0233); LWMA raises it from there, never below this.
  powLimitBits: 0x1d2af31d,
  lwmaWindow: 45,
  initialReward: "5000000000",
  halvingInterval: 1_000_000,
  minOutput: "1000",
  maxCoinbaseOutputs: 1000,
  maxBlockBytes: 1_000_000,
  maxFutureSeconds: 120,
  mtpWindow: 11,
  genesis: { time: 1_763_769_600, nonce: 0, memo: "rignode devnet genesis" },
  coinDecimals: 8,
  addressVersion: 0x3c,
  // Ed25519 key from the seed sha256("rignode devnet foundation"): a test network's foundation that anyone can spend.
  foundation: "933cf60ebef7cfed0ef5241214f348a2d9539029ebda5f8baf6d4827ee1ba6b5",
  producers: [],
};

/** Built-in networks by name. */
export const NETWORKS: Record<string, NetworkParams> = {
  devnet: DEVNET,
  // Proof-of-sync: three producers whose node keys come from the seeds sha256("rignode devnet-sync producer N"),
  // N = 0..2 (write that seed's hex to DATA_DIR/node.key to run one); blocks need no proof of work.
  "devnet-sync": {
    ...DEVNET,
    name: "devnet-sync",
    chainId: "rignode-devnet-sync-1",
    consensus: "sync",
    powLimitBits: 0x207fffff,
    blockTime: 1,
    genesis: { ...DEVNET.genesis, memo: "rignode devnet-sync genesis" },
    addressVersion: 0x3e,
    producers: [
      "25ec78af19762609eadb3c01a4ebc8303725f68e136a9d8913f37ddb426396cf",
      "1802e7ffe391276d24c9fefbc44139b7c5dea57a57a6789b3194feb97adb675f",
      "c3d83729930cb14c8ac8532eac78582d9955a698ba25aee275169a190ce270ec",
    ],
  },
  "devnet-scrypt": {
    ...DEVNET,
    name: "devnet-scrypt",
    chainId: "rignode-devnet-scrypt-1",
    algo: "scrypt",
    // About 2 x 10^5 hashes a block: one block per 10 s for one core at ~20 kH/s (stratum difficulty 0.0466).
    powLimitBits: 0x1e53e2d6,
    genesis: { ...DEVNET.genesis, memo: "rignode devnet-scrypt genesis" },
    addressVersion: 0x3d,
  },
};

/** A built-in network by name, or a JSON file of the same shape (validated). */
export function loadNetwork(nameOrFile: string): NetworkParams {
  // Own keys only: "constructor" or "toString" would otherwise return Object's members as a network.
  if (Object.hasOwn(NETWORKS, nameOrFile)) return NETWORKS[nameOrFile]!;
  if (!nameOrFile.endsWith(".json")) {
    throw new RignodeError("config", `unknown network '${nameOrFile}'; built in: ${Object.keys(NETWORKS).join(", ")}, or a FILE.json`);
  }
  const text = readRegularFile(nameOrFile, { what: "network file", maxBytes: MAX_CONFIG_BYTES, todo: "pass --network NAME or a JSON file of at most 1 MiB" });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new RignodeError("config", `network file ${nameOrFile}: ${(cause as Error).message}`, { cause });
  }
  const r = networkSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new RignodeError("config", `network file ${nameOrFile}: key ${i.path.join(".") || "(top)"}: ${i.message}`);
  }
  return r.data;
}

/** Block reward at a height: halves every halvingInterval blocks, 0 after 64 halvings. */
export function rewardAt(p: NetworkParams, height: number): bigint {
  const halvings = Math.floor(height / p.halvingInterval);
  return halvings >= 64 ? 0n : BigInt(p.initialReward) >> BigInt(halvings);
}

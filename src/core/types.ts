/** Proof-of-work algorithms the kernel implements; the numbers are the kernel ABI's. */
export const ALGOS = ["sha256d", "scrypt"] as const;
export type Algo = (typeof ALGOS)[number];
export const ALGO_ID: Record<Algo, number> = { sha256d: 0, scrypt: 1 };

/** Kernel builds, slowest to fastest. */
export const KERNEL_VARIANTS = ["baseline", "v3", "v4"] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

/** One unit of work for the miner: an 80-byte header whose nonce (bytes 76..79, LE) is to be searched. */
export interface MinerJob {
  /** Opaque id from the job source, handed back with every found nonce. */
  id: string;
  algo: Algo;
  header: Uint8Array;
  /** 32 bytes, little-endian number: a nonce is found when its hash is <= target. */
  target: Uint8Array;
  /** Nonce range to search, [nonceStart, nonceEnd); defaults to the whole 32-bit space. */
  nonceStart?: number;
  nonceEnd?: number;
}

/** A nonce a miner found, for the job it was found on. */
export interface FoundNonce {
  jobId: string;
  nonce: number;
}

/** Where the miner gets work and where it reports: the chain node, a pool client, or a benchmark. */
export interface JobSource {
  /** Called when every nonce of the current job has been handed out; return the next job, or null to idle. */
  nextJob(exhausted: MinerJob): MinerJob | null;
  /** Called for every nonce found on the current job. */
  found(nonce: FoundNonce): void;
}

/** Hashing and scanning, as every kernel variant and the TypeScript reference provide them. */
export interface HashBackend {
  readonly name: string;
  /** The 32 digest bytes of one 80-byte header (the hash as a little-endian number). */
  hash(algo: Algo, header: Uint8Array): Uint8Array;
  /** Every nonce in [start, start+count) whose hash is <= target, ascending. */
  scan(algo: Algo, header: Uint8Array, start: number, count: number, target: Uint8Array): number[];
}

/**
 * Proof-of-sync producer selection as the chain needs it (consensus implements it; the composition root passes it
 * in, so the chain does not import the layer above it). Producer ids are public keys in hex.
 */
export interface ProducerRules {
  /** Slot length in ms: a block of slot s is stamped no earlier than its parent's time + s x slotMs. */
  readonly slotMs: number;
  /**
   * The producers of the height after `parentHash`, slot 0 first, for a branch whose last blocks (oldest first, at
   * most the rules' memory) had these primaries and slots.
   */
  winners(parentHash: Uint8Array, height: number, recent: readonly { primary: string; slot: number }[]): string[];
  /** The producer pool those winners are drawn from (sorted), for the same branch. */
  pool(recent: readonly { primary: string; slot: number }[]): string[];
  /** How many of the branch's last blocks `winners` looks at. */
  readonly memory: number;
}

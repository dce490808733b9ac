import { z } from "zod";
import { ALGOS, KERNEL_VARIANTS } from "../core";

/** HOST:PORT, with [v6] brackets allowed. */
export const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "expected HOST:PORT, e.g. 127.0.0.1:8420")
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be 0..65535");

/** One document, a section per subsystem; flags and environment are turned into this same document. */
export const configSchema = z
  .object({
    dataDir: z.string().min(1),
    /** A built-in network name or a network JSON file. */
    network: z.string().min(1),
    log: z
      .object({
        json: z.boolean(),
        level: z.enum(["debug", "info", "warn", "error"]),
      })
      .strict(),
    p2p: z
      .object({
        /** HOST:PORT to listen on, or "off". */
        listen: z.union([z.literal("off"), listenAddress]),
        peers: z.array(listenAddress).max(64),
        /** Dial addresses learnt from peers too (false: only --peer, like Bitcoin Core's -connect). */
        discover: z.boolean(),
      })
      .strict(),
    api: z.object({ listen: listenAddress, auth: z.enum(["auto", "token"]) }).strict(),
    kernel: z.object({ variant: z.enum(["auto", ...KERNEL_VARIANTS]) }).strict(),
    miner: z
      .object({
        algo: z.enum(ALGOS),
        threads: z.union([z.literal("auto"), z.number().int().min(1).max(1024)]),
        batch: z.union([z.literal("auto"), z.number().int().min(1).max(2 ** 31)]),
        pin: z.boolean(),
        /** Mine on the node's own chain. */
        mine: z.boolean(),
        /** Payout address for solo mining; empty: the node's wallet address. */
        address: z.string(),
      })
      .strict(),
    pool: z
      .object({
        /** Native msgpack-frame Stratum port, or "off". */
        stratum: z.union([z.literal("off"), listenAddress]),
        /** Stratum V1 JSON-line port, or "off". */
        stratumJson: z.union([z.literal("off"), listenAddress]),
        /** Stratum V1 JSON over TLS (stratum+ssl://), or "off"; needs tlsCert and tlsKey. */
        stratumTls: z.union([z.literal("off"), listenAddress]),
        /** PEM certificate (chain) file for stratumTls. */
        tlsCert: z.string(),
        /** PEM private key file for stratumTls. */
        tlsKey: z.string(),
        /** Pool fee in percent of each block, 0..10 (basis-point precision). */
        feePercent: z.number().min(0).max(10).refine((x) => Number.isInteger(Math.round(x * 100)) && Math.abs(x * 100 - Math.round(x * 100)) < 1e-9, "at most two decimals"),
        /** Address the pool fee is paid to; empty: the node's wallet. */
        address: z.string(),
        scheme: z.enum(["pplns", "prop"]),
        /** PPLNS window in difficulty units, or auto (twice the network difficulty). */
        window: z.union([z.literal("auto"), z.number().positive()]),
        /** Vardiff aims at one share per this many seconds per connection. */
        shareInterval: z.number().min(0.1).max(3600),
        startDifficulty: z.number().positive(),
        /** Lowest difficulty vardiff, suggest_difficulty or d= may set. */
        minDifficulty: z.number().positive(),
        maxConnsPerIp: z.number().int().min(0),
        /** Workers (ADDRESS.NAME) authorized on one connection, 0: no cap. */
        maxWorkersPerConn: z.number().int().min(0),
        /** Distinct workers authorized from one IP across its connections, 0: no cap. */
        maxWorkersPerIp: z.number().int().min(0),
        sharesPerSecond: z.number().int().min(0),
        banSeconds: z.number().int().min(0),
        /** First byte of every extranonce1, distinct per pool instance behind one address. */
        instance: z.number().int().min(0).max(255),
        /** Work from a bitcoind-compatible daemon instead of this node's chain: http://USER:PASS@HOST:PORT, or "". */
        upstream: z.union([z.literal(""), z.string().regex(/^http:\/\/([^@/\s]+@)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}\/?$/, "http://USER:PASS@HOST:PORT")]),
        /** The upstream chain's algorithm; auto: scrypt for Litecoin, sha256d for Bitcoin-compatible daemons. */
        upstreamAlgo: z.enum(["auto", ...ALGOS]),
        /** The foundation's address on the upstream coin (regtest has a built-in one). */
        foundationAddress: z.string().max(200),
      })
      .strict(),
    worker: z
      .object({
        /** Pools in failover order: HOST:PORT (native) or stratum+tcp://HOST:PORT (JSON). */
        pools: z.array(z.string().regex(/^((stratum\+tcp|stratum\+ssl|stratum\+tls|rignode):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "expected HOST:PORT, stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT")).max(16),
        /** Payout address, optionally .WORKERNAME. */
        user: z.string().max(200),
        password: z.string().max(200),
        /** Seconds between two worker.speed log lines (hashrate, shares, pool, difficulty); 0: none. */
        printTime: z.number().int().min(0).max(86_400),
        /** Keep retrying when every pool refuses the user (otherwise exit 1 after 3 refusals). */
        retryForever: z.boolean(),
        /** PEM file of the certificate(s) to trust for stratum+ssl:// pools (a self-signed pool's own certificate); "": the system's CAs. */
        tlsCa: z.string(),
      })
      .strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** Every key's default. */
export const DEFAULTS: Config = {
  dataDir: "./rignode-data",
  network: "devnet",
  log: { json: false, level: "info" },
  p2p: { listen: "0.0.0.0:8421", peers: [], discover: true },
  api: { listen: "127.0.0.1:8420", auth: "auto" },
  kernel: { variant: "auto" },
  miner: { algo: "sha256d", threads: "auto", batch: "auto", pin: true, mine: false, address: "" },
  pool: {
    stratum: "0.0.0.0:3334",
    stratumJson: "0.0.0.0:3333",
    stratumTls: "off",
    tlsCert: "",
    tlsKey: "",
    feePercent: 1,
    address: "",
    scheme: "pplns",
    window: "auto",
    shareInterval: 10,
    startDifficulty: 1,
    minDifficulty: 0.000001,
    maxConnsPerIp: 256,
    maxWorkersPerConn: 256,
    maxWorkersPerIp: 1024,
    sharesPerSecond: 100,
    banSeconds: 3600,
    instance: 0,
    upstream: "",
    upstreamAlgo: "auto",
    foundationAddress: "",
  },
  worker: { pools: [], user: "", password: "x", printTime: 60, retryForever: false, tlsCa: "" },
};



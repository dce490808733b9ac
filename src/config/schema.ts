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
        /** Inbound P2P links one IP address may hold (loopback test networks run many nodes on one address). */
        maxPerIp: z.number().int().min(1).max(1024),
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
        /** Stratum threads (shards with SO_REUSEPORT listeners); auto: one per core, at most 8; 1: one thread. */
        stratumThreads: z.union([z.literal("auto"), z.number().int().min(1).max(15)]),
        /** Where the ledger lives: "sqlite" (in the node's store) or postgres://USER@HOST:PORT/DB, shared by instances. */
        ledger: z.union([z.literal("sqlite"), z.string().regex(/^postgres(ql)?:\/\/[^\s/@]+(@[^\s/@]+)?\/[^\s/?#]+(\?\S*)?$/, "sqlite or postgres://USER@HOST:PORT/DB")]),
        /** Several instances on one Redis/Valkey (redis://HOST:PORT[/DB]), or "": one instance alone. */
        bus: z.union([z.literal(""), z.string().regex(/^(redis|rediss|valkey|valkeys):\/\/([^@/\s]+@)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}(\/\d{1,2})?\/?$/, "redis://HOST:PORT[/DB]")]),
        /** Work from a bitcoind-compatible daemon instead of this node's chain: http://USER:PASS@HOST:PORT, or "". */
        upstream: z.union([z.literal(""), z.string().regex(/^http:\/\/([^@/\s]+@)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}\/?$/, "http://USER:PASS@HOST:PORT")]),
        /** The upstream chain's algorithm; auto: scrypt for Litecoin, sha256d for Bitcoin-compatible daemons. */
        upstreamAlgo: z.enum(["auto", ...ALGOS]),
        /** The foundation's address on the upstream coin (regtest has a built-in one). */
        foundationAddress: z.string().max(200),
      })
      .strict(),
    tuning: z
      .object({
        /** laptop, balanced or beast: the limits that keys left at "auto" take (README: Miner intelligence). */
        profile: z.enum(["laptop", "balanced", "beast"]),
        /** Search threads x batch while mining and re-evaluate every reevalSeconds (false: use the memory's best, or the flags). */
        autoTune: z.boolean(),
        minThreads: z.number().int().min(1).max(1024),
        maxThreads: z.union([z.literal("auto"), z.number().int().min(1).max(1024)]),
        /** Batch in units of 1/16 of the default kernel call (sha256d 65,536 nonces, scrypt 64). */
        minBatch: z.number().int().min(1).max(1024),
        maxBatch: z.number().int().min(1).max(1024),
        windowSeconds: z.number().int().min(5).max(3600),
        reevalSeconds: z.number().int().min(60).max(7 * 86_400),
        thermal: z.boolean(),
        thermalWarm: z.union([z.literal("auto"), z.number().min(30).max(120)]),
        thermalHot: z.union([z.literal("auto"), z.number().min(30).max(120)]),
        thermalCritical: z.union([z.literal("auto"), z.number().min(30).max(120)]),
        cooldownSeconds: z.number().int().min(0).max(3600),
        /** Battery sensitivity: cap on battery, pause when low. */
        power: z.boolean(),
        batteryThreads: z.union([z.literal("auto"), z.number().int().min(1).max(1024)]),
        batteryBatch: z.union([z.literal("auto"), z.number().int().min(1).max(32)]),
        batteryPauseBelow: z.union([z.literal("auto"), z.number().min(0).max(100)]),
        /** Place threads over NUMA nodes in proportion, physical cores before SMT siblings (false: CPU number order). */
        numa: z.boolean(),
        /** Seconds between sensor readings (temperature, power, energy). */
        pollSeconds: z.number().min(0.2).max(60),
        /** Where sys/ and proc/ are read from ("/"; a copy or bind mount of a host's, or a test's fake tree). */
        sysRoot: z.string().min(1),
      })
      .strict()
      .refine((t) => t.minBatch <= t.maxBatch, { message: "minBatch must be <= maxBatch", path: ["minBatch"] })
      .refine((t) => t.maxThreads === "auto" || t.minThreads <= t.maxThreads, { message: "minThreads must be <= maxThreads", path: ["minThreads"] }),
    telemetry: z
      .object({
        /** Sample, score and advise where a miner or a pool runs. */
        enabled: z.boolean(),
        /** Thresholds JSON file ("" = the built-in defaults); reloaded when its mtime changes. */
        thresholds: z.string().max(4096),
        /** Carry out advisories with a validation window and rollback. */
        act: z.boolean(),
        /** Redis/Valkey URL for the telemetry:* keys ("" = off). */
        redis: z.union([z.literal(""), z.string().regex(/^(redis|rediss|valkey):\/\/[^\s]+$/, "redis://HOST:PORT")]),
        /** Days of history kept in SQLite (0: none). */
        retentionDays: z.number().int().min(0).max(3650),
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
  p2p: { listen: "0.0.0.0:8421", peers: [], discover: true, maxPerIp: 8 },
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
    stratumThreads: "auto",
    ledger: "sqlite",
    bus: "",
    upstream: "",
    upstreamAlgo: "auto",
    foundationAddress: "",
  },
  tuning: {
    profile: "balanced",
    autoTune: false,
    minThreads: 1,
    maxThreads: "auto",
    minBatch: 1,
    maxBatch: 32,
    windowSeconds: 60,
    reevalSeconds: 900,
    thermal: true,
    thermalWarm: "auto",
    thermalHot: "auto",
    thermalCritical: "auto",
    cooldownSeconds: 120,
    power: true,
    batteryThreads: "auto",
    batteryBatch: "auto",
    batteryPauseBelow: "auto",
    numa: true,
    pollSeconds: 5,
    sysRoot: "/",
  },
  telemetry: { enabled: true, thresholds: "", act: false, redis: "", retentionDays: 7 },
  worker: { pools: [], user: "", password: "x", printTime: 60, retryForever: false, tlsCa: "" },
};



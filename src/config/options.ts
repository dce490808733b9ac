/** The config keys that can also be set from the environment and the command line: one table, one mechanism. */
export interface OptionSpec {
  /** Command-line flag without dashes. */
  flag: string;
  /** Environment variable. */
  env: string;
  /** Path in the config document. */
  path: [string] | [string, string];
  /** How the text of a flag or variable becomes a value; the schema then checks it. */
  kind: "string" | "boolean" | "int-or-auto" | "number" | "number-or-auto" | "list";
  help: string;
  /** Value name for --help. */
  arg?: string;
}

export const OPTIONS: OptionSpec[] = [
  { flag: "data-dir", env: "RIGNODE_DATA_DIR", path: ["dataDir"], kind: "string", arg: "DIR", help: "state directory (default ./rignode-data)" },
  { flag: "network", env: "RIGNODE_NETWORK", path: ["network"], kind: "string", arg: "NAME|FILE", help: "devnet (default), devnet-scrypt, devnet-sync (proof-of-sync), or a network JSON file" },
  { flag: "mine", env: "RIGNODE_MINE", path: ["miner", "mine"], kind: "boolean", help: "mine blocks on this node's chain" },
  { flag: "address", env: "RIGNODE_ADDRESS", path: ["miner", "address"], kind: "string", arg: "ADDR", help: "payout address for mining (default: this node's wallet)" },
  { flag: "p2p", env: "RIGNODE_P2P", path: ["p2p", "listen"], kind: "string", arg: "HOST:PORT|off", help: "P2P listen address (default 0.0.0.0:8421; off: outbound only)" },
  { flag: "peer", env: "RIGNODE_PEERS", path: ["p2p", "peers"], kind: "list", arg: "HOST:PORT", help: "a peer to keep connected (repeatable; comma-separated in the environment)" },
  { flag: "discover", env: "RIGNODE_DISCOVER", path: ["p2p", "discover"], kind: "boolean", help: "also dial peers learnt by address gossip (default true; --discover=false: only --peer)" },
  { flag: "p2p-max-per-ip", env: "RIGNODE_P2P_MAX_PER_IP", path: ["p2p", "maxPerIp"], kind: "number", arg: "N", help: "inbound P2P links one IP address may hold (default 8)" },
  { flag: "api", env: "RIGNODE_API", path: ["api", "listen"], kind: "string", arg: "HOST:PORT", help: "HTTP API address (default 127.0.0.1:8420; when not given and 8420 is taken, the next free port up to 8439)" },
  { flag: "api-auth", env: "RIGNODE_API_AUTH", path: ["api", "auth"], kind: "string", arg: "MODE", help: "auto: bearer token for writes unless the API is loopback-only; token: always" },
  { flag: "log-json", env: "RIGNODE_LOG_JSON", path: ["log", "json"], kind: "boolean", help: "log JSON lines instead of text" },
  { flag: "log-level", env: "RIGNODE_LOG_LEVEL", path: ["log", "level"], kind: "string", arg: "LEVEL", help: "debug, info, warn or error (default info)" },
  { flag: "kernel", env: "RIGNODE_KERNEL", path: ["kernel", "variant"], kind: "string", arg: "VARIANT", help: "auto, baseline, v3 or v4 (default auto: the fastest this CPU runs)" },
  { flag: "algo", env: "RIGNODE_ALGO", path: ["miner", "algo"], kind: "string", arg: "ALGO", help: "sha256d or scrypt" },
  { flag: "threads", env: "RIGNODE_THREADS", path: ["miner", "threads"], kind: "int-or-auto", arg: "N", help: "mining threads (default auto: one per CPU)" },
  { flag: "pin", env: "RIGNODE_PIN", path: ["miner", "pin"], kind: "boolean", help: "pin each mining thread to one CPU (sched_setaffinity); --pin=false to not" },
  { flag: "batch", env: "RIGNODE_BATCH", path: ["miner", "batch"], kind: "int-or-auto", arg: "N", help: "nonces per kernel call (default auto)" },
  { flag: "profile", env: "RIGNODE_PROFILE", path: ["tuning", "profile"], kind: "string", arg: "NAME", help: "miner: laptop, balanced (default) or beast: the thermal and battery limits left at auto" },
  { flag: "auto-tune", env: "RIGNODE_AUTO_TUNE", path: ["tuning", "autoTune"], kind: "boolean", help: "miner: search threads x batch while mining, re-evaluated every --tune-reeval (default false: the performance memory's best)" },
  { flag: "min-threads", env: "RIGNODE_MIN_THREADS", path: ["tuning", "minThreads"], kind: "int-or-auto", arg: "N", help: "miner: fewest threads the tuner tries (default 1)" },
  { flag: "max-threads", env: "RIGNODE_MAX_THREADS", path: ["tuning", "maxThreads"], kind: "int-or-auto", arg: "N", help: "miner: most threads the tuner tries (default auto: the CPUs this process may use)" },
  { flag: "min-batch", env: "RIGNODE_MIN_BATCH", path: ["tuning", "minBatch"], kind: "int-or-auto", arg: "UNITS", help: "miner: smallest batch the tuner tries, in units (1 unit = 65,536 sha256d or 64 scrypt nonces; default 1)" },
  { flag: "max-batch", env: "RIGNODE_MAX_BATCH", path: ["tuning", "maxBatch"], kind: "int-or-auto", arg: "UNITS", help: "miner: largest batch the tuner tries, in units (default 32)" },
  { flag: "tune-window", env: "RIGNODE_TUNE_WINDOW", path: ["tuning", "windowSeconds"], kind: "int-or-auto", arg: "SECONDS", help: "miner: evaluation window of one candidate (default 60)" },
  { flag: "tune-reeval", env: "RIGNODE_TUNE_REEVAL", path: ["tuning", "reevalSeconds"], kind: "int-or-auto", arg: "SECONDS", help: "miner: re-evaluate the tuned configuration every SECONDS (default 900)" },
  { flag: "thermal", env: "RIGNODE_THERMAL", path: ["tuning", "thermal"], kind: "boolean", help: "miner: thermal governor (default true; --thermal=false to mine whatever the temperature)" },
  { flag: "thermal-warm", env: "RIGNODE_THERMAL_WARM", path: ["tuning", "thermalWarm"], kind: "number-or-auto", arg: "C", help: "miner: warm from this CPU temperature (default auto: the profile's, balanced 70)" },
  { flag: "thermal-hot", env: "RIGNODE_THERMAL_HOT", path: ["tuning", "thermalHot"], kind: "number-or-auto", arg: "C", help: "miner: hot from this temperature: threads reduced linearly up to 50% (default auto: balanced 80)" },
  { flag: "thermal-critical", env: "RIGNODE_THERMAL_CRITICAL", path: ["tuning", "thermalCritical"], kind: "number-or-auto", arg: "C", help: "miner: pause above this temperature (default auto: balanced 90)" },
  { flag: "thermal-cooldown", env: "RIGNODE_THERMAL_COOLDOWN", path: ["tuning", "cooldownSeconds"], kind: "int-or-auto", arg: "SECONDS", help: "miner: wait this long after a thermal cut before ramping back (default 120)" },
  { flag: "power", env: "RIGNODE_POWER", path: ["tuning", "power"], kind: "boolean", help: "miner: battery governor (default true; --power=false to ignore the battery)" },
  { flag: "battery-threads", env: "RIGNODE_BATTERY_THREADS", path: ["tuning", "batteryThreads"], kind: "int-or-auto", arg: "N", help: "miner: thread cap on battery (default auto: balanced 2)" },
  { flag: "battery-batch", env: "RIGNODE_BATTERY_BATCH", path: ["tuning", "batteryBatch"], kind: "int-or-auto", arg: "UNITS", help: "miner: batch cap on battery, in units (default auto: balanced 4)" },
  { flag: "battery-pause-below", env: "RIGNODE_BATTERY_PAUSE_BELOW", path: ["tuning", "batteryPauseBelow"], kind: "number-or-auto", arg: "PERCENT", help: "miner: pause on battery below this charge (default auto: balanced 20)" },
  { flag: "numa", env: "RIGNODE_NUMA", path: ["tuning", "numa"], kind: "boolean", help: "miner: place threads over NUMA nodes and physical cores before SMT siblings (default true)" },
  { flag: "sensor-poll", env: "RIGNODE_SENSOR_POLL", path: ["tuning", "pollSeconds"], kind: "number", arg: "SECONDS", help: "miner: seconds between temperature, power and energy readings (default 5)" },
  { flag: "sys-root", env: "RIGNODE_SYS_ROOT", path: ["tuning", "sysRoot"], kind: "string", arg: "DIR", help: "miner: read sys/ and proc/ under DIR instead of / (a container's bind mount of the host's)" },
  { flag: "telemetry", env: "RIGNODE_TELEMETRY", path: ["telemetry", "enabled"], kind: "boolean", help: "miner or pool: sample the rig at 1 Hz (5 Hz while a change is suspected), score it and advise (default true)" },
  { flag: "telemetry-thresholds", env: "RIGNODE_TELEMETRY_THRESHOLDS", path: ["telemetry", "thresholds"], kind: "string", arg: "FILE", help: "telemetry: thresholds JSON file, reloaded when it changes (a bad file keeps the old thresholds; default built-in)" },
  { flag: "telemetry-act", env: "RIGNODE_TELEMETRY_ACT", path: ["telemetry", "act"], kind: "boolean", help: "telemetry: carry out advisories (threads, batch, pause/resume, RAPL power limit), each validated and rolled back if the KPI did not improve; kept changes last 30 min (default false)" },
  { flag: "telemetry-redis", env: "RIGNODE_TELEMETRY_REDIS", path: ["telemetry", "redis"], kind: "string", arg: "URL", help: "telemetry: publish telemetry:last/advice/actions:{rig} to this Redis or Valkey (redis://HOST:PORT; default off)" },
  { flag: "telemetry-retention-days", env: "RIGNODE_TELEMETRY_RETENTION_DAYS", path: ["telemetry", "retentionDays"], kind: "number", arg: "DAYS", help: "telemetry: days of scored samples kept in DATA_DIR/telemetry.sqlite (default 7; 0 keeps no history)" },
  { flag: "stratum", env: "RIGNODE_STRATUM", path: ["pool", "stratum"], kind: "string", arg: "HOST:PORT|off", help: "pool: native (msgpack frames) Stratum port (default 0.0.0.0:3334)" },
  { flag: "stratum-json", env: "RIGNODE_STRATUM_JSON", path: ["pool", "stratumJson"], kind: "string", arg: "HOST:PORT|off", help: "pool: Stratum V1 JSON port (default 0.0.0.0:3333)" },
  { flag: "stratum-tls", env: "RIGNODE_STRATUM_TLS", path: ["pool", "stratumTls"], kind: "string", arg: "HOST:PORT|off", help: "pool: Stratum V1 JSON over TLS port for stratum+ssl:// miners (default off; needs --tls-cert and --tls-key)" },
  { flag: "tls-cert", env: "RIGNODE_TLS_CERT", path: ["pool", "tlsCert"], kind: "string", arg: "FILE", help: "pool: PEM certificate (chain) for --stratum-tls" },
  { flag: "tls-key", env: "RIGNODE_TLS_KEY", path: ["pool", "tlsKey"], kind: "string", arg: "FILE", help: "pool: PEM private key for --stratum-tls" },
  { flag: "pool-fee", env: "RIGNODE_POOL_FEE", path: ["pool", "feePercent"], kind: "number", arg: "PERCENT", help: "pool: fee in percent, 0-10 (default 1; the 1% foundation fee is separate)" },
  { flag: "pool-address", env: "RIGNODE_POOL_ADDRESS", path: ["pool", "address"], kind: "string", arg: "ADDR", help: "pool: address the pool fee goes to (default: this node's wallet)" },
  { flag: "payout-scheme", env: "RIGNODE_PAYOUT_SCHEME", path: ["pool", "scheme"], kind: "string", arg: "pplns|prop", help: "pool: PPLNS (default) or PROP by round" },
  { flag: "pplns-window", env: "RIGNODE_PPLNS_WINDOW", path: ["pool", "window"], kind: "number-or-auto", arg: "UNITS", help: "pool: PPLNS window in difficulty units (default auto: 2x network difficulty)" },
  { flag: "share-interval", env: "RIGNODE_SHARE_INTERVAL", path: ["pool", "shareInterval"], kind: "number", arg: "SECONDS", help: "pool: vardiff aims at one share per SECONDS per connection (default 10)" },
  { flag: "start-difficulty", env: "RIGNODE_START_DIFFICULTY", path: ["pool", "startDifficulty"], kind: "number", arg: "D", help: "pool: difficulty of a new connection (default 1)" },
  { flag: "min-difficulty", env: "RIGNODE_MIN_DIFFICULTY", path: ["pool", "minDifficulty"], kind: "number", arg: "D", help: "pool: lowest share difficulty allowed (default 0.000001)" },
  { flag: "max-conns-per-ip", env: "RIGNODE_MAX_CONNS_PER_IP", path: ["pool", "maxConnsPerIp"], kind: "int-or-auto", arg: "N", help: "pool: connections per IP, 0 = no cap (default 256)" },
  { flag: "max-workers-per-conn", env: "RIGNODE_MAX_WORKERS_PER_CONN", path: ["pool", "maxWorkersPerConn"], kind: "int-or-auto", arg: "N", help: "pool: workers authorized on one connection, 0 = no cap (default 256)" },
  { flag: "max-workers-per-ip", env: "RIGNODE_MAX_WORKERS_PER_IP", path: ["pool", "maxWorkersPerIp"], kind: "int-or-auto", arg: "N", help: "pool: distinct workers from one IP across its connections, 0 = no cap (default 1024)" },
  { flag: "shares-per-second", env: "RIGNODE_SHARES_PER_SECOND", path: ["pool", "sharesPerSecond"], kind: "int-or-auto", arg: "N", help: "pool: shares per second per connection, 0 = no cap (default 100)" },
  { flag: "ban-seconds", env: "RIGNODE_BAN_SECONDS", path: ["pool", "banSeconds"], kind: "int-or-auto", arg: "N", help: "pool: ban after >10% invalid of >=100 shares, for N s, 0 = never (default 3600)" },
  { flag: "pool-instance", env: "RIGNODE_POOL_INSTANCE", path: ["pool", "instance"], kind: "int-or-auto", arg: "0-255", help: "pool: first extranonce1 byte, distinct per instance (default 0)" },
  { flag: "stratum-threads", env: "RIGNODE_STRATUM_THREADS", path: ["pool", "stratumThreads"], kind: "int-or-auto", arg: "N", help: "pool: Stratum threads, each a shard with its own SO_REUSEPORT listeners, 1 = one thread (default auto: one per core, at most 8)" },
  { flag: "ledger", env: "RIGNODE_LEDGER", path: ["pool", "ledger"], kind: "string", arg: "sqlite|URL", help: "pool: the ledger: sqlite (default, in the data directory) or postgres://USER@HOST:PORT/DB, shared by several pool instances" },
  { flag: "bus", env: "RIGNODE_BUS", path: ["pool", "bus"], kind: "string", arg: "URL", help: "pool: run as one of several instances on this Redis or Valkey (redis://HOST:PORT[/DB]): one leader makes the jobs, the others serve them; needs --ledger postgres://… and a distinct --pool-instance each (default off)" },
  { flag: "upstream", env: "RIGNODE_UPSTREAM", path: ["pool", "upstream"], kind: "string", arg: "URL", help: "pool: mine a real coin: work from a bitcoind-compatible daemon, http://USER:PASS@HOST:PORT (getblocktemplate, submitblock)" },
  { flag: "upstream-algo", env: "RIGNODE_UPSTREAM_ALGO", path: ["pool", "upstreamAlgo"], kind: "string", arg: "ALGO", help: "pool: the upstream chain's algorithm (default auto: scrypt for Litecoin, sha256d otherwise)" },
  { flag: "foundation-address", env: "RIGNODE_FOUNDATION_ADDRESS", path: ["pool", "foundationAddress"], kind: "string", arg: "ADDR", help: "pool: the 1% foundation fee's address on the upstream coin (built in for regtest)" },
  { flag: "pool", env: "RIGNODE_POOLS", path: ["worker", "pools"], kind: "list", arg: "HOST:PORT", help: "worker: pool(s) in failover order; stratum+tcp://HOST:PORT for JSON, stratum+ssl://HOST:PORT for JSON over TLS (repeatable or comma-separated)" },
  { flag: "user", env: "RIGNODE_USER", path: ["worker", "user"], kind: "string", arg: "ADDR[.NAME]", help: "worker: payout address, optionally .WORKERNAME" },
  { flag: "password", env: "RIGNODE_PASSWORD", path: ["worker", "password"], kind: "string", arg: "TEXT", help: "worker: password sent to the pool (d=DIFF asks for a fixed difficulty)" },
  { flag: "print-time", env: "RIGNODE_PRINT_TIME", path: ["worker", "printTime"], kind: "number", arg: "SECONDS", help: "worker: a worker.speed line (hashrate 10s/60s/15m, shares, pool, difficulty) every SECONDS, 0 = none (default 60)" },
  { flag: "tls-ca", env: "RIGNODE_TLS_CA", path: ["worker", "tlsCa"], kind: "string", arg: "FILE", help: "worker: PEM certificate(s) to trust for stratum+ssl:// (a pool's self-signed certificate; default: the system's CAs)" },
  { flag: "retry-forever", env: "RIGNODE_RETRY_FOREVER", path: ["worker", "retryForever"], kind: "boolean", help: "worker: keep retrying when the pool refuses the user (default: exit 1 after 3 refusals)" },
];

/** Environment variables that are not config keys but are still ours. */
export const OTHER_ENV = new Set(["RIGNODE_CONFIG", "RIGNODE_CPU_CLAIMS_DIR"]);

/** Turns the text of a flag or environment variable into the value the schema expects, when it reads as one. */
export function parseOptionText(kind: OptionSpec["kind"], text: string): unknown {
  switch (kind) {
    case "string":
      return text;
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return text; // the schema reports it
    case "list":
      return text.split(",").map((s) => s.trim()).filter(Boolean);
    case "int-or-auto":
      if (text === "auto") return text;
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case "number":
    case "number-or-auto":
      if (kind === "number-or-auto" && text === "auto") return text;
      return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : text;
  }
}

/** The miner's steering flags (governors, tuner, placement): every command that mines takes all of them. */
export const TUNING_FLAGS: string[] = OPTIONS.filter((o) => o.path[0] === "tuning").map((o) => o.flag);

/** The telemetry flags (sampler, thresholds, actions, Redis, history): every command that mines or pools takes them. */
export const TELEMETRY_FLAGS: string[] = OPTIONS.filter((o) => o.path[0] === "telemetry").map((o) => o.flag);

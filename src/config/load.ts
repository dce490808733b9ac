import { MAX_CONFIG_BYTES, readRegularFile, RignodeError } from "../core";
import { configSchema, DEFAULTS, type Config } from "./schema";
import { OPTIONS, OTHER_ENV, parseOptionText } from "./options";

/** What each key accepts, in words, for error messages. */
const ALLOWED: Record<string, string> = {
  dataDir: "a directory path",
  network: "devnet, devnet-scrypt, devnet-sync or a FILE.json",
  "miner.mine": "true or false",
  "miner.address": "an address",
  "log.json": "true or false",
  "log.level": "debug, info, warn or error",
  "api.listen": "HOST:PORT, e.g. 127.0.0.1:8420",
  "p2p.listen": "HOST:PORT or off",
  "p2p.peers": "HOST:PORT addresses",
  "p2p.discover": "true or false",
  "p2p.maxPerIp": "a whole number 1..1024",
  "api.auth": "auto or token",
  "kernel.variant": "auto, baseline, v3 or v4",
  "miner.algo": "sha256d or scrypt",
  "miner.threads": "auto or a whole number 1..1024",
  "miner.batch": "auto or a whole number 1..2147483648",
  "miner.pin": "true or false",
  "pool.stratum": "HOST:PORT or off",
  "pool.stratumJson": "HOST:PORT or off",
  "pool.stratumTls": "HOST:PORT or off",
  "pool.tlsCert": "a PEM certificate file",
  "pool.tlsKey": "a PEM private key file",
  "pool.feePercent": "a percentage from 0 to 10 (at most two decimals)",
  "pool.address": "an address",
  "pool.scheme": "pplns or prop",
  "pool.window": "auto or a positive number of difficulty units",
  "pool.shareInterval": "seconds from 0.1 to 3600",
  "pool.startDifficulty": "a positive number",
  "pool.minDifficulty": "a positive number",
  "pool.maxConnsPerIp": "a whole number, 0 for no cap",
  "pool.maxWorkersPerConn": "a whole number, 0 for no cap",
  "pool.maxWorkersPerIp": "a whole number, 0 for no cap",
  "pool.sharesPerSecond": "a whole number, 0 for no cap",
  "pool.banSeconds": "a whole number of seconds, 0 to never ban",
  "pool.instance": "a whole number 0..255",
  "pool.stratumThreads": "auto or a whole number 1..15",
  "pool.ledger": "sqlite or postgres://USER@HOST:PORT/DB",
  "pool.bus": "redis://HOST:PORT[/DB] (or empty: off)",
  "tuning.profile": "laptop, balanced or beast",
  "tuning.autoTune": "true or false",
  "tuning.minThreads": "a whole number 1..1024 (at most maxThreads)",
  "tuning.maxThreads": "auto or a whole number 1..1024",
  "tuning.minBatch": "a whole number of units 1..1024 (at most maxBatch)",
  "tuning.maxBatch": "a whole number of units 1..1024",
  "tuning.windowSeconds": "a whole number of seconds 5..3600",
  "tuning.reevalSeconds": "a whole number of seconds 60..604800",
  "tuning.thermal": "true or false",
  "tuning.thermalWarm": "auto or degrees Celsius 30..120",
  "tuning.thermalHot": "auto or degrees Celsius 30..120",
  "tuning.thermalCritical": "auto or degrees Celsius 30..120",
  "tuning.cooldownSeconds": "a whole number of seconds 0..3600",
  "tuning.power": "true or false",
  "tuning.batteryThreads": "auto or a whole number 1..1024",
  "tuning.batteryBatch": "auto or a whole number of units 1..32",
  "tuning.batteryPauseBelow": "auto or a percentage 0..100",
  "tuning.numa": "true or false",
  "tuning.pollSeconds": "seconds from 0.2 to 60",
  "tuning.sysRoot": "a directory path",
  "telemetry.enabled": "true or false",
  "telemetry.thresholds": "a JSON file path",
  "telemetry.act": "true or false",
  "telemetry.redis": "a redis://HOST:PORT URL",
  "telemetry.retentionDays": "a whole number of days 0..3650",
  "worker.pools": "HOST:PORT, stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT addresses",
  "worker.user": "a payout address, optionally .NAME",
  "worker.password": "text of at most 200 characters",
  "worker.printTime": "a whole number of seconds 0..86400 (0: no speed line)",
  "worker.retryForever": "true or false",
  "worker.tlsCa": "a PEM certificate file",
};

export interface ConfigInput {
  /** Path of a JSON config file (--config), if any. */
  file?: string;
  env: Record<string, string | undefined>;
  /** Flags that are config options, by flag name, as typed. */
  flags: Record<string, string | boolean | string[]>;
}

type Doc = Record<string, unknown>;

/** A validated config and where each key not left at its default came from ("--api", "environment RIGNODE_API", …). */
export interface LoadedConfig {
  config: Config;
  /** By dotted key ("api.listen"); a key absent here has its default value. */
  origin: ReadonlyMap<string, string>;
}

/** Merges defaults < JSON file < RIGNODE_* environment < flags, then validates the result once. */
export function loadConfig(input: ConfigInput): Config {
  return loadConfigWithOrigin(input).config;
}

/** loadConfig, also telling which keys were given (a default may behave differently from the same value given). */
export function loadConfigWithOrigin(input: ConfigInput): LoadedConfig {
  const doc: Doc = structuredClone(DEFAULTS) as unknown as Doc;
  const origin = new Map<string, string>();

  const file = input.file ?? input.env.RIGNODE_CONFIG;
  if (file) mergeFile(doc, origin, file);

  for (const [name, text] of Object.entries(input.env)) {
    if (!name.startsWith("RIGNODE_") || text === undefined || OTHER_ENV.has(name)) continue;
    const spec = OPTIONS.find((o) => o.env === name);
    if (!spec) {
      throw new RignodeError("config", `unknown environment variable ${name}; known: ${[...OPTIONS.map((o) => o.env), ...OTHER_ENV].join(", ")}`);
    }
    setPath(doc, spec.path, parseOptionText(spec.kind, text));
    origin.set(spec.path.join("."), `environment ${name}`);
  }

  for (const [flag, value] of Object.entries(input.flags)) {
    const spec = OPTIONS.find((o) => o.flag === flag);
    if (!spec) throw new RignodeError("usage", `unknown option --${flag}`);
    const v = typeof value === "boolean" ? value : Array.isArray(value) ? value.flatMap((x) => parseOptionText(spec.kind, x) as string[]) : parseOptionText(spec.kind, value);
    setPath(doc, spec.path, v);
    origin.set(spec.path.join("."), `--${flag}`);
  }

  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.slice(0, 2).join(".");
    const where = origin.get(key) ?? (file ? `config file ${file}, key ${key}` : `key ${key}`);
    const value = getPath(doc, issue.path.slice(0, 2).map(String));
    throw new RignodeError("config", `${where}: ${JSON.stringify(value)} is not allowed; expected ${ALLOWED[key] ?? issue.message}`);
  }
  return { config: parsed.data, origin };
}

function mergeFile(doc: Doc, origin: Map<string, string>, file: string): void {
  const text = readRegularFile(file, { what: "config file", maxBytes: MAX_CONFIG_BYTES, todo: "pass a JSON file of at most 1 MiB (--config FILE or RIGNODE_CONFIG)" });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new RignodeError("config", `config file ${file}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(data)) throw new RignodeError("config", `config file ${file}: expected a JSON object at the top level`);
  for (const [key, value] of Object.entries(data)) {
    // Own keys only: "__proto__", "constructor" or "toString" are on every object's prototype chain, and taking them
    // as sections would write the config into Object.prototype (or throw a TypeError) instead of refusing them.
    if (!Object.hasOwn(DEFAULTS, key)) {
      throw new RignodeError("config", `config file ${file}: unknown key '${key}'; allowed: ${Object.keys(DEFAULTS).join(", ")}`);
    }
    const section = (DEFAULTS as unknown as Doc)[key];
    if (isObject(section)) {
      if (!isObject(value)) {
        throw new RignodeError("config", `config file ${file}: key '${key}' must be an object with keys ${Object.keys(section).join(", ")}`);
      }
      for (const [sub, v] of Object.entries(value)) {
        if (!Object.hasOwn(section, sub)) {
          throw new RignodeError("config", `config file ${file}: unknown key '${key}.${sub}'; allowed in '${key}': ${Object.keys(section).join(", ")}`);
        }
        setPath(doc, [key, sub], v);
        origin.set(`${key}.${sub}`, `config file ${file}, key ${key}.${sub}`);
      }
    } else {
      setPath(doc, [key], value);
      origin.set(key, `config file ${file}, key ${key}`);
    }
  }
}

function isObject(x: unknown): x is Doc {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function setPath(doc: Doc, path: string[], value: unknown): void {
  if (path.length === 1) doc[path[0]!] = value;
  else (doc[path[0]!] as Doc)[path[1]!] = value;
}

function getPath(doc: Doc, path: string[]): unknown {
  let cur: unknown = doc;
  for (const p of path) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

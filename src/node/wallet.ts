import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsReason, RignodeError, type Logger } from "../core";
import { generateKeyPair, keyPairFromSeed, type KeyPair } from "../chain";

export const WALLET_FILE = "wallet.key";
/** The node's P2P identity (signs the handshake); a key of its own so that it never touches coins. */
export const NODE_KEY_FILE = "node.key";

/** The node's key pair from DATA_DIR/wallet.key (the 32-byte seed as hex, mode 0600). */
export function loadWallet(dataDir: string): KeyPair {
  return readKey(dataDir, WALLET_FILE);
}

function readKey(dataDir: string, file: string): KeyPair {
  const path = join(dataDir, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new RignodeError("usage", `no wallet in ${dataDir}; create one with 'rignode wallet new'`);
    throw new RignodeError("store", `${path} cannot be read: ${fsReason(e)}; fix its permissions or restore it from a backup`, { cause: e });
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new RignodeError("config", `${path} does not hold a key (64 hex digits); it was changed by hand?`);
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return keyPairFromSeed(Uint8Array.from(Buffer.from(text, "hex")));
}

/** Creates the wallet; refuses to replace an existing one (that would lose its coins). */
export function createWallet(dataDir: string): KeyPair {
  return createKey(dataDir, WALLET_FILE);
}

function createKey(dataDir: string, file: string): KeyPair {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new RignodeError("store", `data dir ${dataDir} cannot be created: ${fsReason(e)}; pass --data-dir DIR on a writable disk`, { cause: e });
  }
  const kp = generateKeyPair();
  try {
    writeFileSync(join(dataDir, file), Buffer.from(kp.seed).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new RignodeError("usage", `${join(dataDir, file)} exists already; it is never overwritten`);
    throw new RignodeError("store", `${join(dataDir, file)} cannot be written: ${fsReason(e)}; make ${dataDir} writable or pass --data-dir DIR`, { cause: e });
  }
  return kp;
}

function loadOrCreate(dataDir: string, file: string, log?: Logger): KeyPair {
  try {
    return readKey(dataDir, file);
  } catch (e) {
    if (!(e instanceof RignodeError) || e.code !== "usage") throw e;
    const kp = createKey(dataDir, file);
    log?.info("key.created", { path: join(dataDir, file) });
    return kp;
  }
}

/** The wallet, created on first use (solo mining pays it). */
export function loadOrCreateWallet(dataDir: string, log?: Logger): KeyPair {
  return loadOrCreate(dataDir, WALLET_FILE, log);
}

/** The node's P2P key, created on first start. */
export function loadOrCreateNodeKey(dataDir: string, log?: Logger): KeyPair {
  return loadOrCreate(dataDir, NODE_KEY_FILE, log);
}

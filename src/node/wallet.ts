import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RignodeError, type Logger } from "../core";
import { generateKeyPair, keyPairFromSeed, type KeyPair } from "../chain";

export const WALLET_FILE = "wallet.key";

/** The node's key pair from DATA_DIR/wallet.key (the 32-byte seed as hex, mode 0600). */
export function loadWallet(dataDir: string): KeyPair {
  const path = join(dataDir, WALLET_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new RignodeError("usage", `no wallet in ${dataDir}; create one with 'rignode wallet new'`);
    throw e;
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new RignodeError("config", `${path} does not hold a key (64 hex digits); it was changed by hand?`);
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return keyPairFromSeed(Uint8Array.from(Buffer.from(text, "hex")));
}

/** Creates the wallet; refuses to replace an existing one (that would lose its coins). */
export function createWallet(dataDir: string): KeyPair {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const kp = generateKeyPair();
  try {
    writeFileSync(join(dataDir, WALLET_FILE), Buffer.from(kp.seed).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new RignodeError("usage", `${join(dataDir, WALLET_FILE)} exists already; it is never overwritten`);
    throw e;
  }
  return kp;
}

/** The wallet, created on first use (solo mining pays it). */
export function loadOrCreateWallet(dataDir: string, log?: Logger): KeyPair {
  try {
    return loadWallet(dataDir);
  } catch (e) {
    if (!(e instanceof RignodeError) || e.code !== "usage") throw e;
    const kp = createWallet(dataDir);
    log?.info("wallet.created", { path: join(dataDir, WALLET_FILE) });
    return kp;
  }
}

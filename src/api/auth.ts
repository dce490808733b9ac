import type { MiddlewareHandler } from "hono";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsReason, RignodeError } from "../core";

export const TOKEN_FILE = "api-token";

/** The API's bearer token, kept in the data dir (mode 0600) and created on first use. */
export function ensureApiToken(dataDir: string): { token: string; path: string; created: boolean } {
  const path = join(dataDir, TOKEN_FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new RignodeError("store", `data dir ${dataDir} cannot be created: ${fsReason(e)}; pass --data-dir DIR on a writable disk`, { cause: e });
  }
  try {
    const token = readFileSync(path, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(token)) throw new RignodeError("config", `${path} does not hold a valid token (64 hex digits); delete it to make a new one`);
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { token, path, created: false };
  } catch (e) {
    if (e instanceof RignodeError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new RignodeError("store", `${path} cannot be read: ${fsReason(e)}; fix its permissions, or delete it to make a new token`, { cause: e });
  }
  const token = randomBytes(32).toString("hex");
  try {
    writeFileSync(path, token + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    throw new RignodeError("store", `${path} cannot be written: ${fsReason(e)}; make ${dataDir} writable or pass --data-dir DIR`, { cause: e });
  }
  return { token, path, created: true };
}

/** Whether write requests need the token: always in "token" mode, and in "auto" mode unless only loopback can connect. */
export function tokenRequired(mode: "auto" | "token", loopbackOnly: boolean): boolean {
  return mode === "token" || !loopbackOnly;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Requires `Authorization: Bearer <token>` on every write request when a token is set; reads stay open. */
export function writeAuth(token: string | null): MiddlewareHandler {
  const want = token ? Buffer.from(token) : null;
  return async (c, next) => {
    if (want && !SAFE_METHODS.has(c.req.method)) {
      const header = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const got = m ? Buffer.from(m[1]!) : null;
      if (!got || got.length !== want.length || !timingSafeEqual(got, want)) {
        c.header("WWW-Authenticate", 'Bearer realm="rignode"');
        return c.json({ error: "unauthorized", message: "write requests need Authorization: Bearer <token from the data dir's api-token file>" }, 401);
      }
    }
    await next();
  };
}

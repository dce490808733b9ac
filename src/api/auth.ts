import type { MiddlewareHandler } from "hono";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsReason, RignodeError } from "../core";
import { SAFE_METHODS } from "./body";

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

declare module "hono" {
  interface ContextVariableMap {
    /** The token that owner-only routes need (see ownerOnly), or null when this API has none. */
    ownerToken: string | null;
  }
}

/** Whether `Authorization: Bearer <token>` carries `want` (compared in constant time). */
function bearerMatches(header: string | undefined, want: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  const got = m ? Buffer.from(m[1]!) : null;
  const w = Buffer.from(want);
  return got !== null && got.length === w.length && timingSafeEqual(got, w);
}

const UNAUTHORIZED_HEADERS = { "WWW-Authenticate": 'Bearer realm="rignode"' };

/**
 * Requires `Authorization: Bearer <token>` on every write request when `token` is set; reads stay open. Also hands
 * `ownerToken` to the owner-only routes.
 */
export function writeAuth(token: string | null, ownerToken: string | null = token): MiddlewareHandler {
  return async (c, next) => {
    c.set("ownerToken", ownerToken);
    if (token && !SAFE_METHODS.has(c.req.method) && !bearerMatches(c.req.header("authorization"), token)) {
      return c.json({ error: "unauthorized", message: "write requests need Authorization: Bearer <token from the data dir's api-token file>" }, 401, UNAUTHORIZED_HEADERS);
    }
    await next();
  };
}

/**
 * For writes that redirect the rig's hashrate or money (pool mode, pool fee and limits): the bearer token is needed
 * even on a loopback API, so that no local process or page without read access to the data dir can steer them.
 * Refused (fails closed) when the API has no token at all.
 */
export const ownerOnly: MiddlewareHandler = async (c, next) => {
  const token = c.get("ownerToken") ?? null;
  if (token === null || !bearerMatches(c.req.header("authorization"), token)) {
    const message = `${c.req.method} ${c.req.path} changes where the rig's hashrate or money goes: it needs Authorization: Bearer <token from the data dir's api-token file>, even on loopback`;
    return c.json({ error: "unauthorized", message }, 401, UNAUTHORIZED_HEADERS);
  }
  await next();
};

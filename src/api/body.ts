import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { RignodeError } from "../core";

/** Methods that only read; every other method is a write. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** `application/json`, with or without parameters such as `; charset=utf-8`. */
export function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/json\s*(;.*)?$/i.test(contentType);
}

/** Whether a request carries a body: a non-zero Content-Length, a Transfer-Encoding, or (built in-process) a stream. */
export function hasBody(req: Request): boolean {
  const length = req.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  if (req.headers.get("transfer-encoding") !== null) return true;
  return req.body !== null;
}

/**
 * Refuses (415) a write not declared `application/json`. A browser sends `text/plain` and form bodies cross-origin
 * without a CORS preflight, so they must never be read as JSON. Only a write with neither body nor Content-Type
 * (`curl -X POST …/pool/blocknotify`, `DELETE /pool/bans/IP`) passes without one: it has nothing to misread, and an
 * empty form post still declares its form type.
 */
export function jsonWrites(): MiddlewareHandler {
  return async (c, next) => {
    const got = c.req.header("content-type");
    if (!SAFE_METHODS.has(c.req.method) && (got !== undefined || hasBody(c.req.raw)) && !isJsonType(got)) {
      const shown = got === undefined ? "none" : got.slice(0, 100);
      return c.json({ error: "unsupported_media_type", message: `write requests need Content-Type: application/json (got ${shown})` }, 415);
    }
    await next();
  };
}

/** The request's JSON body checked against `schema`; a clear "input" error (HTTP 400) naming the field otherwise. */
export async function jsonBody<T>(c: Context, schema: z.ZodType<T>, shape: string): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new RignodeError("input", `the body must be JSON: ${shape}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new RignodeError("input", `${r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")} (expected ${shape})`);
  return r.data;
}

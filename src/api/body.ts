import type { Context } from "hono";
import type { z } from "zod";
import { RignodeError } from "../core";

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

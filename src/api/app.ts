import { Hono } from "hono";
import { httpStatusFor, RignodeError, type Logger } from "../core";
import { writeAuth } from "./auth";
import { systemRoutes, type SystemDeps } from "./system";

export interface ApiDeps extends SystemDeps {
  /** Bearer token required for write requests, or null when the API listens on loopback only. */
  token: string | null;
  log?: Logger;
  /** Route groups of the role (chain, miner, pool), added by the composition root. */
  groups?: ((app: Hono) => void)[];
}

/** The Hono app of every role; tests call app.request() on it without a socket. */
export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  app.use("*", writeAuth(deps.token));
  systemRoutes(app, deps);
  for (const g of deps.groups ?? []) g(app);
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    const status = httpStatusFor(err);
    if (status >= 500) deps.log?.error("api.error", { path: c.req.path, error: err });
    const code = err instanceof RignodeError ? err.code : "internal";
    const details = status < 500 && err instanceof RignodeError && err.details ? { details: err.details } : {};
    return c.json({ error: code, message: status >= 500 ? "internal error" : err.message, ...details }, status as 400 | 500);
  });
  return app;
}

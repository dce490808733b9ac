import { Hono } from "hono";
import { httpStatusFor, RignodeError, type Logger } from "../core";
import { writeAuth } from "./auth";
import { jsonWrites } from "./body";
import { originGuard, type HostPolicy } from "./origin";
import { systemRoutes, type SystemDeps } from "./system";

export interface ApiDeps extends SystemDeps {
  /** Bearer token required for write requests, or null when the API listens on loopback only. */
  token: string | null;
  /**
   * Bearer token the owner-only writes (pool mode, pool configure) need even on loopback; defaults to `token`.
   * With neither, those writes are refused.
   */
  ownerToken?: string | null;
  /** The listen host as configured, for the Host check (default 127.0.0.1: loopback names only). */
  listenHost?: string;
  /** This machine's names for the Host check beyond loopback (default from os.hostname()). */
  machineNames?: string[];
  log?: Logger;
  /** Route groups of the role (chain, miner, pool), added by the composition root. */
  groups?: ((app: Hono) => void)[];
}

/** The Hono app of every role; tests call app.request() on it without a socket. */
export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  const hosts: HostPolicy = { listenHost: deps.listenHost ?? "127.0.0.1", ...(deps.machineNames ? { machineNames: deps.machineNames } : {}) };
  // Foreign Host or Origin first (403), then a write's declared type (415), then the token (401).
  app.use("*", originGuard(hosts, deps.log));
  app.use("*", jsonWrites());
  app.use("*", writeAuth(deps.token, deps.ownerToken === undefined ? deps.token : deps.ownerToken));
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

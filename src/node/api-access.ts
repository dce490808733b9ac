import type { Logger } from "../core";
import { isLoopbackHost, parseListen, type Config } from "../config";
import { ensureApiToken, tokenRequired } from "../api";

/** Where a role's API listens and the bearer token its writes need (null: loopback only, no token). */
export function apiAccess(config: Config, log: Logger): { listen: { host: string; port: number }; token: string | null } {
  const listen = parseListen(config.api.listen);
  if (!tokenRequired(config.api.auth, isLoopbackHost(listen.host))) return { listen, token: null };
  const t = ensureApiToken(config.dataDir);
  log.info("api.token", { path: t.path, created: t.created, note: "write requests need Authorization: Bearer <token>" });
  return { listen, token: t.token };
}

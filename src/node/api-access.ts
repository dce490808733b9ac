import type { Hono } from "hono";
import type { Logger } from "../core";
import { DEFAULTS, isLoopbackHost, parseListen, type Config } from "../config";
import { ensureApiToken, serveApi, tokenRequired } from "../api";

/** How many ports from the default one a role may move its API to when no address was given. */
export const API_AUTO_SPAN = 20;

export interface ApiAccess {
  listen: { host: string; port: number };
  /** Ports to try in order: the given one alone, or (no address given) the default and the free ones after it. */
  ports: number[];
  /** Bearer token for writes, or null: loopback only, no token. */
  token: string | null;
  /** Bearer token the writes that redirect hashrate or money need even on loopback (null: the role has none). */
  ownerToken: string | null;
}

/**
 * Where a role's API listens and the bearer tokens its writes need. `explicit`: the address was given (flag,
 * environment, config file), so a busy port is an error; otherwise several processes on one host (a node and
 * its workers) each take the next free port from 8420, skipping P2P ports a node on this host listens on.
 * `ownerRoutes`: the role serves writes that redirect hashrate or money (a pool), so the token file exists even on
 * loopback, for local tools to read.
 */
export function apiAccess(config: Config, log: Logger, explicit = true, ownerRoutes = false): ApiAccess {
  const listen = parseListen(config.api.listen);
  const ports = explicit ? [listen.port] : autoPorts(listen.port, config);
  const all = tokenRequired(config.api.auth, isLoopbackHost(listen.host));
  if (!all && !ownerRoutes) return { listen, ports, token: null, ownerToken: null };
  const t = ensureApiToken(config.dataDir);
  const note = all ? "write requests need Authorization: Bearer <token>" : "pool mode and configure need Authorization: Bearer <token>";
  log.info("api.token", { path: t.path, created: t.created, note });
  return { listen, ports, token: all ? t.token : null, ownerToken: t.token };
}

function autoPorts(first: number, config: Config): number[] {
  const p2p = new Set([parseListen(DEFAULTS.p2p.listen).port]);
  if (config.p2p.listen !== "off") p2p.add(parseListen(config.p2p.listen).port);
  const ports: number[] = [];
  for (let p = first; p < first + API_AUTO_SPAN && p <= 65535; p++) if (p === first || !p2p.has(p)) ports.push(p);
  return ports;
}

/** Opens the role's API on the first free candidate port and logs where (and, when it moved, from where). */
export function openApi(app: Hono, access: ApiAccess, log: Logger, fields: (port: number) => Record<string, string> = () => ({})): { port: number; stop: () => Promise<void> } {
  const server = serveApi(app, access.listen.host, access.ports);
  const moved = access.ports.length > 1 && server.port !== access.ports[0] ? { moved: `${access.ports[0]} in use, took ${server.port}` } : {};
  // Where to point a browser: a wildcard listener is reached on loopback from this machine.
  const host = access.listen.host === "0.0.0.0" ? "127.0.0.1" : access.listen.host === "::" ? "[::1]" : access.listen.host.includes(":") ? `[${access.listen.host}]` : access.listen.host;
  log.info("api.listening", { address: `${access.listen.host}:${server.port}`, panel: `http://${host}:${server.port}/`, ...moved, ...fields(server.port) });
  return server;
}

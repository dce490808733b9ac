import type { Hono } from "hono";
import { COMMIT, MetricsRegistry, VERSION, type Collector, type Logger } from "../core";
import type { Config } from "../config";
import type { KernelInfo } from "../kernel";
import { createApp, Panel } from "../api";
import { apiAccess, openApi } from "./api-access";
import { buildCollector, kernelCollector, processCollector, uptimeSeconds } from "./metrics";

export interface RoleApi {
  /** "node", "pool" or "worker": the build_info label and /info's role. */
  role: string;
  kernel: KernelInfo;
  /** The API address was given (see apiAccess): a busy port fails instead of moving on. */
  apiExplicit: boolean;
  /** The role serves writes that redirect hashrate or money (a pool): the token file exists even on loopback. */
  ownerRoutes?: boolean;
  /** The role's own series, after the build, process and kernel ones every role has. */
  collectors?: Collector[];
  /** The role's route groups (chain, miner, pool, worker). */
  groups: ((app: Hono) => void)[];
  /** /health beyond uptime; `ok: false` answers 503. */
  health: () => { ok: boolean } & Record<string, unknown>;
  /** /info beyond name, version, commit, role and uptime. */
  info: () => Record<string, unknown>;
  /** Hashrate series the panel's chart samples once a second (miner, pool). */
  series?: () => Record<string, number | null>;
  /** More fields for the api.listening line, once the port is known. */
  listening?: (a: { host: string; port: number; token: string | null }) => Record<string, string>;
}

/**
 * The API and metrics of a role, the same for all of them: /health, /info and /metrics (build, process and kernel
 * series plus the role's own), its routes behind the Host/Origin and token checks, served on the configured port
 * (or the next free one from 8420 when no address was given).
 */
export function serveRole(config: Config, log: Logger, o: RoleApi): { port: number; stop: () => Promise<void> } {
  const metrics = new MetricsRegistry();
  metrics.register(buildCollector(o.role, o.kernel));
  metrics.register(processCollector());
  metrics.register(kernelCollector(o.kernel));
  for (const c of o.collectors ?? []) metrics.register(c);

  const access = apiAccess(config, log, o.apiExplicit, o.ownerRoutes ?? false);
  const { listen, token, ownerToken } = access;
  const panel = new Panel({ series: o.series ?? (() => ({})) });
  const app = createApp({
    token,
    ownerToken,
    listenHost: listen.host,
    log,
    metrics,
    groups: [...o.groups, (app) => panel.routes(app)],
    health: () => {
      const { ok, ...rest } = o.health();
      return { ok, uptime_s: uptimeSeconds(), ...rest };
    },
    info: () => ({ name: "rignode", version: VERSION, commit: COMMIT, role: o.role, uptime_s: uptimeSeconds(), ...o.info() }),
  });
  let server: { port: number; stop: () => Promise<void> };
  try {
    server = openApi(app, access, log, (port) => o.listening?.({ host: listen.host, port, token }) ?? {});
  } catch (e) {
    panel.close();
    throw e;
  }
  return {
    port: server.port,
    stop: async () => {
      panel.close();
      await server.stop();
    },
  };
}

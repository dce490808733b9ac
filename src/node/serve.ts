import { COMMIT, MetricsRegistry, VERSION, type Logger } from "../core";
import { isLoopbackHost, parseListen, type Config } from "../config";
import { loadKernel } from "../kernel";
import { Store } from "../store";
import { createApp, ensureApiToken, serveApi, tokenRequired } from "../api";
import { cpuInfo } from "../tuning";
import { buildCollector, kernelCollector, processCollector, uptimeSeconds } from "./metrics";

export interface RunningRole {
  apiPort: number;
  stop(): Promise<void>;
}

/** Composition root of a long-running role: kernel, store, API; later roles add chain, miner, pool here. */
export async function startRole(role: string, config: Config, log: Logger): Promise<RunningRole> {
  const { info: kernel } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced, cpu_features: kernel.featureNames.join(",") });

  const store = Store.open(config.dataDir);
  store.setMeta("last_start", new Date().toISOString());
  log.info("store.opened", { path: store.path, schema_version: store.schemaVersion(), journal: store.journalMode() });

  const cpu = await cpuInfo();
  const listen = parseListen(config.api.listen);
  let token: string | null = null;
  if (tokenRequired(config.api.auth, isLoopbackHost(listen.host))) {
    const t = ensureApiToken(config.dataDir);
    token = t.token;
    log.info("api.token", { path: t.path, created: t.created, note: "write requests need Authorization: Bearer <token>" });
  }

  const metrics = new MetricsRegistry();
  metrics.register(buildCollector(role, kernel));
  metrics.register(processCollector());
  metrics.register(kernelCollector(kernel));

  const app = createApp({
    token,
    log,
    metrics,
    health: () => ({ ok: true, uptime_s: uptimeSeconds() }),
    info: () => ({
      name: "rignode",
      version: VERSION,
      commit: COMMIT,
      role,
      uptime_s: uptimeSeconds(),
      kernel: { variant: kernel.variant, version: kernel.version, lanes: kernel.lanes, forced: kernel.forced, supported: kernel.supported, available: kernel.available },
      cpu: { model: cpu.model, logical_cores: cpu.logicalCores, physical_cores: cpu.physicalCores ?? "unavailable", features: kernel.featureNames },
      store: { schema_version: store.schemaVersion() },
    }),
  });
  const server = serveApi(app, listen.host, listen.port);
  log.info("api.listening", { address: `${listen.host}:${server.port}`, auth: token ? "bearer token for writes" : "loopback only" });

  return {
    apiPort: server.port,
    async stop() {
      await server.stop();
      store.close();
      log.info("role.stopped", { role });
    },
  };
}

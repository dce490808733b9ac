import { COMMIT, MetricsRegistry, VERSION, type Logger } from "../core";
import type { Hono } from "hono";
import { Chain, decodeAddress, encodeAddress, loadNetwork } from "../chain";
import { MiningEngine, defaultBatch } from "../miner";
import { isLoopbackHost, parseListen, type Config } from "../config";
import { loadKernel } from "../kernel";
import { Store } from "../store";
import { chainRoutes, createApp, ensureApiToken, minerRoutes, peerRoutes, serveApi, tokenRequired, type MinerView } from "../api";
import { autoThreads, cpuInfo } from "../tuning";
import { SoloJobSource } from "./solo";
import { loadOrCreateNodeKey, loadOrCreateWallet } from "./wallet";
import { P2PNode } from "../p2p";
import { buildCollector, kernelCollector, processCollector, uptimeSeconds } from "./metrics";

export interface RunningRole {
  apiPort: number;
  p2pPort: number | null;
  stop(): Promise<void>;
}

/** Composition root of a long-running role: kernel, store, chain ("node"), miner (--mine), API. */
export async function startRole(role: "node", config: Config, log: Logger): Promise<RunningRole> {
  const { info: kernel, lib } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced, cpu_features: kernel.featureNames.join(",") });

  const store = Store.open(config.dataDir);
  store.setMeta("last_start", new Date().toISOString());
  log.info("store.opened", { path: store.path, schema_version: store.schemaVersion(), journal: store.journalMode() });

  const groups: ((app: Hono) => void)[] = [];
  let chain: Chain | null = null;
  let engine: MiningEngine | null = null;
  let solo: SoloJobSource | null = null;
  let p2p: P2PNode | null = null;
  let p2pPort: number | null = null;
  {
    const params = loadNetwork(config.network);
    chain = new Chain({ store, params, powHash: (h) => lib.hash(params.algo, h), log: log.child({ component: "chain" }) });
    const tip = chain.tip();
    log.info("chain.opened", { network: params.name, algo: params.algo, height: tip.height });
    const c = chain;
    p2p = new P2PNode({
      chain: c,
      listen: config.p2p.listen === "off" ? null : parseListen(config.p2p.listen),
      peers: config.p2p.peers.map(parseListen),
      discover: config.p2p.discover,
      nodeKey: loadOrCreateNodeKey(config.dataDir, log),
      log: log.child({ component: "p2p" }),
    });
    const net = p2p;
    p2pPort = net.start();
    groups.push((app) => chainRoutes(app, { chain: c, onTx: (id) => net.relayTx(id) }));
    groups.push((app) => peerRoutes(app, () => ({ peers: net.peerInfo(), banned: net.banned() })));
    if (config.miner.mine) {
      const payTo = config.miner.address
        ? decodeAddress(config.miner.address, params.addressVersion)
        : loadOrCreateWallet(config.dataDir, log).publicKey;
      const threads = config.miner.threads === "auto" ? autoThreads() : config.miner.threads;
      const batch = config.miner.batch === "auto" ? defaultBatch(params.algo) : config.miner.batch;
      const source = new SoloJobSource(c, payTo, log.child({ component: "miner" }));
      const e = new MiningEngine({ kernelPath: kernel.path, threads, batch, pin: config.miner.pin, source, log: log.child({ component: "miner" }) });
      await e.start();
      // A new tip, ours or a peer's, switches every thread to a job on it at its next batch.
      c.onTip(() => e.setJob(source.job()));
      e.setJob(source.job());
      engine = e;
      solo = source;
      log.info("miner.mining", { address: encodeAddress(payTo, params.addressVersion), threads, batch });
    }
  }
  groups.push((app) =>
    minerRoutes(app, (): MinerView | null => {
      if (!engine || !solo) return null;
      const s = engine.stats();
      const algo = chain!.params.algo;
      return { ...s, kernelVariant: kernel.variant, impl: s.impls?.[algo].impl ?? "simd", blocksFound: solo.blocksFound };
    }, () => engine),
  );

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
    groups,
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
      chain: chain ? { network: chain.params.name, height: chain.tip().height } : undefined,
    }),
  });
  const server = serveApi(app, listen.host, listen.port);
  log.info("api.listening", { address: `${listen.host}:${server.port}`, auth: token ? "bearer token for writes" : "loopback only" });

  return {
    apiPort: server.port,
    p2pPort,
    async stop() {
      await engine?.stop();
      await p2p?.stop();
      await server.stop();
      store.close();
      log.info("role.stopped", { role });
    },
  };
}

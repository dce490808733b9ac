import { COMMIT, MetricsRegistry, RignodeError, VERSION, type Algo, type Logger } from "../core";
import type { Hono } from "hono";
import { Chain, decodeAddress, encodeAddress, loadNetwork } from "../chain";
import { MiningEngine, defaultBatch } from "../miner";
import { isLoopbackHost, parseListen, type Config } from "../config";
import { loadKernel, type KernelInfo } from "../kernel";
import { lockDataDir, Store } from "../store";
import { chainRoutes, createApp, ensureApiToken, minerRoutes, peerRoutes, poolRoutes, serveApi, tokenRequired, type MinerView, type PoolMode } from "../api";
import { HttpWorkers } from "../pool";
import { parsePoolUrl } from "../stratum";
import { createPool, type RunningPool } from "./pool";
import { Producer } from "./producer";
import { producerRules } from "../consensus";
import { joinPool, SwitchSource, type PoolLink } from "./worker";
import { autoThreads, cpuInfo } from "../tuning";
import { SoloJobSource } from "./solo";
import { loadOrCreateNodeKey, loadOrCreateWallet } from "./wallet";
import { P2PNode } from "../p2p";
import { buildCollector, kernelCollector, nodeCollector, processCollector, uptimeSeconds } from "./metrics";

export interface RunningRole {
  apiPort: number;
  p2pPort: number | null;
  stratumPorts?: { stratum: number | null; stratumJson: number | null };
  stop(): Promise<void>;
}

/** Composition root of the node and the pool: kernel, store, chain, P2P, pool (pool role), miner (--mine), API. */
export async function startRole(role: "node" | "pool", config: Config, log: Logger): Promise<RunningRole> {
  const { info: kernel, lib } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced, cpu_features: kernel.featureNames.join(",") });

  const lock = lockDataDir(config.dataDir);
  const store = Store.open(config.dataDir);
  store.setMeta("last_start", new Date().toISOString());
  log.info("store.opened", { path: store.path, schema_version: store.schemaVersion(), journal: store.journalMode() });

  const params = loadNetwork(config.network);
  if (params.consensus === "sync" && (config.miner.mine || role === "pool")) {
    throw new RignodeError("usage", `${params.name} is a proof-of-sync network: blocks come from its registered producers, not from mining (no --mine, no pool)`);
  }
  const producers = params.consensus === "sync" ? producerRules(params.chainId, params.producers) : undefined;
  const chain = new Chain({ store, params, powHash: (h) => lib.hash(params.algo, h), log: log.child({ component: "chain" }), producers });
  log.info("chain.opened", { network: params.name, algo: params.algo, height: chain.tip().height });
  const nodeKey = loadOrCreateNodeKey(config.dataDir, log);
  const p2p = new P2PNode({
    chain,
    listen: config.p2p.listen === "off" ? null : parseListen(config.p2p.listen),
    peers: config.p2p.peers.map(parseListen),
    discover: config.p2p.discover,
    nodeKey,
    log: log.child({ component: "p2p" }),
  });
  const p2pPort = p2p.start();
  const producer =
    params.consensus === "sync"
      ? new Producer({ chain, peers: () => p2p.peerInfo(), nodeKey, payTo: loadOrCreateWallet(config.dataDir, log).publicKey, log: log.child({ component: "sync" }) })
      : null;
  producer?.start();
  const miner = config.miner.mine ? await startMiner(config, chain, kernel, log) : null;
  const pool = role === "pool" ? createPool(config, chain, store, { powHash: (h) => lib.hash(params.algo, h), powHashMany: (hs, n) => lib.hashMany(params.algo, hs, n) }, log) : null;
  const modes = pool ? new Modes(pool, miner, config, log) : null;
  if (modes) await modes.set({ mode: "host" });

  const groups: ((app: Hono) => void)[] = [
    (app) => chainRoutes(app, { chain, onTx: (id) => p2p.relayTx(id) }),
    (app) => peerRoutes(app, () => ({ peers: p2p.peerInfo(), banned: p2p.banned() })),
    (app) => minerRoutes(app, () => (miner ? minerView(miner, kernel, params.algo) : null), () => miner?.engine ?? null),
  ];
  if (producer) groups.push((app) => app.get("/api/mining/status", (c) => c.json(producer.status())));
  if (pool && modes) {
    const http = new HttpWorkers(pool.server);
    groups.push((app) =>
      poolRoutes(app, {
        server: pool.server,
        http,
        mode: () => modes.view(),
        setMode: (r) => modes.set(r),
        start: () => void modes.set({ mode: "host" }),
        stop: () => void modes.set({ mode: "solo" }),
      }),
    );
  }

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
  metrics.register(nodeCollector(chain, () => p2p.peerInfo().filter((p) => p.ready).length, () => (miner ? minerView(miner, kernel, params.algo) : null)));
  if (pool) metrics.register(() => pool.server.metrics());
  if (producer) metrics.register(() => producer.metrics());

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
      chain: { network: chain.params.name, height: chain.tip().height },
    }),
  });
  const server = serveApi(app, listen.host, listen.port);
  log.info("api.listening", { address: `${listen.host}:${server.port}`, auth: token ? "bearer token for writes" : "loopback only" });

  return {
    apiPort: server.port,
    p2pPort,
    stratumPorts: pool?.ports,
    async stop() {
      modes?.close();
      pool?.stop();
      producer?.stop();
      await miner?.engine.stop();
      await p2p.stop();
      await server.stop();
      store.close();
      lock.release();
      log.info("role.stopped", { role });
    },
  };
}

interface RunningMiner {
  engine: MiningEngine;
  source: SoloJobSource;
  switch: SwitchSource;
}

/**
 * The pool role's modes (seed 004), switchable at runtime: host (Stratum listeners open; a local miner mines into
 * this pool through its own port), solo (listeners closed; a local miner mines blocks for itself) and join (listeners
 * closed; a local miner works for another pool).
 */
class Modes {
  private mode: PoolMode = "solo";
  private link: PoolLink | null = null;
  private joined: { pool: string; user: string } | null = null;

  constructor(
    private readonly pool: RunningPool,
    private readonly miner: RunningMiner | null,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  view(): { mode: PoolMode; pool?: string; user?: string; mining: boolean } {
    return { mode: this.mode, ...(this.joined ?? {}), mining: this.miner !== null };
  }

  async set(r: { mode: PoolMode; pool?: string; user?: string }): Promise<void> {
    const m = this.miner;
    const chain = m?.source;
    if (r.mode === "join") {
      if (!m) throw new RignodeError("input", "join mode needs a local miner: start the pool with --mine");
      if (!r.pool) throw new RignodeError("input", "join mode needs {\"pool\": \"HOST:PORT\" or \"stratum+tcp://HOST:PORT\"}");
    }
    const endpoint = r.mode === "join" ? parsePoolUrl(r.pool!) : null;
    this.link?.stop();
    this.link = null;
    this.joined = null;
    if (r.mode === "host") this.pool.start();
    else this.pool.stop();
    if (m && chain) {
      const user = r.user ?? (this.config.miner.address || encodeAddress(m.source.payTo, chainParams(m).addressVersion));
      if (r.mode === "solo") {
        m.switch.inner = m.source;
        m.engine.setJob(m.source.job());
        m.engine.resume();
      } else {
        const target = endpoint ?? { host: "127.0.0.1", port: this.pool.ports.stratum ?? this.pool.ports.stratumJson!, codec: this.pool.ports.stratum ? ("native" as const) : ("json" as const) };
        if (r.mode === "host" && this.pool.ports.stratum === null && this.pool.ports.stratumJson === null) {
          throw new RignodeError("config", "host mode with a local miner needs a Stratum port (--stratum or --stratum-json)");
        }
        this.link = joinPool(
          { engine: m.engine, algo: chainParams(m).algo, pools: [target], user, password: "x", log: this.log.child({ component: "miner" }) },
          (src) => (m.switch.inner = src),
        );
        if (r.mode === "join") this.joined = { pool: r.pool!, user };
      }
    }
    if (this.mode !== r.mode) this.log.info("pool.mode", { mode: r.mode, ...(this.joined ?? {}) });
    this.mode = r.mode;
  }

  close(): void {
    this.link?.stop();
  }
}

function chainParams(m: RunningMiner) {
  return m.source.params;
}

/** The solo miner: the engine fed from the chain's tip, switched to a new job whenever the tip changes. */
async function startMiner(config: Config, chain: Chain, kernel: KernelInfo, log: Logger): Promise<RunningMiner> {
  const params = chain.params;
  const payTo = config.miner.address ? decodeAddress(config.miner.address, params.addressVersion) : loadOrCreateWallet(config.dataDir, log).publicKey;
  const threads = config.miner.threads === "auto" ? autoThreads() : config.miner.threads;
  const batch = config.miner.batch === "auto" ? defaultBatch(params.algo) : config.miner.batch;
  const mlog = log.child({ component: "miner" });
  const source = new SoloJobSource(chain, payTo, mlog);
  const sw = new SwitchSource(source);
  const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch, pin: config.miner.pin, source: sw, log: mlog });
  await engine.start();
  // A new tip, ours or a peer's, switches every thread to a job on it at its next batch (when mining solo).
  chain.onTip(() => sw.inner === source && engine.setJob(source.job()));
  engine.setJob(source.job());
  log.info("miner.mining", { address: encodeAddress(payTo, params.addressVersion), threads, batch });
  return { engine, source, switch: sw };
}

function minerView(m: RunningMiner, kernel: KernelInfo, algo: Algo): MinerView {
  const s = m.engine.stats();
  return { ...s, kernelVariant: kernel.variant, impl: s.impls?.[algo].impl ?? "simd", blocksFound: m.source.blocksFound };
}

/** `rignode worker`: the engine mining for a pool (failover list), with the API; no chain, no store. */
export async function startWorkerRole(config: Config, log: Logger): Promise<RunningRole> {
  if (!config.worker.pools.length) throw new RignodeError("usage", "worker needs --pool HOST:PORT (or stratum+tcp://HOST:PORT for JSON)");
  if (!config.worker.user) throw new RignodeError("usage", "worker needs --user ADDRESS[.NAME] (the payout address)");
  const pools = config.worker.pools.map(parsePoolUrl);
  const { info: kernel } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced });
  const algo = config.miner.algo;
  const threads = config.miner.threads === "auto" ? autoThreads() : config.miner.threads;
  const batch = config.miner.batch === "auto" ? defaultBatch(algo) : config.miner.batch;
  const mlog = log.child({ component: "worker" });
  const sw = new SwitchSource({ nextJob: () => null, found: () => {} });
  const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch, pin: config.miner.pin, source: sw, log: mlog });
  await engine.start();
  const link = joinPool(
    { engine, algo, pools, user: config.worker.user, password: config.worker.password, log: mlog, userAgent: `rignode/${VERSION}` },
    (src) => (sw.inner = src),
  );
  log.info("worker.started", { pools: config.worker.pools.join(","), user: config.worker.user, algo, threads, batch });

  const view = (): MinerView => {
    const s = engine.stats();
    return { ...s, kernelVariant: kernel.variant, impl: s.impls?.[algo].impl ?? "simd", blocksFound: 0 };
  };
  const workerView = () => ({
    connected: link.client.isConnected(),
    pool: link.client.current ? `${link.client.current.host}:${link.client.current.port}` : null,
    protocol: link.client.current?.codec ?? null,
    connects: link.client.connects,
    user: config.worker.user,
    shares: { ...link.source.counts },
  });
  const metrics = new MetricsRegistry();
  metrics.register(buildCollector("worker", kernel));
  metrics.register(processCollector());
  metrics.register(kernelCollector(kernel));
  metrics.register(() => {
    const w = workerView();
    return [
      { name: "rignode_worker_shares_total", help: "Shares submitted by result.", type: "counter", samples: (["accepted", "rejected", "stale", "lost"] as const).map((r) => ({ labels: { result: r }, value: w.shares[r] })) },
      { name: "rignode_worker_connected", help: "1 when connected and authorized to a pool.", type: "gauge", samples: [{ value: w.connected ? 1 : 0 }] },
      { name: "rignode_miner_hashrate_hashes_per_second", help: "Hashrate over the last 10 s.", type: "gauge", samples: [{ value: engine.stats().hashrate["10s"] ?? 0 }] },
    ];
  });
  const listen = parseListen(config.api.listen);
  const token = tokenRequired(config.api.auth, isLoopbackHost(listen.host)) ? ensureApiToken(config.dataDir).token : null;
  const app = createApp({
    token,
    log,
    metrics,
    groups: [
      (app) => minerRoutes(app, view, () => engine),
      (app) => app.get("/api/worker", (c) => c.json(workerView())),
    ],
    health: () => ({ ok: true, uptime_s: uptimeSeconds(), pool_connected: link.client.isConnected() }),
    info: () => ({ name: "rignode", version: VERSION, commit: COMMIT, role: "worker", uptime_s: uptimeSeconds(), kernel: { variant: kernel.variant, lanes: kernel.lanes }, worker: workerView() }),
  });
  const server = serveApi(app, listen.host, listen.port);
  log.info("api.listening", { address: `${listen.host}:${server.port}` });
  return {
    apiPort: server.port,
    p2pPort: null,
    async stop() {
      link.stop();
      await engine.stop();
      await server.stop();
      const c = link.source.counts;
      log.info("worker.stopped", { accepted: c.accepted, rejected: c.rejected, stale: c.stale, lost: c.lost });
    },
  };
}

import { RignodeError, toHex, type Algo, type Logger } from "../core";
import type { Hono } from "hono";
import { blockHash, Chain, decodeAddress, encodeAddress, genesisBlock, loadNetwork } from "../chain";
import { MiningEngine } from "../miner";
import { parseListen, type Config } from "../config";
import { loadKernel, type KernelInfo } from "../kernel";
import { lockDataDir, Store } from "../store";
import { chainRoutes, minerRoutes, peerRoutes, poolRoutes, telemetryRoutes, type MinerView } from "../api";
import { ChainSource, HttpWorkers, type Ledger, type RedisBus } from "../pool";
import { checkBusConfig, createPool, openBus, openLedger, recoverLedger } from "./pool";
import { startUpstreamPool } from "./upstream-pool";
import { Modes, type RunningMiner } from "./modes";
import { Producer } from "./producer";
import { producerRules } from "../consensus";
import { SwitchSource } from "./worker";
import { cpuInfo } from "../tuning";
import { batchUnit, planRig, startRig } from "./rig";
import { poolShares, startTelemetry } from "./telemetry";
import { SoloJobSource } from "./solo";
import { loadOrCreateNodeKey, loadOrCreateWallet, loadWallet } from "./wallet";
import { P2PNode } from "../p2p";
import { nodeCollector } from "./metrics";
import type { RoleOptions, RunningRole } from "./role-types";
import { serveRole } from "./serve-role";

/** Composition root of the node and the pool: kernel, store, chain, P2P, pool (pool role), miner (--mine), API. */
export async function startRole(role: "node" | "pool", config: Config, log: Logger, opts: RoleOptions = {}): Promise<RunningRole> {
  if (role === "pool" && config.pool.upstream) return startUpstreamPool(config, log, opts);
  const { info: kernel, lib } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced, cpu_features: kernel.featureNames.join(",") });

  // The network first: a bad --network is the operator's input (exit 2) and must not touch the data dir.
  const params = loadNetwork(config.network);
  if (role === "pool") checkBusConfig(config);
  const lock = lockDataDir(config.dataDir);
  let store: Store;
  try {
    store = Store.open(config.dataDir, undefined, { network: params.name, chain_id: params.chainId, genesis: toHex(blockHash(genesisBlock(params).header)) });
  } catch (e) {
    lock.release();
    throw e;
  }
  store.setMeta("last_start", new Date().toISOString());
  log.info("store.opened", { path: store.path, schema_version: store.schemaVersion(), journal: store.journalMode(), check_ms: store.checkMs });

  if (params.consensus === "sync" && (config.miner.mine || role === "pool")) {
    throw new RignodeError("usage", `${params.name} is a proof-of-sync network: blocks come from its registered producers, not from mining (no --mine, no pool)`);
  }
  // The ledger before any port opens: a PostgreSQL ledger that cannot be reached stops the start here.
  let ledger: Ledger | undefined;
  let bus: RedisBus | null = null;
  try {
    ledger = role === "pool" ? await openLedger(config, store, log) : undefined;
    bus = role === "pool" ? await openBus(config, params.name, log) : null;
  } catch (e) {
    await ledger?.close().catch(() => {});
    store.close();
    lock.release();
    throw e;
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
    maxInboundPerIp: config.p2p.maxPerIp,
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
  const poolAddress = () => (config.pool.address ? decodeAddress(config.pool.address, params.addressVersion) : loadOrCreateWallet(config.dataDir, log).publicKey);
  if (ledger) {
    const onMain = (blocks: { hash: Uint8Array; height: number }[]) => blocks.map((b) => Buffer.compare(chain.hashAt(b.height) ?? new Uint8Array(0), b.hash) === 0);
    await recoverLedger(ledger, onMain, log.child({ component: "pool" }));
  }
  const pool =
    role === "pool"
      ? createPool(config, new ChainSource(chain), store, { powHash: (h) => lib.hash(params.algo, h), powHashMany: (hs, n) => lib.hashMany(params.algo, hs, n), kernelPath: lib.path }, poolAddress(), log, ledger, bus)
      : null;
  const modes = pool ? new Modes(pool, miner, config, log) : null;
  if (modes) await modes.set({ mode: "host" });

  // Telemetry where something is mined or pooled: the engine's counters and sensors, the pool's shares.
  const telemetry = miner || pool
    ? startTelemetry(config, log, {
        engine: miner?.engine ?? null,
        rig: miner?.rig ?? null,
        unitNonces: batchUnit(params.algo),
        shares: pool ? () => poolShares(pool.server.stats(false)) : undefined,
        hashrate: pool ? () => pool.server.hashrate() : undefined,
      })
    : null;

  // The node's own address for the panel's balance: what it mines to, the pool's fee address, or its wallet if any.
  const ownAddress = pool ? poolAddress() : config.miner.mine && config.miner.address ? decodeAddress(config.miner.address, params.addressVersion) : walletIfAny(config.dataDir);
  const groups: ((app: Hono) => void)[] = [
    (app) => chainRoutes(app, { chain, onTx: (id) => p2p.relayTx(id), wallet: () => ownAddress }),
    (app) => peerRoutes(app, () => ({ peers: p2p.peerInfo(), configured: p2p.configuredPeers(), banned: p2p.banned(), addresses: p2p.addressBook() })),
    (app) => minerRoutes(app, () => (miner ? minerView(miner, kernel, params.algo) : null), () => miner?.engine ?? null, () => miner?.rig.view() ?? null),
  ];
  groups.push((app) => telemetryRoutes(app, () => telemetry));
  if (producer) groups.push((app) => app.get("/api/mining/status", (c) => c.json(producer.status())));
  if (pool && modes) {
    const http = new HttpWorkers(pool.server);
    groups.push((app) =>
      poolRoutes(app, {
        server: pool.server,
        http,
        mode: () => modes.view(),
        setMode: (r) => modes.set(r),
        start: () => modes.set({ mode: "host" }),
        stop: () => modes.set({ mode: "solo" }),
        listening: () => pool.listening(),
      }),
    );
  }

  const cpu = await cpuInfo();
  const server = serveRole(config, log, {
    role,
    kernel,
    apiExplicit: opts.apiExplicit ?? true,
    ownerRoutes: pool !== null,
    collectors: [
      nodeCollector(chain, () => p2p.peerInfo().filter((p) => p.ready).length, () => (miner ? minerView(miner, kernel, params.algo) : null)),
      ...(miner ? [() => miner.rig.metrics()] : []),
      ...(pool ? [() => pool.server.metrics()] : []),
      ...(producer ? [() => producer.metrics()] : []),
      ...(telemetry ? [() => telemetry.metrics()] : []),
    ],
    groups,
    health: () => {
      const h = pool?.server.health();
      return { ok: h?.ok ?? true, ...(h ? { pool: h } : {}) };
    },
    info: () => ({
      kernel: { variant: kernel.variant, version: kernel.version, lanes: kernel.lanes, forced: kernel.forced, supported: kernel.supported, available: kernel.available },
      cpu: { model: cpu.model, logical_cores: cpu.logicalCores, physical_cores: cpu.physicalCores ?? "unavailable", features: kernel.featureNames },
      store: { schema_version: store.schemaVersion() },
      chain: { network: chain.params.name, height: chain.tip().height },
    }),
    listening: ({ token }) => ({ auth: token ? "bearer token for writes" : "loopback only" }),
    series: () => ({ ...(miner ? { miner: miner.engine.stats().hashrate["10s"] ?? null } : {}), ...(pool ? { pool: pool.server.hashrate() } : {}) }),
  });

  return {
    apiPort: server.port,
    p2pPort,
    stratumPorts: pool?.ports,
    async stop() {
      await telemetry?.stop();
      modes?.close();
      await pool?.stop();
      await bus?.close().catch(() => {});
      producer?.stop();
      miner?.rig.stop();
      await miner?.engine.stop();
      await p2p.stop();
      await server.stop();
      await ledger?.close().catch((e: Error) => log.warn("pool.ledger_close_failed", { error: e.message }));
      store.close();
      lock.release();
      log.info("role.stopped", { role });
    },
  };
}

function walletIfAny(dataDir: string): Uint8Array | null {
  try {
    return loadWallet(dataDir).publicKey;
  } catch {
    return null;
  }
}

/** The solo miner: the engine fed from the chain's tip, switched to a new job whenever the tip changes. */
async function startMiner(config: Config, chain: Chain, kernel: KernelInfo, log: Logger): Promise<RunningMiner> {
  const params = chain.params;
  const payTo = config.miner.address ? decodeAddress(config.miner.address, params.addressVersion) : loadOrCreateWallet(config.dataDir, log).publicKey;
  const mlog = log.child({ component: "miner" });
  const plan = planRig(config, params.algo, log, config.dataDir);
  const threads = plan.start.threads;
  const batch = plan.batchNonces;
  const source = new SoloJobSource(chain, payTo, mlog);
  const sw = new SwitchSource(source);
  const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch, pin: config.miner.pin, source: sw, log: mlog, cpuOrder: plan.cpuOrder });
  await engine.start();
  const rig = startRig(plan, config, engine, params.algo, log);
  // A new tip, ours or a peer's, switches every thread to a job on it at its next batch (when mining solo).
  chain.onTip(() => sw.inner === source && engine.setJob(source.job()));
  engine.setJob(source.job());
  log.info("miner.mining", { address: encodeAddress(payTo, params.addressVersion), threads, batch });
  return { engine, source, switch: sw, rig };
}

function minerView(m: RunningMiner, kernel: KernelInfo, algo: Algo): MinerView {
  const s = m.engine.stats();
  return { ...s, kernelVariant: kernel.variant, impl: s.impls?.[algo].impl ?? "simd", blocksFound: m.source.blocksFound };
}

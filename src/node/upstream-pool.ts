import { RignodeError, type Logger } from "../core";
import type { Config } from "../config";
import { loadKernel } from "../kernel";
import { lockDataDir, Store } from "../store";
import { poolRoutes, telemetryRoutes } from "../api";
import { HttpWorkers, UpstreamSource, type Ledger, type RedisBus } from "../pool";
import { checkBusConfig, createPool, openBus, openLedger, recoverLedger } from "./pool";
import type { RoleOptions, RunningRole } from "./role-types";
import { serveRole } from "./serve-role";
import { poolShares, startTelemetry } from "./telemetry";

/**
 * `rignode pool --upstream URL`: the pool mines a real coin. Work comes from the daemon's getblocktemplate, blocks
 * go back through submitblock; no chain of rignode's own and no P2P. Host mode only (workers connect to it).
 */
export async function startUpstreamPool(config: Config, log: Logger, opts: RoleOptions = {}): Promise<RunningRole> {
  if (config.miner.mine) throw new RignodeError("usage", "--mine mines rignode's own chain; with --upstream, run `rignode worker --pool ...` on the rigs instead");
  checkBusConfig(config);
  const source = new UpstreamSource({ url: config.pool.upstream, algo: config.pool.upstreamAlgo, foundationAddress: config.pool.foundationAddress, log: log.child({ component: "upstream" }) });
  const { info: kernel, lib } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced });
  await source.start();
  const pc = config.pool;
  let poolAddress: Uint8Array = new Uint8Array(0);
  if (pc.address) {
    const p = source.payee(pc.address);
    if (!p) throw new RignodeError("config", `--pool-address '${pc.address}' is not an address of the upstream chain (${source.net.name})`);
    poolAddress = p;
  } else if (pc.feePercent > 0) {
    source.stop();
    throw new RignodeError("config", `a ${pc.feePercent}% pool fee needs --pool-address (an address of ${source.net.name}); or --pool-fee 0`);
  }

  const lock = lockDataDir(config.dataDir);
  let store: Store;
  try {
    // The ledger holds what the pool owes its miners: a lost one is an error too (see the data dir's marker).
    store = Store.open(config.dataDir, undefined, { network: `upstream ${source.net.name}` });
  } catch (e) {
    lock.release();
    source.stop();
    throw e;
  }
  store.setMeta("last_start", new Date().toISOString());
  const algo = source.algo;
  let ledger: Ledger | undefined;
  let bus: RedisBus | null = null;
  try {
    ledger = await openLedger(config, store, log);
    await recoverLedger(ledger, source.mainChain.bind(source), log.child({ component: "pool" }));
    bus = await openBus(config, `upstream-${source.net.name}`, log);
  } catch (e) {
    await ledger?.close().catch(() => {});
    store.close();
    lock.release();
    source.stop();
    throw e;
  }
  const pool = createPool(config, source, store, { powHash: (h) => lib.hash(algo, h), powHashMany: (hs, n) => lib.hashMany(algo, hs, n), kernelPath: lib.path }, poolAddress, log, ledger, bus);
  await pool.start();
  const http = new HttpWorkers(pool.server);
  const hostOnly = async (r: { mode: string }) => {
    if (r.mode !== "host") throw new RignodeError("input", "a pool on an upstream daemon only hosts (no solo or join mode)");
    await pool.start();
  };

  const telemetry = startTelemetry(config, log, { shares: () => poolShares(pool.server.stats(false)), hashrate: () => pool.server.hashrate() });
  const server = serveRole(config, log, {
    role: "pool",
    kernel,
    apiExplicit: opts.apiExplicit ?? true,
    ownerRoutes: true,
    collectors: [
      () => pool.server.metrics(),
      ...(telemetry ? [() => telemetry.metrics()] : []),
      () => [{ name: "rignode_upstream_up", help: "1 when the upstream daemon answers.", type: "gauge", samples: [{ value: source.isUp() ? 1 : 0 }] }],
    ],
    groups: [
      (app) => telemetryRoutes(app, () => telemetry),
      (app) =>
        poolRoutes(app, {
          server: pool.server,
          http,
          mode: () => ({ mode: pool.running() ? "host" : "solo" }),
          setMode: hostOnly,
          start: () => pool.start(),
          stop: () => pool.stop(),
          listening: () => pool.listening(),
          blocknotify: () => source.notify(),
        }),
    ],
    health: () => {
      const h = pool.server.health();
      return { ok: source.isUp() && h.ok, upstream: source.status(), pool: h };
    },
    info: () => ({ kernel: { variant: kernel.variant, lanes: kernel.lanes }, upstream: source.status() }),
    series: () => ({ pool: pool.server.hashrate() }),
    listening: ({ host, port }) => ({ blocknotify: `POST http://${host}:${port}/pool/blocknotify` }),
  });
  return {
    apiPort: server.port,
    p2pPort: null,
    stratumPorts: pool.ports,
    async stop() {
      await telemetry?.stop();
      await pool.stop();
      await bus?.close().catch(() => {});
      source.stop();
      await server.stop();
      await ledger.close().catch((e: Error) => log.warn("pool.ledger_close_failed", { error: e.message }));
      store.close();
      lock.release();
      log.info("role.stopped", { role: "pool" });
    },
  };
}

import { readRegularFile, RignodeError, VERSION, type Logger } from "../core";
import { MiningEngine } from "../miner";
import type { Config } from "../config";
import { loadKernel } from "../kernel";
import { minerRoutes, telemetryRoutes, type MinerView } from "../api";
import { parsePoolUrl } from "../stratum";
import { batchUnit, planRig, startRig } from "./rig";
import { startTelemetry } from "./telemetry";
import type { RoleOptions, RunningRole } from "./role-types";
import { serveRole } from "./serve-role";
import { joinPool, SwitchSource } from "./worker";
import { speedFields } from "./worker-report";

/** `rignode worker`: the engine mining for a pool (failover list), with the API; no chain, no store. */
export async function startWorkerRole(config: Config, log: Logger, opts: RoleOptions = {}): Promise<RunningRole> {
  if (!config.worker.pools.length) throw new RignodeError("usage", "worker needs --pool HOST:PORT (or stratum+tcp://HOST:PORT for JSON)");
  if (!config.worker.user) throw new RignodeError("usage", "worker needs --user ADDRESS[.NAME] (the payout address)");
  const pools = config.worker.pools.map(parsePoolUrl);
  // Read before anything starts: a missing or unreadable CA file is a one-line error naming it.
  const tlsCa = config.worker.tlsCa ? readRegularFile(config.worker.tlsCa, { what: "TLS CA file (--tls-ca)", maxBytes: 1 << 20, code: "unavailable" }) : undefined;
  if (tlsCa !== undefined && !/-----BEGIN CERTIFICATE-----/.test(tlsCa)) throw new RignodeError("unavailable", `TLS CA file (--tls-ca) ${config.worker.tlsCa}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  const { info: kernel } = await loadKernel(config.kernel.variant);
  log.info("kernel.loaded", { variant: kernel.variant, lanes: kernel.lanes, forced: kernel.forced });
  const algo = config.miner.algo;
  const plan = planRig(config, algo, log, config.dataDir);
  const threads = plan.start.threads;
  const batch = plan.batchNonces;
  const mlog = log.child({ component: "worker" });
  const sw = new SwitchSource({ nextJob: () => null, found: () => {} });
  const engine = new MiningEngine({ kernelPath: kernel.path, threads, batch, pin: config.miner.pin, source: sw, log: mlog, cpuOrder: plan.cpuOrder });
  await engine.start();
  const rig = startRig(plan, config, engine, algo, log);
  // The role fails (exit 1) when every pool keeps refusing the user, unless told to retry forever.
  let fail!: (e: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const link = joinPool(
    {
      engine, algo, pools, user: config.worker.user, password: config.worker.password, log: mlog, userAgent: `rignode/${VERSION}`,
      maxAuthFailures: config.worker.retryForever ? Infinity : 3, onFatal: fail, tlsCa,
    },
    (src) => (sw.inner = src),
  );
  log.info("worker.started", { pools: config.worker.pools.join(","), user: config.worker.user, algo, threads, batch, print_time_s: config.worker.printTime });
  const speed = () =>
    mlog.info("worker.speed", speedFields({
      hashrate: engine.stats().hashrate,
      counts: link.source.counts,
      pool: link.client.isConnected() && link.client.current ? `${link.client.current.host}:${link.client.current.port}` : null,
      difficulty: link.client.isConnected() ? link.client.shareDifficulty() : null,
    }));
  const telemetry = startTelemetry(config, log, {
    engine,
    rig,
    unitNonces: batchUnit(algo),
    shares: () => {
      const c = link.source.counts;
      return { accepted: c.accepted, rejected: c.rejected, stale: c.stale, rejectedBy: link.source.rejectedBy, latencyMs: link.source.lastRttMs };
    },
  });
  const timers = [setInterval(() => link.source.rejects?.flush(), 1000)];
  if (config.worker.printTime > 0) timers.push(setInterval(speed, config.worker.printTime * 1000));

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
  const server = serveRole(config, log, {
    role: "worker",
    kernel,
    apiExplicit: opts.apiExplicit ?? true,
    collectors: [
      () => rig.metrics(),
      ...(telemetry ? [() => telemetry.metrics()] : []),
      () => {
        const w = workerView();
        return [
          { name: "rignode_worker_shares_total", help: "Shares submitted by result.", type: "counter", samples: (["accepted", "rejected", "stale", "lost"] as const).map((r) => ({ labels: { result: r }, value: w.shares[r] })) },
          { name: "rignode_worker_connected", help: "1 when connected and authorized to a pool.", type: "gauge", samples: [{ value: w.connected ? 1 : 0 }] },
          { name: "rignode_miner_hashrate_hashes_per_second", help: "Hashrate over the last 10 s.", type: "gauge", samples: [{ value: engine.stats().hashrate["10s"] ?? 0 }] },
        ];
      },
    ],
    groups: [
      (app) => minerRoutes(app, view, () => engine, () => rig.view()),
      (app) => app.get("/api/worker", (c) => c.json(workerView())),
      (app) => telemetryRoutes(app, () => telemetry),
    ],
    health: () => ({ ok: true, pool_connected: link.client.isConnected() }),
    series: () => ({ miner: engine.stats().hashrate["10s"] ?? null }),
    info: () => ({ kernel: { variant: kernel.variant, lanes: kernel.lanes }, worker: workerView() }),
  });
  return {
    apiPort: server.port,
    p2pPort: null,
    failed,
    async stop() {
      for (const t of timers) clearInterval(t);
      await telemetry?.stop();
      rig.stop();
      link.stop();
      link.source.rejects?.flush();
      await engine.stop();
      await server.stop();
      const c = link.source.counts;
      log.info("worker.stopped", { accepted: c.accepted, rejected: c.rejected, stale: c.stale, lost: c.lost });
    },
  };
}

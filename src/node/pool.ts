import { RignodeError, type Logger } from "../core";
import { parseListen, type Config } from "../config";
import { availableParallelism } from "node:os";
import { DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, loadStratumTls, parseLedgerSpec, PoolServer, PostgresLedger, RedisBus, StratumShards, type WorkSource } from "../pool";
import type { Store } from "../store";

export interface RunningPool {
  server: PoolServer;
  ports: StratumPorts;
  /**
   * Opens the listeners and starts serving jobs (host mode). When a listener cannot open (a port in use: code "busy")
   * it throws that error and the pool stays stopped with every port closed. With stratum shards it settles once
   * every shard listens.
   */
  start(): void | Promise<void>;
  /** Closes the listeners and every connection (the chain node keeps running); with shards, once all have closed. */
  stop(): void | Promise<void>;
  /** Stratum threads: 1 (this thread) or the number of shards. */
  threads: number;
  running(): boolean;
  /** The ports listening now (null: closed or off). */
  listening(): StratumPorts;
}

/** The pool's Stratum ports: native frames, V1 JSON, V1 JSON over TLS (null: off or closed). */
export interface StratumPorts {
  stratum: number | null;
  stratumJson: number | null;
  stratumTls: number | null;
}

/**
 * The pool's ledger from `--ledger`: SQLite in the node's store, or PostgreSQL (migrated and read before any port
 * opens; one that cannot be reached stops the start with a clear error).
 */
export async function openLedger(config: Config, store: Store, log: Logger): Promise<Ledger> {
  let spec: ReturnType<typeof parseLedgerSpec>;
  try {
    spec = parseLedgerSpec(config.pool.ledger);
  } catch (e) {
    throw new RignodeError("config", (e as Error).message);
  }
  if (spec.kind === "sqlite") return new Ledger(store);
  const u = new URL(spec.url);
  const where = `${u.hostname}:${u.port || 5432}${u.pathname}`; // never the password
  const backend = new PostgresLedger(spec.url, { max: spec.connections });
  try {
    const ledger = await Ledger.open(backend);
    ledger.commitTimeoutMs = spec.commitTimeoutMs;
    log.info("pool.ledger_opened", { kind: "postgres", at: where, shares: await backend.count() });
    return ledger;
  } catch (e) {
    await Promise.resolve(backend.close()).catch(() => {});
    throw new RignodeError("config", `--ledger: the PostgreSQL ledger at ${where} could not be opened: ${(e as Error).message}`);
  }
}

/** --bus needs a shared ledger: checked before anything is opened. */
export function checkBusConfig(config: Config): void {
  if (config.pool.bus && parseLedgerSpec(config.pool.ledger).kind !== "postgres") {
    throw new RignodeError("usage", "--bus needs --ledger postgres://USER@HOST:PORT/DB: the instances on one bus pay from one ledger (an instance's own SQLite file would pay only its own shares)");
  }
}

/**
 * With --bus: the Redis bus, connected and this --pool-instance claimed (a live member with the same id is refused:
 * it would hand out the same extranonce1 space). Keys under rignode:pool:<namespace>:.
 */
export async function openBus(config: Config, namespace: string, log: Logger): Promise<RedisBus | null> {
  const pc = config.pool;
  if (!pc.bus) return null;
  checkBusConfig(config);
  const bus = new RedisBus({ url: pc.bus, namespace, instance: pc.instance, log: log.child({ component: "pool" }) });
  try {
    await bus.open();
  } catch (e) {
    await bus.close().catch(() => {});
    throw e;
  }
  log.info("pool.bus_joined", { bus: bus.shown, member: bus.member, instance: pc.instance, namespace });
  return bus;
}

/**
 * At start, with a shared ledger: found blocks whose plan was kept but not recorded (a crash between the chain or
 * daemon taking the block and the ledger write) are recorded if on the main chain.
 */
export async function recoverLedger(ledger: Ledger, mainChain: ((blocks: { hash: Uint8Array; height: number }[]) => boolean[] | Promise<boolean[]>) | undefined, log: Logger): Promise<void> {
  if (ledger.backend.kind === "sqlite" || !mainChain) return;
  try {
    const n = await ledger.recover(mainChain);
    if (n) log.warn("pool.blocks_recovered", { recorded: n });
  } catch (e) {
    // Kept for the next start: the pool runs meanwhile.
    log.warn("pool.blocks_recovery_failed", { error: (e as Error).message });
  }
}

/** `--stratum-threads`: auto is one per core, at most 8. */
export function stratumThreads(v: number | "auto"): number {
  return v === "auto" ? Math.max(1, Math.min(8, availableParallelism())) : v;
}

/**
 * The pool of `rignode pool`: server, ledger and the two Stratum listeners, from the config, on a work source (the
 * node's chain or an upstream daemon); `poolAddress` is the pool fee's payee in the source's form.
 */
export function createPool(
  config: Config,
  source: WorkSource,
  store: Store,
  hash: { powHash: (h: Uint8Array) => Uint8Array; powHashMany: (hs: Uint8Array, n: number) => Uint8Array; kernelPath: string },
  poolAddress: Uint8Array,
  log: Logger,
  ledger: Ledger = new Ledger(store),
  bus: RedisBus | null = null,
): RunningPool {
  const pc = config.pool;
  const plog = log.child({ component: "pool" });
  // Read and checked once at start-up: a bad file stops the start with its name, before any port opens.
  const tls = pc.stratumTls !== "off" ? loadStratumTls(pc.tlsCert, pc.tlsKey) : undefined;
  const limits = { ...DEFAULT_LIMITS, maxPerIp: pc.maxConnsPerIp, maxWorkersPerConn: pc.maxWorkersPerConn, maxWorkersPerIp: pc.maxWorkersPerIp, sharesPerSecond: pc.sharesPerSecond, banSeconds: pc.banSeconds };
  const server = new PoolServer({
    source,
    ...hash,
    ledger,
    log: plog,
    poolAddress,
    poolFeeBps: Math.round(pc.feePercent * 100),
    scheme: pc.scheme,
    pplnsWindow: pc.window,
    vardiff: { ...DEFAULT_VARDIFF, targetSeconds: pc.shareInterval, retargetSeconds: Math.max(3 * pc.shareInterval, 1), minDifficulty: pc.minDifficulty },
    startDifficulty: pc.startDifficulty,
    limits,
    jobRefreshSeconds: 30,
    instanceId: pc.instance,
    // On a bus every member starts as a follower: the lease makes one the leader.
    ...(bus ? { role: "follower" as const, bus } : {}),
  });
  ledger.onFault = (e) => plog.error("pool.ledger_write_failed", { kind: ledger.backend.kind, error: e.message });
  const threads = stratumThreads(pc.stratumThreads);
  if (threads > 1) return shardedPool(config, server, ledger, hash.kernelPath, threads, tls, plog, bus);
  type Key = keyof StratumPorts;
  /** The listeners open now: the pool runs exactly when every configured one is open. */
  const open: Partial<Record<Key, { stop(): void }>> = {};
  const ports: StratumPorts = { stratum: null, stratumJson: null, stratumTls: null };
  // Ports chosen by the OS (":0") are kept across stop/start so miners can come back to the same one.
  const want: Record<Key, string> = { stratum: pc.stratum, stratumJson: pc.stratumJson, stratumTls: pc.stratumTls };
  const listen = (key: Key) => {
    if (want[key] === "off") return;
    const l = parseListen(want[key]);
    // The TLS port speaks Stratum V1 JSON inside TLS: the same handlers as the JSON port.
    const codec = key === "stratum" ? "native" : "json";
    const r = listenStratum(server, {
      host: l.host, port: ports[key] ?? l.port, codec, maxBytes: limits.maxMessageBytes, log: plog,
      otherPort: () => ports[key === "stratum" ? "stratumJson" : "stratum"],
      ...(key === "stratumTls" ? { tls } : {}),
    });
    ports[key] = r.port;
    open[key] = r;
  };
  const closeAll = () => {
    for (const key of ["stratum", "stratumJson", "stratumTls"] as const) {
      open[key]?.stop();
      delete open[key];
    }
  };
  return {
    server,
    ports,
    threads: 1,
    start() {
      if (server.isRunning()) return;
      // Stopped -> running only when every listener opened: one that fails closes the others and the pool stays
      // stopped, with the listen error (a port in use: "busy") thrown to whoever asked.
      try {
        listen("stratum");
        listen("stratumJson");
        listen("stratumTls");
      } catch (e) {
        closeAll();
        plog.warn("pool.start_failed", { error: (e as Error).message });
        throw e;
      }
      // No event-loop turn passes between the listeners opening and the server running: no miner sees a stopped pool.
      server.start();
      bus?.start().catch((e: Error) => plog.warn("pool.bus_error", { op: "start", error: e.message }));
      plog.info("pool.started", { fee_percent: pc.feePercent, scheme: pc.scheme, stratum: ports.stratum ?? "off", stratum_json: ports.stratumJson ?? "off", stratum_tls: ports.stratumTls ?? "off" });
    },
    stop() {
      if (!server.isRunning()) return;
      closeAll();
      server.stop();
      // Leaves the bus: a lease held is released, so another member leads at once.
      bus?.stop().catch(() => {});
      plog.info("pool.stopped", {});
    },
    listening: () => ({ stratum: open.stratum ? ports.stratum : null, stratumJson: open.stratumJson ? ports.stratumJson : null, stratumTls: open.stratumTls ? ports.stratumTls : null }),
    running: () => server.isRunning(),
  };
}

/**
 * The pool with stratum shards: this thread's server leads (builds or adopts the jobs, owns the ledger and the
 * source, serves the API and HTTP workers) and opens no Stratum port; N Workers listen on the ports (SO_REUSEPORT).
 */
function shardedPool(config: Config, server: PoolServer, ledger: Ledger, kernelPath: string, threads: number, tls: ReturnType<typeof loadStratumTls> | undefined, plog: Logger, bus: RedisBus | null): RunningPool {
  const pc = config.pool;
  const want = { stratum: pc.stratum, stratumJson: pc.stratumJson, stratumTls: pc.stratumTls };
  const listen = (["stratum", "stratumJson", "stratumTls"] as const).flatMap((key) => {
    if (want[key] === "off") return [];
    const l = parseListen(want[key]);
    return [{ key, host: l.host, port: l.port, codec: key === "stratum" ? ("native" as const) : ("json" as const), ...(key === "stratumTls" ? { tls } : {}) }];
  });
  const o = server.o;
  const shards = new StratumShards({
    count: threads, server, ledger, kernelPath, log: plog, logConfig: { json: config.log.json, level: config.log.level }, listen,
    settings: () => ({ poolAddress: o.poolAddress, poolFeeBps: o.poolFeeBps, scheme: o.scheme, pplnsWindow: o.pplnsWindow, vardiff: o.vardiff, startDifficulty: o.startDifficulty, limits: o.limits, jobRefreshSeconds: o.jobRefreshSeconds, instanceId: o.instanceId }),
  });
  const ports: StratumPorts = { stratum: null, stratumJson: null, stratumTls: null };
  let open = false;
  let starting: Promise<void> | null = null;
  return {
    server,
    ports,
    threads,
    start() {
      if (server.isRunning()) return;
      return (starting ??= shards
        .start()
        .then((p) => {
          Object.assign(ports, p);
          open = true;
          server.start();
          // On a bus: this thread follows or leads the instances; its shards follow it.
          bus?.start().catch((e: Error) => plog.warn("pool.bus_error", { op: "start", error: e.message }));
          plog.info("pool.started", { fee_percent: pc.feePercent, scheme: pc.scheme, stratum: ports.stratum ?? "off", stratum_json: ports.stratumJson ?? "off", stratum_tls: ports.stratumTls ?? "off", stratum_threads: threads });
        })
        .catch((e) => {
          plog.warn("pool.start_failed", { error: (e as Error).message });
          throw e;
        })
        .finally(() => (starting = null)));
    },
    async stop() {
      if (!server.isRunning()) return;
      open = false;
      await shards.stop();
      server.stop();
      bus?.stop().catch(() => {});
      plog.info("pool.stopped", {});
    },
    listening: () => (open ? { ...ports } : { stratum: null, stratumJson: null, stratumTls: null }),
    running: () => server.isRunning(),
  };
}

import { type Logger } from "../core";
import { parseListen, type Config } from "../config";
import { DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, PoolServer, type StratumCodec, type WorkSource } from "../pool";
import type { Store } from "../store";

export interface RunningPool {
  server: PoolServer;
  ports: { stratum: number | null; stratumJson: number | null };
  /** Opens the listeners and starts serving jobs (host mode). */
  start(): void;
  /** Closes the listeners and every connection (the chain node keeps running). */
  stop(): void;
  running(): boolean;
}

/**
 * The pool of `rignode pool`: server, ledger and the two Stratum listeners, from the config, on a work source (the
 * node's chain or an upstream daemon); `poolAddress` is the pool fee's payee in the source's form.
 */
export function createPool(
  config: Config,
  source: WorkSource,
  store: Store,
  hash: { powHash: (h: Uint8Array) => Uint8Array; powHashMany: (hs: Uint8Array, n: number) => Uint8Array },
  poolAddress: Uint8Array,
  log: Logger,
): RunningPool {
  const pc = config.pool;
  const plog = log.child({ component: "pool" });
  const limits = { ...DEFAULT_LIMITS, maxPerIp: pc.maxConnsPerIp, sharesPerSecond: pc.sharesPerSecond, banSeconds: pc.banSeconds };
  const server = new PoolServer({
    source,
    ...hash,
    ledger: new Ledger(store),
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
  });
  const listeners: { stop(): void }[] = [];
  const ports = { stratum: null as number | null, stratumJson: null as number | null };
  // Ports chosen by the OS (":0") are kept across stop/start so miners can come back to the same one.
  const want: Record<StratumCodec, string> = { native: pc.stratum, json: pc.stratumJson };
  const open = (codec: StratumCodec) => {
    if (want[codec] === "off") return;
    const l = parseListen(want[codec]);
    const key = codec === "native" ? "stratum" : "stratumJson";
    const r = listenStratum(server, { host: l.host, port: ports[key] ?? l.port, codec, maxBytes: limits.maxMessageBytes, log: plog, otherPort: () => ports[key === "stratum" ? "stratumJson" : "stratum"] });
    ports[key] = r.port;
    listeners.push(r);
  };
  return {
    server,
    ports,
    start() {
      if (server.isRunning()) return;
      server.start();
      open("native");
      open("json");
      plog.info("pool.started", { fee_percent: pc.feePercent, scheme: pc.scheme, stratum: ports.stratum ?? "off", stratum_json: ports.stratumJson ?? "off" });
    },
    stop() {
      if (!server.isRunning()) return;
      for (const l of listeners.splice(0)) l.stop();
      server.stop();
      plog.info("pool.stopped", {});
    },
    running: () => server.isRunning(),
  };
}

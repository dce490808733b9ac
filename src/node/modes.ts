import { RignodeError, type Logger } from "../core";
import { encodeAddress } from "../chain";
import type { MiningEngine } from "../miner";
import type { Config } from "../config";
import type { PoolMode } from "../api";
import { parsePoolUrl } from "../stratum";
import type { RunningPool } from "./pool";
import type { SoloJobSource } from "./solo";
import type { Rig } from "./rig";
import { joinPool, type PoolLink, type SwitchSource } from "./worker";

/** The local miner of a node or pool role: the engine, its solo source, and the switch in front of it. */
export interface RunningMiner {
  engine: MiningEngine;
  source: SoloJobSource;
  switch: SwitchSource;
  /** Governors and tuner steering the engine. */
  rig: Rig;
}

/**
 * The pool role's modes (seed 004), switchable at runtime: host (Stratum listeners open; a local miner mines into
 * this pool through its own port), solo (listeners closed; a local miner mines blocks for itself) and join (listeners
 * closed; a local miner works for another pool).
 */
export class Modes {
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
    if (r.mode === "host" && m && this.config.pool.stratum === "off" && this.config.pool.stratumJson === "off") {
      // (The local miner joins its own pool in plain TCP: the TLS port alone is not enough.)
      throw new RignodeError("config", "host mode with a local miner needs a Stratum port (--stratum or --stratum-json)");
    }
    // The pool first: when its listeners cannot open, nothing has changed yet (the mode, the miner's link) and the
    // error says why; the state reported stays the real one.
    if (r.mode === "host") await this.pool.start();
    this.link?.stop();
    this.link = null;
    this.joined = null;
    if (r.mode !== "host") await this.pool.stop();
    if (m && chain) {
      const user = r.user ?? (this.config.miner.address || encodeAddress(m.source.payTo, chainParams(m).addressVersion));
      if (r.mode === "solo") {
        m.switch.inner = m.source;
        m.engine.setJob(m.source.job());
        m.engine.release("pool", "solo mode: mining this node's chain");
      } else {
        const target = endpoint ?? { host: "127.0.0.1", port: this.pool.ports.stratum ?? this.pool.ports.stratumJson!, codec: this.pool.ports.stratum ? ("native" as const) : ("json" as const) };
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

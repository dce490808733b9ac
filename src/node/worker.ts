import { bigIntToLe, fromHex, toHex, type Algo, type FoundNonce, type JobSource, type Logger, type MinerJob } from "../core";
import { coinbaseRoot, encodeHeader } from "../chain";
import { difficultyToTarget, hashesPerShare, swapWords } from "../pool";
import { StratumClient, type PoolEndpoint, type PoolWork, type SubmitResult } from "../stratum";
import type { MiningEngine } from "../miner";
import { RejectLog, type WorkerCounts } from "./worker-report";

interface Issued {
  work: PoolWork;
  extranonce2: string;
}

/**
 * Work for the local engine from a pool: each MinerJob is the pool's job with the next extranonce2 rolled into
 * the coinbase (merkle root rebuilt from the branch), the share target from the difficulty of that job.
 * Found nonces go back to the pool as mining.submit; the answers are counted.
 */
export class PoolJobSource implements JobSource {
  private work: PoolWork | null = null;
  private en2 = 0;
  private seq = 0;
  private issued = new Map<string, Issued>();
  readonly counts: WorkerCounts = { accepted: 0, rejected: 0, stale: 0, lost: 0, found: 0 };
  /** Rejected shares with their reasons, rate-limited; flushed by the owner's timer. */
  readonly rejects: RejectLog | null;
  /** Rejected shares by the pool's reason (telemetry), and the round trip of the last answered submit, ms. */
  readonly rejectedBy: Record<string, number> = {};
  lastRttMs: number | null = null;

  constructor(
    private readonly algo: Algo,
    private readonly submit: (jobId: string, en2: string, ntime: string, nonce: string) => Promise<SubmitResult>,
    private readonly log?: Logger,
  ) {
    this.rejects = log ? new RejectLog(log) : null;
  }

  /** New work from the pool; returns the first MinerJob on it (null when it cannot be mined). */
  setWork(w: PoolWork): MinerJob | null {
    if (w.clean || this.work?.jobId !== w.jobId) this.issued.clear();
    this.work = w;
    return this.job();
  }

  /** No pool: nothing to mine until new work comes. */
  clear(): void {
    this.work = null;
    this.issued.clear();
  }

  job(): MinerJob | null {
    const w = this.work;
    if (!w) return null;
    const size = w.extranonce2Size;
    if (size < 1 || size > 8) {
      this.log?.warn("worker.bad_extranonce2_size", { size });
      return null;
    }
    // The counter fills the low bytes; sizes above 4 keep their high bytes at zero.
    const en2 = new Uint8Array(size);
    let x = this.en2++ >>> 0;
    for (let i = size - 1; i >= 0 && i >= size - 4; i--, x >>>= 8) en2[i] = x & 0xff;
    const en2Hex = toHex(en2);
    const { merkleRoot: root } = coinbaseRoot(fromHex(w.coinb1), fromHex(w.extranonce1 + en2Hex), fromHex(w.coinb2), w.merkleBranch.map((b) => fromHex(b, 32, "merkle branch")));
    const header = encodeHeader({
      version: parseInt(w.version, 16) >>> 0,
      prevHash: swapWords(fromHex(w.prevHash, 32, "prevhash")),
      merkleRoot: root,
      time: parseInt(w.ntime, 16) >>> 0,
      bits: parseInt(w.nbits, 16) >>> 0,
      nonce: 0,
    });
    const id = `p${++this.seq}`;
    this.issued.set(id, { work: w, extranonce2: en2Hex });
    if (this.issued.size > 64) this.issued.delete(this.issued.keys().next().value!);
    return { id, algo: this.algo, header, target: bigIntToLe(difficultyToTarget(w.difficulty, this.algo)) };
  }

  nextJob(): MinerJob | null {
    return this.job();
  }

  found(f: FoundNonce): void {
    const it = this.issued.get(f.jobId);
    if (!it) return;
    this.counts.found++;
    const nonce = (f.nonce >>> 0).toString(16).padStart(8, "0");
    const sent = performance.now();
    this.submit(it.work.jobId, it.extranonce2, it.work.ntime, nonce).then((r) => {
      this.counts[r.status]++;
      if (r.status !== "lost") this.lastRttMs = performance.now() - sent;
      if (r.status === "rejected") {
        const why = r.message || String(r.code);
        this.rejectedBy[why] = (this.rejectedBy[why] ?? 0) + 1;
        this.rejects?.record({ job: it.work.jobId, code: r.code, reason: r.message });
      }
      else if (r.status === "stale") this.log?.debug("worker.share_stale", { job: it.work.jobId });
    });
  }
}

/** A job source whose inner source can be swapped at runtime (solo mining, a pool, back again). */
export class SwitchSource implements JobSource {
  constructor(public inner: JobSource) {}
  nextJob(exhausted: MinerJob): MinerJob | null {
    return this.inner.nextJob(exhausted);
  }
  found(f: FoundNonce): void {
    this.inner.found(f);
  }
}

export interface PoolLink {
  client: StratumClient;
  source: PoolJobSource;
  stop(): void;
}

/**
 * Mines for a pool with an engine: a Stratum client (failover list) feeds a PoolJobSource; new work switches the
 * engine at once, a lost connection pauses it until work comes again.
 */
export function joinPool(
  o: {
    engine: MiningEngine; algo: Algo; pools: PoolEndpoint[]; user: string; password: string; log: Logger; userAgent?: string;
    /** See ClientOptions: refusals before giving up, and what to do then. */
    maxAuthFailures?: number; onFatal?: (e: Error) => void;
    /** PEM certificate(s) trusted for stratum+ssl:// pools (ClientOptions.tlsCa). */
    tlsCa?: string;
  },
  install: (source: PoolJobSource) => void = () => {},
): PoolLink {
  let client: StratumClient;
  const source = new PoolJobSource(o.algo, (j, e, t, n) => client.submit(j, e, t, n), o.log);
  install(source);
  o.engine.hold("pool", "waiting for work from the pool");
  client = new StratumClient({
    pools: o.pools,
    user: o.user,
    password: o.password,
    log: o.log,
    userAgent: o.userAgent,
    maxAuthFailures: o.maxAuthFailures,
    onFatal: o.onFatal,
    tlsCa: o.tlsCa,
    onWork: (w) => {
      const job = source.setWork(w);
      if (!job) return;
      o.engine.setJob(job);
      o.engine.release("pool", "work from the pool");
    },
    onDisconnect: () => {
      source.clear();
      o.engine.hold("pool", "pool connection lost");
    },
  });
  client.start();
  // Once the engine has hashed for a few seconds, suggest the difficulty that gives about one share per 10 s.
  const h0 = o.engine.totalHashes();
  const t0 = Date.now();
  const suggest = setTimeout(() => {
    const rate = (o.engine.totalHashes() - h0) / ((Date.now() - t0) / 1000);
    if (rate > 0) client.suggestDifficulty(Number(((rate * 10) / hashesPerShare(1, o.algo)).toPrecision(3)));
  }, 5000);
  return {
    client,
    source,
    stop: () => {
      clearTimeout(suggest);
      client.stop();
    },
  };
}

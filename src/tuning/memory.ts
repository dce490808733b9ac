import { Database } from "bun:sqlite";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { RignodeError } from "../core";

/** File of the performance memory in the data dir. */
export const PERF_FILE = "perf.sqlite";

/** What one configuration is, for the memory: the seed's key (cpu model, profile, algorithm, threads, batch, layout). */
export interface PerfKey {
  /** Normalised CPU model ("amd ryzen 9 5900x"). */
  cpu: string;
  profile: string;
  algo: string;
  threads: number;
  /** Batch in units (see the tuning config). */
  batch: number;
  /** NUMA layout of the threads ("node0:2" or "node0:4,node1:4"). */
  layout: string;
}

export interface PerfRecord extends PerfKey {
  samples: number;
  /** Mean hashrate (H/s) over the recorded windows. */
  avg: number;
  /** Best window's hashrate (H/s). */
  best: number;
  /** ms since the epoch. */
  updated: number;
}

/**
 * What worked, per (cpu, profile, algorithm, threads, batch, layout): one row per configuration, updated once per
 * evaluation window (never per second). Its own SQLite file, not the node's store: several rignode processes on one
 * host (two workers share a data dir and take no data-dir lock) write to it, each in a short transaction.
 */
export class PerfMemory {
  private constructor(private readonly db: Database, readonly path: string) {}

  static open(dataDir: string): PerfMemory {
    if (dataDir === ":memory:") return PerfMemory.connect(":memory:");
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      throw new RignodeError("store", `performance memory: cannot create ${dataDir}: ${(e as Error).message}`);
    }
    return PerfMemory.connect(join(dataDir, PERF_FILE));
  }

  private static connect(path: string): PerfMemory {
    let db: Database;
    try {
      db = new Database(path, { create: true, strict: true });
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`CREATE TABLE IF NOT EXISTS perf (
        cpu TEXT NOT NULL, profile TEXT NOT NULL, algo TEXT NOT NULL,
        threads INTEGER NOT NULL, batch INTEGER NOT NULL, layout TEXT NOT NULL,
        samples INTEGER NOT NULL, avg REAL NOT NULL, best REAL NOT NULL, updated INTEGER NOT NULL,
        PRIMARY KEY (cpu, profile, algo, threads, batch, layout)) STRICT`);
      const ok = db.query("PRAGMA quick_check").get() as { quick_check: string } | null;
      if (ok?.quick_check !== "ok") throw new Error(`quick_check: ${ok?.quick_check ?? "no answer"}`);
    } catch (e) {
      throw new RignodeError("store", `performance memory ${path}: ${(e as Error).message}; move the file away to start a new memory`);
    }
    return new PerfMemory(db, path);
  }

  /** Adds one evaluation window's hashrate to the configuration's record (running mean, best). */
  record(k: PerfKey, hashrate: number, now = Date.now()): PerfRecord {
    if (!Number.isFinite(hashrate) || hashrate < 0) throw new RignodeError("input", `hashrate must be a finite number >= 0, got ${hashrate}`);
    this.db
      .query(
        `INSERT INTO perf (cpu, profile, algo, threads, batch, layout, samples, avg, best, updated)
         VALUES ($cpu, $profile, $algo, $threads, $batch, $layout, 1, $h, $h, $now)
         ON CONFLICT DO UPDATE SET avg = avg + ($h - avg) / (samples + 1), samples = samples + 1,
           best = max(best, $h), updated = $now`,
      )
      .run({ ...k, h: hashrate, now });
    return this.get(k)!;
  }

  get(k: PerfKey): PerfRecord | null {
    return (this.db
      .query("SELECT * FROM perf WHERE cpu = $cpu AND profile = $profile AND algo = $algo AND threads = $threads AND batch = $batch AND layout = $layout")
      .get({ ...k }) as PerfRecord | null) ?? null;
  }

  /** The configuration with the highest mean for this CPU, profile and algorithm; null when none is recorded. */
  bestFor(cpu: string, profile: string, algo: string): PerfRecord | null {
    return (this.db
      .query("SELECT * FROM perf WHERE cpu = $cpu AND profile = $profile AND algo = $algo ORDER BY avg DESC, samples DESC LIMIT 1")
      .get({ cpu, profile, algo }) as PerfRecord | null) ?? null;
  }

  /**
   * Other algorithms' best configurations on this CPU and profile: hints only (a thread count that suited sha256d says
   * something about the cores, not about scrypt's memory traffic), never taken as this algorithm's best.
   */
  hints(cpu: string, profile: string, algo: string): PerfRecord[] {
    return this.db
      .query(
        `SELECT * FROM perf p WHERE cpu = $cpu AND profile = $profile AND algo != $algo
         AND avg = (SELECT max(avg) FROM perf q WHERE q.cpu = p.cpu AND q.profile = p.profile AND q.algo = p.algo)`,
      )
      .all({ cpu, profile, algo }) as PerfRecord[];
  }

  /** Every record for a CPU (and algorithm), best first. */
  list(cpu: string, algo?: string): PerfRecord[] {
    return (algo
      ? this.db.query("SELECT * FROM perf WHERE cpu = $cpu AND algo = $algo ORDER BY avg DESC").all({ cpu, algo })
      : this.db.query("SELECT * FROM perf WHERE cpu = $cpu ORDER BY algo, avg DESC").all({ cpu })) as PerfRecord[];
  }

  close(): void {
    this.db.close();
  }
}

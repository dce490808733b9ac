// Figures of the stratum shards added up on the main thread (shards.ts).
import type { MemberHealth } from "./bus";
import type { WorkerRow } from "./report";
import type { ShardExtra } from "./shard-wire";

/** The counters of shards that ended (restarted or stopped), kept so the process's totals never go backwards. */
export class Retired {
  private readonly c = { accepted: 0, acceptedDifficulty: 0, rejected: {} as Record<string, number>, notifies: 0, bans: 0, blocks: 0 };

  add(h: MemberHealth, x: ShardExtra): void {
    const c = this.c;
    c.accepted += h.accepted;
    c.acceptedDifficulty += x.acceptedDifficulty;
    c.notifies += x.notifies;
    c.bans += x.bans;
    c.blocks += x.blocks ?? 0;
    for (const [k, v] of Object.entries(x.rejectedBy)) c.rejected[k] = (c.rejected[k] ?? 0) + v;
  }

  /** A copy, to add the live shards' figures to. */
  counts() {
    return { ...this.c, rejected: { ...this.c.rejected } };
  }
}

/** One row per worker from every shard's list: a worker on several shards has its figures added up. */
export function mergeWorkers(lists: WorkerRow[][]): WorkerRow[] {
  const by = new Map<string, WorkerRow>();
  for (const list of lists) {
    for (const r of list) {
      const w = by.get(r.user);
      if (!w) {
        by.set(r.user, { ...r, rejected: { ...r.rejected } });
        continue;
      }
      w.connected ||= r.connected;
      w.hashrate_hs += r.hashrate_hs;
      w.accepted += r.accepted;
      w.accepted_difficulty += r.accepted_difficulty;
      w.stale += r.stale;
      for (const [k, v] of Object.entries(r.rejected)) w.rejected[k] = (w.rejected[k] ?? 0) + (v ?? 0);
      w.last_share = Math.max(w.last_share ?? 0, r.last_share ?? 0) || null;
      w.connected_since = w.connected_since === null ? r.connected_since : r.connected_since === null ? w.connected_since : Math.min(w.connected_since, r.connected_since);
    }
  }
  return [...by.values()];
}

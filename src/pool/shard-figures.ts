// Figures of the stratum shards added up on the main thread (shards.ts).
import type { WorkerRow } from "./report";

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

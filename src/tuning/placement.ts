import type { Topology } from "./topology";

// Which CPUs mining threads take, in order. Thread k of the engine takes the k-th CPU of cpuOrder (skipping CPUs
// another rignode process holds), so the order alone decides the layout for any thread count.

/**
 * Merges lists so that every prefix takes from each list in proportion to its length (Sainte-Laguë: next is the
 * list with the least (taken + ½) / length; ties to the earlier list). Equal lists alternate; 6:2 gives 0,0,1,0,0,0,1,0.
 */
export function interleave<T>(lists: T[][]): T[] {
  const live = lists.filter((l) => l.length > 0);
  const taken = live.map(() => 0);
  const out: T[] = [];
  const total = live.reduce((s, l) => s + l.length, 0);
  while (out.length < total) {
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < live.length; i++) {
      if (taken[i]! >= live[i]!.length) continue;
      const score = (taken[i]! + 0.5) / live[i]!.length;
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    out.push(live[best]![taken[best]!++]!);
  }
  return out;
}

/** Groups values by a numeric key, groups in key order, each keeping the input order. */
function groupBy<T>(xs: T[], key: (x: T) => number): T[][] {
  const m = new Map<number, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/**
 * The allowed CPUs in the order mining threads should take them: one thread on every physical core before any core
 * gets a second (a core's "first" thread is its first allowed one, so a mask that leaves only a sibling still counts
 * that core once), and within each such round the NUMA nodes interleaved in proportion to their allowed CPUs in
 * that round (then packages within a node). allowed null → every CPU of the topology; allowed CPUs the topology
 * does not know come last, in number order.
 */
export function cpuOrder(topo: Topology, allowed: number[] | null): number[] {
  const known = new Map(topo.cpus.map((c) => [c.cpu, c]));
  const want = allowed === null ? topo.cpus.map((c) => c.cpu) : [...new Set(allowed)].sort((a, b) => a - b);
  const mine = want.filter((c) => known.has(c)).map((c) => known.get(c)!);
  const unknown = want.filter((c) => !known.has(c));

  // Round of each CPU = its rank among the allowed threads of its core.
  const round = new Map<number, number>();
  const byCore = new Map<string, typeof mine>();
  for (const c of mine) byCore.set(c.core, [...(byCore.get(c.core) ?? []), c]);
  for (const list of byCore.values())
    list.sort((a, b) => a.smtIndex - b.smtIndex || a.cpu - b.cpu).forEach((c, i) => round.set(c.cpu, i));

  const out: number[] = [];
  for (const tier of groupBy(mine, (c) => round.get(c.cpu)!)) {
    const sorted = [...tier].sort((a, b) => a.cpu - b.cpu);
    const perNode = groupBy(sorted, (c) => c.node).map((inNode) => interleave(groupBy(inNode, (c) => c.pkg)));
    out.push(...interleave(perNode).map((c) => c.cpu));
  }
  return [...out, ...unknown];
}

/**
 * Where threads run, as "node0:2,node1:2" (nodes in order, only those with threads); ",unknown:N" for CPUs the
 * topology does not list and ",unpinned:N" for threads that run unpinned (null). The performance memory keys on it.
 */
export function layoutOf(topo: Topology, cpus: (number | null)[]): string {
  const nodeOf = new Map(topo.cpus.map((c) => [c.cpu, c.node]));
  const counts = new Map<number, number>();
  let unknown = 0;
  let unpinned = 0;
  for (const c of cpus) {
    if (c === null) unpinned++;
    else if (!nodeOf.has(c)) unknown++;
    else counts.set(nodeOf.get(c)!, (counts.get(nodeOf.get(c)!) ?? 0) + 1);
  }
  const parts = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([n, k]) => `node${n}:${k}`);
  if (unknown) parts.push(`unknown:${unknown}`);
  if (unpinned) parts.push(`unpinned:${unpinned}`);
  return parts.join(",");
}

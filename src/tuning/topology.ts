import { availableParallelism } from "node:os";
import { parseCpuList, readInt, type SysFs } from "./sysfs";

// The CPU as the kernel describes it: which logical CPUs share a physical core (SMT siblings), which package and
// NUMA node each sits in, and the cache sizes. Read once at start; nothing here is guessed from counts.

export interface CpuTopo {
  cpu: number;
  core: string; // "pkg:core_id": one physical core
  pkg: number;
  node: number;
  smtIndex: number; // 0 for the first thread of its core
}

export interface Topology {
  model: string;
  modelKey: string;
  cpus: CpuTopo[];
  nodes: { node: number; cpus: number[] }[];
  physicalCores: number;
  /** Size of one L2 / one L3 instance as the first CPU sees it (what one core / one CCX or socket has); null: not reported. */
  l2Bytes: number | null;
  l3Bytes: number | null;
  /** What was read, e.g. "sysfs /: cpu topology, 2 numa nodes, caches" (or what was missing). */
  source: string;
}

const CPU = "sys/devices/system/cpu";
const NODE = "sys/devices/system/node";

/** "512K", "32768K", "1M", "36608K" → bytes; null when absent or malformed. */
export function parseCacheSize(text: string | null): number | null {
  const m = /^(\d+)\s*([KMG]?)B?$/i.exec(text ?? "");
  if (!m) return null;
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G"];
  return Number(m[1]) * unit;
}

/**
 * The CPU model without marketing marks, clock, core-count phrase or serial: the key performance records are
 * stored under, the same on every machine with this model. "AMD Ryzen 9 5900X 12-Core Processor Serial 2BA3F91" →
 * "amd ryzen 9 5900x"; "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz" → "intel core i7-8700k".
 */
export function normaliseCpuModel(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/\bserial\b.*$/, "") // serial numbers identify one chip, not a model
      .replace(/@.*$/, "") // "@ 3.70GHz": the base clock is implied by the model
      .replace(/\((r|tm|c)\)|[®™©]/g, "")
      .replace(/\b[\w]+-core\b/g, "") // "12-Core", "Eight-Core"
      .replace(/\bwith radeon .*$/, "") // "with Radeon Graphics" / "Vega Mobile Gfx": the iGPU, same CPU
      .replace(/\b(processor|cpu)\b/g, "")
      .replace(/\s+/g, " ")
      .trim()
      .replace(/[\s,;:-]+$/, "") || "unknown"
  );
}

/** The first "model name" of /proc/cpuinfo (x86); ARM kernels call it "Hardware" or give no name. */
function cpuinfoModel(fs: SysFs): string | null {
  const text = fs.read("proc/cpuinfo");
  if (!text) return null;
  const m = /^(?:model name|Hardware|cpu model)\s*:\s*(.+)$/m.exec(text);
  return m ? m[1]!.trim() || null : null;
}

/** Online CPUs: the "online" list, else every cpuN directory not marked offline, else /proc/cpuinfo's processors. */
function onlineCpus(fs: SysFs): { cpus: number[]; from: string } {
  const listed = parseCpuList(fs.read(`${CPU}/online`));
  if (listed && listed.length) return { cpus: listed, from: "sysfs" };
  const dirs = fs
    .list(CPU)
    .map((d) => /^cpu(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((c) => fs.read(`${CPU}/cpu${c}/online`) !== "0");
  if (dirs.length) return { cpus: dirs.sort((a, b) => a - b), from: "sysfs" };
  const procs = [...(fs.read("proc/cpuinfo") ?? "").matchAll(/^processor\s*:\s*(\d+)$/gm)].map((m) => Number(m[1]));
  if (procs.length) return { cpus: procs.sort((a, b) => a - b), from: "cpuinfo" };
  // Not Linux (or no /proc): only the count is known; on a fixture root that is an empty tree, say none.
  return fs.root === "/" ? { cpus: Array.from({ length: availableParallelism() }, (_, i) => i), from: "os" } : { cpus: [], from: "none" };
}

/**
 * Reads the topology under fs: cpuN/topology (package, core, thread siblings), nodeN/cpulist, cpu0's cache/index*
 * and the model name from proc/cpuinfo (modelHint when cpuinfo has none). Parts the kernel does not give fall back
 * to the plain view (one node, one core per CPU) and `source` says so.
 */
export function readTopology(fs: SysFs, modelHint?: string): Topology {
  const { cpus: online, from } = onlineCpus(fs);
  const notes: string[] = [];

  // NUMA: node directories with their CPU lists; memory-only nodes (no CPUs) play no part in placement.
  const nodeOf = new Map<number, number>();
  const nodeDirs = fs
    .list(NODE)
    .map((d) => /^node(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  for (const n of nodeDirs) for (const c of parseCpuList(fs.read(`${NODE}/node${n}/cpulist`)) ?? []) if (!nodeOf.has(c)) nodeOf.set(c, n);

  // Physical cores: thread_siblings_list is the kernel's grouping; core_id alone can repeat across dies.
  let withTopology = 0;
  const groups = new Map<string, number[]>(); // sibling-group key → its CPUs (all, online or not)
  const info = online.map((cpu) => {
    const t = `${CPU}/cpu${cpu}/topology`;
    const pkgRaw = readInt(fs, `${t}/physical_package_id`);
    const coreId = readInt(fs, `${t}/core_id`);
    const siblings = parseCpuList(fs.read(`${t}/thread_siblings_list`)) ?? parseCpuList(fs.read(`${t}/core_cpus_list`));
    if (coreId !== null) withTopology++;
    const pkg = pkgRaw !== null && pkgRaw >= 0 ? pkgRaw : 0; // -1 on some VMs and ARM boards
    const sibs = siblings && siblings.includes(cpu) ? siblings : [cpu];
    const group = coreId === null ? `cpu${cpu}` : sibs.join(",");
    if (!groups.has(group)) groups.set(group, sibs);
    return { cpu, pkg, coreId, group, node: nodeOf.get(cpu) ?? 0 };
  });
  if (withTopology < online.length) notes.push(withTopology ? "partial cpu topology" : "no cpu topology (one core per cpu)");
  else notes.push("cpu topology");

  // Name each core "pkg:core_id", unique even where core ids repeat within a package.
  const coreName = new Map<string, string>();
  const used = new Set<string>();
  const cpus: CpuTopo[] = info.map((i) => {
    let name = coreName.get(i.group);
    if (!name) {
      name = `${i.pkg}:${i.coreId ?? i.cpu}`;
      if (used.has(name)) name = `${name}.${groups.get(i.group)![0]}`;
      used.add(name);
      coreName.set(i.group, name);
    }
    return { cpu: i.cpu, core: name, pkg: i.pkg, node: i.node, smtIndex: Math.max(0, groups.get(i.group)!.indexOf(i.cpu)) };
  });

  const byNode = new Map<number, number[]>();
  for (const c of cpus) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c.cpu]);
  const nodes = [...byNode.entries()].sort((a, b) => a[0] - b[0]).map(([node, list]) => ({ node, cpus: list }));
  notes.push(nodeDirs.length ? `${nodes.length} numa node${nodes.length === 1 ? "" : "s"}` : "no numa nodes (one assumed)");

  const { l2, l3 } = caches(fs, online[0]);
  notes.push(l2 !== null || l3 !== null ? "caches" : "no cache info");

  const model = cpuinfoModel(fs) ?? modelHint?.trim() ?? "unknown";
  return {
    model,
    modelKey: normaliseCpuModel(model),
    cpus,
    nodes,
    physicalCores: new Set(cpus.map((c) => c.core)).size,
    l2Bytes: l2,
    l3Bytes: l3,
    source: `${from === "sysfs" ? "sysfs" : `${from} (no sysfs cpus)`} ${fs.root}: ${notes.join(", ")}`,
  };
}

/** L2 and L3 of one CPU from cache/index*: data or unified caches only (L1 has a separate instruction cache). */
function caches(fs: SysFs, cpu: number | undefined): { l2: number | null; l3: number | null } {
  const out = { l2: null as number | null, l3: null as number | null };
  if (cpu === undefined) return out;
  const base = `${CPU}/cpu${cpu}/cache`;
  for (const idx of fs.list(base).filter((d) => /^index\d+$/.test(d))) {
    const level = readInt(fs, `${base}/${idx}/level`);
    const type = fs.read(`${base}/${idx}/type`);
    if (type === "Instruction") continue;
    const size = parseCacheSize(fs.read(`${base}/${idx}/size`));
    if (size === null) continue;
    if (level === 2) out.l2 = size;
    if (level === 3) out.l3 = size;
  }
  return out;
}

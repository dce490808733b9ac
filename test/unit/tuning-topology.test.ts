// CPU topology from fake sysfs trees (test/fixtures/sysfs) and this machine, the model key, and the thread order.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cpuOrder, interleave, layoutOf } from "../../src/tuning/placement";
import { naturalCompare, parseCpuList, SysFs } from "../../src/tuning/sysfs";
import { normaliseCpuModel, parseCacheSize, readTopology, type Topology } from "../../src/tuning/topology";
import { ROOT } from "../helpers";

const FIXTURES = join(ROOT, "test/fixtures/sysfs");
const topo = (name: string) => readTopology(new SysFs(join(FIXTURES, name)));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rignode-topo-"));
  dirs.push(d);
  return d;
};
const put = (root: string, p: string, v: string) => {
  mkdirSync(dirname(join(root, p)), { recursive: true });
  writeFileSync(join(root, p), `${v}\n`);
};
const nodeOf = (t: Topology, cpu: number) => t.cpus.find((c) => c.cpu === cpu)!.node;
const coreOf = (t: Topology, cpu: number) => t.cpus.find((c) => c.cpu === cpu)!.core;

describe("topology from sysfs", () => {
  test("laptop: 4 cores / 8 threads (siblings n and n+4), one node, L2 256K, L3 8M", () => {
    const t = topo("laptop");
    expect(t.model).toBe("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz");
    expect(t.modelKey).toBe("intel core i7-8550u");
    expect(t.cpus.map((c) => c.cpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.nodes).toEqual([{ node: 0, cpus: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    expect(t.physicalCores).toBe(4);
    expect(t.cpus.map((c) => c.smtIndex)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(coreOf(t, 5)).toBe(coreOf(t, 1));
    expect(coreOf(t, 5)).not.toBe(coreOf(t, 2));
    expect(t.l2Bytes).toBe(256 * 1024);
    expect(t.l3Bytes).toBe(8 * 1024 * 1024);
    expect(t.source).toContain("cpu topology");
    expect(t.source).toContain("caches");
  });

  test("two-socket server: 2 nodes, 8 physical cores (core ids repeat across packages), SMT index, per-instance caches", () => {
    const t = topo("server2s");
    expect(t.modelKey).toBe("intel xeon gold 5122");
    expect(t.nodes).toEqual([
      { node: 0, cpus: [0, 1, 2, 3, 8, 9, 10, 11] },
      { node: 1, cpus: [4, 5, 6, 7, 12, 13, 14, 15] },
    ]);
    expect(t.physicalCores).toBe(8);
    expect(t.cpus.find((c) => c.cpu === 0)).toEqual({ cpu: 0, core: "0:0", pkg: 0, node: 0, smtIndex: 0 });
    expect(t.cpus.find((c) => c.cpu === 4)).toEqual({ cpu: 4, core: "1:0", pkg: 1, node: 1, smtIndex: 0 });
    expect(t.cpus.find((c) => c.cpu === 12)).toEqual({ cpu: 12, core: "1:0", pkg: 1, node: 1, smtIndex: 1 });
    expect(t.cpus.find((c) => c.cpu === 11)).toEqual({ cpu: 11, core: "0:11", pkg: 0, node: 0, smtIndex: 1 });
    expect(t.l2Bytes).toBe(1024 * 1024);
    expect(t.l3Bytes).toBe(16896 * 1024);
    expect(t.source).toContain("2 numa nodes");
  });

  test("VM: 2 vCPUs, one node, no cache directories → caches null and said so", () => {
    const t = topo("vm");
    expect(t.modelKey).toBe("amd epyc");
    expect(t.cpus).toEqual([
      { cpu: 0, core: "0:0", pkg: 0, node: 0, smtIndex: 0 },
      { cpu: 1, core: "0:1", pkg: 0, node: 0, smtIndex: 0 },
    ]);
    expect(t.nodes).toEqual([{ node: 0, cpus: [0, 1] }]);
    expect(t.physicalCores).toBe(2);
    expect(t.l2Bytes).toBeNull();
    expect(t.l3Bytes).toBeNull();
    expect(t.source).toContain("no cache info");
  });

  test("this machine: every CPU the OS reports, each in one node, cores ≤ CPUs", () => {
    const t = readTopology(new SysFs("/"));
    expect(t.cpus.length).toBeGreaterThanOrEqual(availableParallelism());
    expect(t.physicalCores).toBeGreaterThanOrEqual(1);
    expect(t.physicalCores).toBeLessThanOrEqual(t.cpus.length);
    expect(t.nodes.flatMap((n) => n.cpus).sort((a, b) => a - b)).toEqual(t.cpus.map((c) => c.cpu).sort((a, b) => a - b));
    expect(t.modelKey.length).toBeGreaterThan(0);
    expect(cpuOrder(t, null).sort((a, b) => a - b)).toEqual(t.cpus.map((c) => c.cpu).sort((a, b) => a - b));
  });

  test("offline CPUs are left out (the online list)", () => {
    const d = tempDir();
    cpSync(join(FIXTURES, "server2s"), d, { recursive: true });
    put(d, "sys/devices/system/cpu/online", "0-14");
    const t = readTopology(new SysFs(d));
    expect(t.cpus.map((c) => c.cpu)).not.toContain(15);
    expect(t.cpus).toHaveLength(15);
    expect(t.physicalCores).toBe(8);
  });

  test("no sysfs: CPUs from /proc/cpuinfo, one core each; the model hint when cpuinfo names none (ARM)", () => {
    const d = tempDir();
    put(d, "proc/cpuinfo", [0, 1, 2, 3].map((n) => `processor\t: ${n}\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n`).join("\n"));
    const t = readTopology(new SysFs(d), "Neoverse-N1");
    expect(t.cpus.map((c) => c.cpu)).toEqual([0, 1, 2, 3]);
    expect(t.physicalCores).toBe(4);
    expect(t.nodes).toEqual([{ node: 0, cpus: [0, 1, 2, 3] }]);
    expect(t.model).toBe("Neoverse-N1");
    expect(t.modelKey).toBe("neoverse-n1");
    expect(t.source).toContain("cpuinfo");
    expect(t.source).toContain("no cpu topology");
    expect(readTopology(new SysFs(tempDir())).cpus).toEqual([]);
  });

  test("kernel list and size formats", () => {
    expect(parseCpuList("0-3,8-11")).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(parseCpuList("0,4")).toEqual([0, 4]);
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("3-1")).toBeNull();
    expect(parseCpuList("zero")).toBeNull();
    expect(parseCacheSize("512K")).toBe(512 * 1024);
    expect(parseCacheSize("32768K")).toBe(32 * 1024 * 1024);
    expect(parseCacheSize("1M")).toBe(1024 * 1024);
    expect(parseCacheSize("big")).toBeNull();
    expect(["hwmon10", "hwmon2", "hwmon1"].sort(naturalCompare)).toEqual(["hwmon1", "hwmon2", "hwmon10"]);
  });
});

describe("normaliseCpuModel", () => {
  test.each([
    ["AMD Ryzen 9 5900X 12-Core Processor Serial 2BA3F91", "amd ryzen 9 5900x"],
    ["AMD Ryzen 9 5900X 12-Core Processor", "amd ryzen 9 5900x"],
    ["AMD Ryzen 7 5800H with Radeon Graphics", "amd ryzen 7 5800h"],
    ["AMD Ryzen Threadripper 3990X 64-Core Processor", "amd ryzen threadripper 3990x"],
    ["AMD EPYC 7763 64-Core Processor", "amd epyc 7763"],
    ["AMD EPYC", "amd epyc"],
    ["AMD FX(tm)-8350 Eight-Core Processor", "amd fx-8350"],
    ["Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "intel core i7-8700k"],
    ["Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", "intel core i7-8550u"],
    ["12th Gen Intel(R) Core(TM) i7-1260P", "12th gen intel core i7-1260p"],
    ["Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "intel xeon e5-2680 v4"],
    ["Intel(R) Xeon(R) Gold 5122 CPU @ 3.60GHz", "intel xeon gold 5122"],
    ["Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "intel xeon platinum 8375c"],
    ["  ", "unknown"],
  ])("%p → %p", (input, want) => {
    expect(normaliseCpuModel(input)).toBe(want);
  });
});

describe("thread order (placement)", () => {
  test("laptop: every physical core's first thread before any sibling", () => {
    expect(cpuOrder(topo("laptop"), null)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test("two-socket server: the first 8 are 8 distinct physical cores alternating nodes, then the siblings", () => {
    const t = topo("server2s");
    const order = cpuOrder(t, null);
    expect(order).toEqual([0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]);
    const first8 = order.slice(0, 8);
    expect(new Set(first8.map((c) => coreOf(t, c))).size).toBe(8);
    expect(first8.map((c) => nodeOf(t, c))).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  test("respects the allowed mask; a core whose first thread is masked counts once through its sibling", () => {
    const t = topo("server2s");
    expect(cpuOrder(t, [0, 1, 2, 3, 8, 9, 10, 11])).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    // cpu 8 is core 0:0's second thread but its only allowed one: it goes in the first round.
    expect(cpuOrder(t, [12, 5, 4, 8])).toEqual([4, 8, 5, 12]);
    expect(cpuOrder(t, [])).toEqual([]);
    expect(cpuOrder(t, [3, 3, 99])).toEqual([3, 99]); // duplicates once; CPUs the topology lacks come last
  });

  test("nodes interleave in proportion to their allowed cores", () => {
    const t = topo("server2s");
    // node1 whole (4 cores), node0 only cores of cpus 0 and 1: 1 node0 thread per 2 node1 threads in the first round.
    const order = cpuOrder(t, [0, 1, 4, 5, 6, 7, 12, 13, 14, 15]);
    expect(order).toEqual([4, 0, 5, 6, 1, 7, 12, 13, 14, 15]);
    const first6 = order.slice(0, 6).map((c) => nodeOf(t, c));
    for (let k = 3; k <= 6; k += 3) expect(first6.slice(0, k).filter((n) => n === 0).length).toBe(k / 3);
    expect(interleave<number | string>([[1, 2, 3, 4, 5, 6], ["a", "b"]])).toEqual([1, 2, "a", 3, 4, 5, "b", 6]);
  });

  test("never the same CPU twice: the order is a permutation of the allowed CPUs", () => {
    const t = topo("server2s");
    const allowed = [15, 2, 9, 6, 11, 0];
    expect(cpuOrder(t, allowed).sort((a, b) => a - b)).toEqual([...allowed].sort((a, b) => a - b));
  });

  test("without NUMA nodes (one assumed) the two packages still alternate", () => {
    const d = tempDir();
    cpSync(join(FIXTURES, "server2s"), d, { recursive: true });
    rmSync(join(d, "sys/devices/system/node"), { recursive: true });
    const t = readTopology(new SysFs(d));
    expect(t.nodes).toEqual([{ node: 0, cpus: Array.from({ length: 16 }, (_, i) => i) }]);
    expect(t.source).toContain("no numa nodes");
    expect(cpuOrder(t, null)).toEqual([0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]);
  });

  test("layoutOf: threads per node, unknown CPUs and unpinned threads", () => {
    const s = topo("server2s");
    const order = cpuOrder(s, null);
    expect(layoutOf(s, order.slice(0, 4))).toBe("node0:2,node1:2");
    expect(layoutOf(s, order)).toBe("node0:8,node1:8");
    expect(layoutOf(s, [4, 5, 12])).toBe("node1:3");
    expect(layoutOf(s, [0, null, null])).toBe("node0:1,unpinned:2");
    expect(layoutOf(s, [0, 99])).toBe("node0:1,unknown:1");
    expect(layoutOf(topo("vm"), [0, 1])).toBe("node0:2");
    expect(layoutOf(s, [])).toBe("");
  });
});

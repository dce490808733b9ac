import { COMMIT, VERSION, type MetricFamily } from "../core";
import type { KernelInfo } from "../kernel";
import type { Chain } from "../chain";
import type { MinerView } from "../api";

const startedAt = Date.now();

/** Build info: one gauge at 1 with the version, commit and kernel variant as labels. */
export function buildCollector(role: string, kernel: KernelInfo): () => MetricFamily[] {
  return () => [
    {
      name: "rignode_build_info",
      help: "Build of this rignode; the value is always 1.",
      type: "info",
      samples: [{ labels: { version: VERSION, commit: COMMIT, role, kernel_variant: kernel.variant }, value: 1 }],
    },
  ];
}

/** The kernel variant in use, its lanes and the CPU features CPUID reported. */
export function kernelCollector(kernel: KernelInfo): () => MetricFamily[] {
  return () => [
    {
      name: "rignode_kernel_info",
      help: "Hash kernel in use; the value is always 1.",
      type: "info",
      samples: [{ labels: { variant: kernel.variant, version: kernel.version, lanes: kernel.lanes, forced: String(kernel.forced) }, value: 1 }],
    },
    {
      name: "rignode_kernel_variant_supported",
      help: "1 when this CPU can run the kernel variant, else 0.",
      type: "gauge",
      samples: kernel.available.map((v) => ({ labels: { variant: v }, value: kernel.supported.includes(v) ? 1 : 0 })),
    },
  ];
}

/** Standard process metrics (names as Prometheus client libraries use them). */
export function processCollector(): () => MetricFamily[] {
  return () => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return [
      { name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: "gauge", samples: [{ value: mem.rss }] },
      { name: "process_cpu_seconds_total", help: "User and system CPU time spent in seconds.", type: "counter", samples: [{ value: (cpu.user + cpu.system) / 1e6 }] },
      { name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds.", type: "gauge", samples: [{ value: Math.floor(startedAt / 1000) }] },
      { name: "rignode_uptime_seconds", help: "Seconds since this process started.", type: "gauge", samples: [{ value: (Date.now() - startedAt) / 1000 }] },
    ];
  };
}

/** Seconds since start, for /health and /info. */
export function uptimeSeconds(): number {
  return Math.round((Date.now() - startedAt) / 1000);
}

/** Chain, P2P and miner series, read at scrape time. */
export function nodeCollector(chain: Chain, readyPeers: () => number, miner: () => MinerView | null): () => MetricFamily[] {
  return () => {
    const tip = chain.tip();
    const out: MetricFamily[] = [
      { name: "rignode_chain_height", help: "Height of the main chain's tip.", type: "gauge", samples: [{ value: tip.height }] },
      { name: "rignode_chain_work", help: "Cumulative work of the main chain (expected hashes).", type: "gauge", samples: [{ value: Number(tip.work) }] },
      { name: "rignode_mempool_transactions", help: "Transfers waiting in the mempool.", type: "gauge", samples: [{ value: chain.mempoolSize() }] },
      { name: "rignode_p2p_peers", help: "Peers that completed the handshake.", type: "gauge", samples: [{ value: readyPeers() }] },
    ];
    const m = miner();
    if (m) {
      out.push(
        { name: "rignode_miner_hashes_total", help: "Hashes computed by the miner.", type: "counter", samples: [{ value: m.hashes }] },
        { name: "rignode_miner_hashrate_hashes_per_second", help: "Miner hashrate over a window.", type: "gauge", samples: Object.entries(m.hashrate).map(([w, v]) => ({ labels: { window: w }, value: v })) },
        { name: "rignode_miner_blocks_found_total", help: "Blocks this node's miner found that joined the chain.", type: "counter", samples: [{ value: m.blocksFound }] },
      );
    }
    return out;
  };
}

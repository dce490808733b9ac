import si from "systeminformation";
import { availableParallelism, cpus } from "node:os";

/** What the miner needs to know about the CPU; readings a machine does not give are null ("unavailable"). */
export interface CpuInfo {
  model: string;
  logicalCores: number;
  physicalCores: number | null;
}

let cached: Promise<CpuInfo> | undefined;

/** The CPU model and core counts, read once (systeminformation spawns processes: never call it on a hot path). */
export function cpuInfo(): Promise<CpuInfo> {
  cached ??= (async () => {
    const logical = availableParallelism();
    try {
      const c = await si.cpu();
      const model = [c.manufacturer, c.brand].filter((s) => s && s.trim()).join(" ").trim();
      return { model: model || fallbackModel(), logicalCores: logical, physicalCores: c.physicalCores || null };
    } catch {
      return { model: fallbackModel(), logicalCores: logical, physicalCores: null };
    }
  })();
  return cached;
}

function fallbackModel(): string {
  return cpus()[0]?.model?.trim() || "unavailable";
}

/** Threads to mine with when the operator says auto: one per logical CPU this process may use. */
export function autoThreads(): number {
  return availableParallelism();
}

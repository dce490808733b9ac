export { MiningEngine, type EngineOptions, type EngineStats, type Knob, type ThreadStats } from "./engine";
export { HashrateMeter } from "./hashrate";
export { defaultBatch } from "./batch";
export { allowedCpus, placeThreads } from "./affinity";
export { CLAIMS_DIR_ENV, CpuClaims, defaultClaimsDir } from "./cpu-claims";

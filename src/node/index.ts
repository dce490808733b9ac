export { startRole } from "./role";
export type { RunningRole } from "./role-types";
export { startWorkerRole } from "./worker-role";
export { createWallet, loadOrCreateWallet, loadOrCreateNodeKey, loadWallet, WALLET_FILE, NODE_KEY_FILE } from "./wallet";
export { runBench, type BenchOptions, type BenchResult } from "./bench";
export { runTune, type TuneOptions, type TuneResult } from "./tune";
export { threadPlacement } from "./rig";
export { exportTelemetry, parseSince, EXPORT_FORMATS, type RowEncoder } from "./telemetry-export";
export { TelemetryHistory, ROW_COLUMNS } from "./telemetry-history";

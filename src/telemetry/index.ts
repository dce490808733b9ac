// TEMPORARY (H2, t17-node): the lead replaces this file with H1's index.ts (t17-core) at merge.
export * from "./types";
export {
  Telemetry, DEFAULT_THRESHOLDS, parseThresholds, loadThresholds, BitEncoder, BlockCusum, TextbookCusum, PageHinkley,
  type Thresholds, type TelemetryOptions,
} from "./telemetry";

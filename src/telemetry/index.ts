// The telemetry layer (rank 2): samples in, scores, advisories and Prometheus series out.
export * from "./types";
export { BitEncoder, pattern } from "./bits";
export { BlockCusum, TextbookCusum, PageHinkley, BLOCK_CUSUM_DEFAULTS, type BlockCusumOptions, type Detection } from "./detectors";
export { stability, entropy, hazard, health, classOf, combine, threadBalance, type Evidence } from "./scores";
export { DEFAULT_THRESHOLDS, parseThresholds, loadThresholds, thresholdsSchema, type Thresholds } from "./thresholds";
export { advise, mergeAdvice, AdviceEpisodes, adviceKey } from "./advise";
export { Telemetry, FEATURES, type TelemetryOptions } from "./telemetry";
export * from "./parquet";

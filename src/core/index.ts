export * from "./errors";
export * from "./bytes";
export * from "./types";
export * from "./log";
export * from "./metrics";
export * from "./build-info";
export { encode, decode, encodeLoose, decodeLoose, type Value, type LooseValue } from "./msgpack";
export { fsReason, fileKind, readRegularFile, MAX_CONFIG_BYTES } from "./files";

export * from "./errors";
export * from "./bytes";
export * from "./types";
export * from "./log";
export * from "./metrics";
export * from "./build-info";
export { encode, decode, type Value } from "./msgpack";
export { encodeLoose, decodeLoose, type LooseValue } from "./loose";
export { fsReason, fileKind, readRegularFile, MAX_CONFIG_BYTES } from "./files";

export * from "./errors";
export * from "./bytes";
export * from "./types";
export * from "./log";
export * from "./metrics";
export * from "./build-info";

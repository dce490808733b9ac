// Placeholder until t17-core lands: its index.ts replaces this one and must keep the parquet line.
export * from "./types";
export * from "./parquet";

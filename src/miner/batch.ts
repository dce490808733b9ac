import type { Algo } from "../core";

/**
 * Nonces per kernel call when none is configured: about 20-50 ms of work on a fast core, so that a job change
 * or a pause is noticed quickly while the per-call overhead stays far below 1%.
 */
export function defaultBatch(algo: Algo): number {
  return algo === "sha256d" ? 1 << 20 : 1024;
}

/** Error codes shared by every layer; the edges (CLI exit code, HTTP status, Stratum code) map them once. */
export type ErrorCode =
  | "usage" // bad flag, bad argument, bad config: the operator's input
  | "config"
  | "input" // malformed data (hex, header length, frame)
  | "kernel" // the hash kernel cannot be loaded or does not fit this CPU
  | "store" // the database cannot be opened or migrated
  | "not_found" // a named thing (session, block) does not exist
  | "unavailable" // not ready yet (no job), or switched off
  | "refused" // a remote peer refused us (a pool that does not authorize the worker's user)
  | "internal";

/** The one error class of rignode: a code, a message for people, and an optional cause. */
export class RignodeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "RignodeError";
  }
}

/** CLI exit code for an error: 2 for anything the operator typed or configured, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof RignodeError && (err.code === "usage" || err.code === "config" || err.code === "input")) return 2;
  return 1;
}

/** HTTP status for an error. */
export function httpStatusFor(err: unknown): number {
  if (err instanceof RignodeError) {
    if (err.code === "usage" || err.code === "input" || err.code === "config") return 400;
    if (err.code === "not_found") return 404;
    if (err.code === "unavailable") return 503;
  }
  return 500;
}

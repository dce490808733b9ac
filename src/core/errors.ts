/** Error codes shared by every layer; the edges (CLI exit code, HTTP status, Stratum code) map them once. */
export type ErrorCode =
  | "usage" // bad flag, bad argument, bad config: the operator's input
  | "config"
  | "input" // malformed data (hex, header length, frame)
  | "kernel" // the hash kernel cannot be loaded or does not fit this CPU
  | "store" // the database cannot be opened or migrated
  | "not_found" // a named thing (session, block) does not exist
  | "unavailable" // not ready yet (no job), switched off, or not answering (a node, a daemon)
  | "busy" // held by another process: a listen port, a data dir
  | "refused" // a well-formed request the other side turned down (a node refusing a transfer)
  | "internal";

/**
 * The one error class of rignode: a code, a message for people, an optional cause, and optional details for
 * programs (the HTTP API answers them beside the message; amounts stay decimal strings of base units).
 */
export class RignodeError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, string>;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, string> }) {
    super(message, options);
    this.code = code;
    this.name = "RignodeError";
    if (options?.details) this.details = options.details;
  }
}

/** CLI exit code for an error: 2 for anything the operator typed or configured, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof RignodeError && (err.code === "usage" || err.code === "config" || err.code === "input")) return 2;
  return 1;
}

/**
 * The error for a socket that cannot listen. A port in use is a runtime failure (exit 1) whose message says which
 * flag moves it; any other failure (an address this host does not have) is the configured value's fault (exit 2).
 */
export function listenError(what: string, flag: string, host: string, port: number, cause: unknown): RignodeError {
  const shown = host.includes(":") ? `[${host}]` : host;
  if ((cause as NodeJS.ErrnoException)?.code === "EADDRINUSE") {
    const example = `${shown}:${port >= 65525 ? port - 10 : port + 10}`;
    return new RignodeError("busy", `${what} port ${shown}:${port} is in use (another rignode?); pass --${flag} HOST:PORT, e.g. --${flag} ${example}`, { cause });
  }
  return new RignodeError("config", `${what} cannot listen on ${shown}:${port}: ${(cause as Error)?.message ?? cause}; pass --${flag} HOST:PORT`, { cause });
}

/** HTTP status for an error. */
export function httpStatusFor(err: unknown): number {
  if (err instanceof RignodeError) {
    if (err.code === "usage" || err.code === "input" || err.code === "config") return 400;
    if (err.code === "not_found") return 404;
    if (err.code === "unavailable") return 503;
    // Held by another process (a port): the request conflicts with the machine's state and its message says what
    // holds what; 409, because a 5xx here would hide that message and invite blind retries.
    if (err.code === "refused" || err.code === "busy") return 409;
  }
  return 500;
}

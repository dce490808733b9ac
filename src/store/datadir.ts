import { mkdirSync, statSync } from "node:fs";
import { fsReason, RignodeError } from "../core";

/** What to do about a filesystem error on the data dir, by its code. */
function advice(code: string | undefined): string {
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `make it writable for this user (uid ${process.getuid?.() ?? "?"}) or pass --data-dir DIR`;
    case "EROFS":
      return "pass --data-dir DIR on a writable file system";
    case "ENOSPC":
    case "EDQUOT":
      return "free some space or pass --data-dir DIR on another disk";
    case "ENOTDIR":
    case "EEXIST":
      return "pass --data-dir with the path of a directory";
    default:
      return "pass --data-dir DIR on a writable local disk";
  }
}

/**
 * The one-line error for a data dir that cannot be used: the path, what failed and why, and what to do. Exit 1 (the
 * machine's state, not the flag's spelling), except for a path Node refuses as a value (a NUL byte): exit 2.
 */
export function dataDirError(dataDir: string, failed: string, cause: unknown): RignodeError {
  const code = (cause as NodeJS.ErrnoException)?.code;
  if (code === "ERR_INVALID_ARG_VALUE" || code === "ERR_INVALID_ARG_TYPE") {
    return new RignodeError("config", `--data-dir ${JSON.stringify(dataDir)} is not a usable path; pass --data-dir DIR`, { cause });
  }
  return new RignodeError("store", `data dir ${dataDir}: ${failed}: ${fsReason(cause)}; ${advice(code)}`, { cause });
}

/** Creates the data dir (mode 0700) if it is missing; anything but a directory there is a clear error. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!statSync(dataDir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (cause) {
    throw dataDirError(dataDir, "cannot be created or used as a directory", cause);
  }
}

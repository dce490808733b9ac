import { closeSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileKind, RignodeError } from "../core";
import { dataDirError, ensureDataDir } from "./datadir";

export const LOCK_FILE = "LOCK";

const gone = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "ENOENT";

/**
 * One process per data dir: the chain and the miner keep state in memory that another process writing the same
 * SQLite file would contradict. The lock file holds the owner's pid; a lock whose pid is gone is taken over.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  ensureDataDir(dataDir);
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw dataDirError(dataDir, `cannot create ${path}`, e);
      takeOverStale(dataDir, path);
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } catch (e) {
      try {
        unlinkSync(path);
      } catch {
        /* the write's error is the one to report */
      }
      throw dataDirError(dataDir, `cannot write ${path}`, e);
    } finally {
      closeSync(fd);
    }
    return {
      release() {
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new RignodeError("busy", `cannot lock data dir ${dataDir}: ${path} came back while it was taken over; is another rignode starting on it?`);
}

/** Removes a lock left by a process that died (kill -9, power loss); a live owner or a non-file there is an error. */
function takeOverStale(dataDir: string, path: string): void {
  let text: string;
  try {
    const st = lstatSync(path);
    // Only a regular file can be a lock rignode wrote; anything else is not removed behind the operator's back.
    if (!st.isFile()) throw new RignodeError("store", `${path} is ${fileKind(st)}, not rignode's lock file; remove it (rm -r ${path}) and start again`);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof RignodeError) throw e;
    if (gone(e)) return; // released meanwhile
    throw dataDirError(dataDir, `cannot read ${path}`, e);
  }
  const owner = Number(text.trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
    throw new RignodeError("busy", `data dir ${dataDir} is in use by process ${owner}; stop it or use another --data-dir`);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if (!gone(e)) throw dataDirError(dataDir, `cannot remove the stale lock ${path}`, e);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

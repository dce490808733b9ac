import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { readRegularFile, RignodeError } from "../core";
import { dataDirError } from "./datadir";

/**
 * A small file beside the database, written once when the database is first created: the proof that a database
 * existed. Without it, a database lost or truncated to 0 bytes would be taken for a first start and silently
 * replaced by a new chain and an empty ledger.
 */
export const MARKER_FILE = "rignode.meta";

/** What the marker holds: the database's file name, when it was created, and what it holds (network, genesis). */
export type Marker = { database: string; created: string } & Record<string, string>;

/** The data dir's marker, or null when it has none (a first start, or a data dir from before markers). */
export function readMarker(dataDir: string): Marker | null {
  const path = join(dataDir, MARKER_FILE);
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw dataDirError(dataDir, `cannot read ${path}`, e);
  }
  const text = readRegularFile(path, { what: "marker", maxBytes: 64 * 1024, code: "store", todo: `restore it from a backup, or move it away if ${dataDir} holds no database` });
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    m = null;
  }
  if (typeof m !== "object" || m === null || typeof (m as Marker).created !== "string") {
    throw new RignodeError("store", `marker ${path} is damaged (not rignode's JSON); restore it from a backup, or move it away if ${dataDir} holds no database`);
  }
  return m as Marker;
}

/** Writes the marker (write then rename, so that a crash never leaves half of one). */
export function writeMarker(dataDir: string, m: Marker): void {
  const path = join(dataDir, MARKER_FILE);
  try {
    // Durable before it is visible: a power cut must not leave an empty marker beside a good database.
    const fd = openSync(`${path}.tmp`, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(m, null, 1) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.tmp`, path);
    const dir = openSync(dataDir, "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (e) {
    throw dataDirError(dataDir, `cannot write ${path}`, e);
  }
}

/** The marker as a short phrase for messages: "created 2026-…, network devnet". */
export function describeMarker(m: Marker): string {
  return [`created ${m.created}`, m.network ? `network ${m.network}` : "", m.genesis ? `genesis ${m.genesis.slice(0, 16)}…` : ""].filter(Boolean).join(", ");
}

import { Database } from "bun:sqlite";
import { accessSync, constants, lstatSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileKind, fsReason } from "../core";
import { LOCK_FILE } from "./lock";
import { describeMarker, MARKER_FILE, readMarker, type Marker } from "./marker";
import { MIGRATIONS } from "./migrations";
import { DB_FILE } from "./sqlite";

/** One finding: "ok", "warn" (works, but the operator should know) or "fail" (rignode will not serve, or data is wrong). */
export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** At most this many problems are listed per check: a badly damaged file has thousands. */
const MAX_LISTED = 20;

/**
 * The full offline check of a data dir, as `rignode doctor` runs it: the directory, the lock, the marker, the whole
 * database (PRAGMA integrity_check, which also compares every index with its table, where start-up runs only
 * quick_check), its foreign keys and schema version, the main chain's links from genesis to tip, and the pool
 * ledger's amounts. The database is opened read-only: doctor may run beside a live node and never changes a byte.
 */
export function diagnose(dataDir: string, o: { sqliteLedger?: boolean } = {}): Finding[] {
  const out: Finding[] = [];
  const add = (check: string, status: Finding["status"], detail: string) => out.push({ check, status, detail });

  try {
    const st = statSync(dataDir);
    if (!st.isDirectory()) {
      add("data dir", "fail", `${dataDir} is ${fileKind(st)}, not a directory; pass --data-dir with the path of rignode's data directory`);
      return out;
    }
  } catch (e) {
    add("data dir", "fail", `${dataDir}: ${fsReason(e)}; pass --data-dir with the path of rignode's data directory`);
    return out;
  }
  try {
    accessSync(dataDir, constants.W_OK);
    add("data dir", "ok", `${dataDir} is a writable directory`);
  } catch (e) {
    add("data dir", "fail", `${dataDir} is not writable for this user (${fsReason(e)}); rignode cannot start on it: fix its permissions or owner`);
  }

  add(...lockFinding(dataDir));

  let marker: Marker | null = null;
  try {
    marker = readMarker(dataDir);
    add("marker", marker ? "ok" : "warn", marker ? `${MARKER_FILE}: ${describeMarker(marker)}` : `no ${MARKER_FILE}: a first start, or a data dir from before markers (the next start writes one)`);
  } catch (e) {
    add("marker", "fail", (e as Error).message);
  }

  const path = join(dataDir, DB_FILE);
  let size = 0;
  try {
    const st = statSync(path);
    if (!st.isFile()) {
      add("database", "fail", `${path} is ${fileKind(st)}, not a file; move it away and restore ${DB_FILE} from a backup`);
      return out;
    }
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      add("database", "fail", `${path}: ${fsReason(e)}; check its permissions`);
      return out;
    }
  }
  if (size === 0) {
    const what = statExists(path) ? "is empty (0 bytes)" : "does not exist";
    if (marker) add("database", "fail", `${path} ${what}, but ${MARKER_FILE} says one was made there; restore ${DB_FILE} from a backup, or move ${MARKER_FILE} away to start a new chain`);
    else add("database", "warn", `${path} ${what}: nothing to check (a new data dir)`);
    return out;
  }

  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
  } catch (e) {
    add("database", "fail", `${path} cannot be opened (${fsReason(e)}); check its permissions, or restore it from a backup`);
    return out;
  }
  try {
    checkDatabase(db, path, add);
    if (out.every((f) => f.check !== "integrity" || f.status === "ok")) {
      checkChain(db, marker, add);
      if (o.sqliteLedger !== false) checkLedger(db, add);
    }
  } finally {
    db.close();
  }
  return out;
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function lockFinding(dataDir: string): [string, Finding["status"], string] {
  const path = join(dataDir, LOCK_FILE);
  let text: string;
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return ["lock", "fail", `${path} is ${fileKind(st)}, not rignode's lock file; remove it (rm -r ${path}) before starting rignode`];
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return ["lock", "ok", "no rignode is running on this data dir"];
    return ["lock", "fail", `${path}: ${fsReason(e)}`];
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return ["lock", "warn", `${path} holds no pid (${JSON.stringify(text.slice(0, 20))}); the next start takes it over`];
  try {
    process.kill(pid, 0);
    return ["lock", "ok", `in use by process ${pid} (a running rignode; this check only reads)`];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPERM") return ["lock", "ok", `in use by process ${pid} (another user's)`];
    return ["lock", "warn", `left by process ${pid}, which is gone (killed or a power cut); the next start takes it over`];
  }
}

type Add = (check: string, status: Finding["status"], detail: string) => void;

function checkDatabase(db: Database, path: string, add: Add): void {
  let problems: string[];
  try {
    problems = db.query<{ integrity_check: string }, []>(`PRAGMA integrity_check(${MAX_LISTED})`).all().map((r) => r.integrity_check);
  } catch (e) {
    add("integrity", "fail", `${path} is damaged (${fsReason(e)}); restore ${DB_FILE} from a backup`);
    return;
  }
  if (problems.length === 1 && problems[0] === "ok") add("integrity", "ok", `${path}: every page, record and index checked (integrity_check)`);
  else add("integrity", "fail", `${path} is damaged: ${problems.join("; ").replace(/\s+/g, " ").slice(0, 400)}; restore ${DB_FILE} from a backup (rignode will not start on it)`);
  if (problems[0] !== "ok") return;

  const fk = db.query<Record<string, unknown>, []>("PRAGMA foreign_key_check").all();
  add("foreign keys", fk.length ? "fail" : "ok", fk.length ? `${fk.length} rows point at missing rows` : "no dangling references");

  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  let version = 0;
  try {
    version = db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get()?.v ?? 0;
  } catch {
    version = 0;
  }
  if (version > latest) add("schema", "fail", `schema version ${version} is newer than this rignode knows (${latest}); use a newer rignode`);
  else if (version < latest) add("schema", "warn", `schema version ${version}; the next start upgrades it to ${latest}`);
  else add("schema", "ok", `schema version ${version}`);
}

/** Whether a table exists (a pool-only data dir made by an upstream pool has no chain rows, but has the tables). */
function hasTable(db: Database, name: string): boolean {
  return !!db.query<{ n: string }, [string]>("SELECT name AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

/** The main chain: heights 0..tip without gaps, each block stored as 'main', each one's parent the one below it. */
function checkChain(db: Database, marker: Marker | null, add: Add): void {
  if (!hasTable(db, "main_chain")) return;
  const rows = db
    .query<{ height: number; hash: Uint8Array; prev: Uint8Array | null; status: string | null }, []>(
      "SELECT m.height, m.hash, b.prev, b.status FROM main_chain m LEFT JOIN blocks b ON b.hash = m.hash ORDER BY m.height",
    )
    .iterate();
  const bad: string[] = [];
  let expect = 0;
  let prevHash: Uint8Array | null = null;
  let genesis: string | null = null;
  for (const r of rows) {
    const hex = Buffer.from(r.hash).toString("hex");
    if (r.height === 0) genesis = hex;
    if (r.height !== expect) bad.push(`heights ${expect}..${r.height - 1} missing`);
    if (r.status === null) bad.push(`block ${r.height} (${hex.slice(0, 16)}…) is not stored`);
    else if (r.status !== "main") bad.push(`block ${r.height} is marked '${r.status}'`);
    if (r.height > 0 && prevHash && r.prev && Buffer.compare(r.prev, prevHash) !== 0) bad.push(`block ${r.height} does not build on block ${r.height - 1}`);
    prevHash = r.hash;
    expect = r.height + 1;
    if (bad.length >= MAX_LISTED) break;
  }
  if (expect === 0) return add("chain", marker?.genesis ? "warn" : "ok", "no blocks yet");
  if (marker?.genesis && genesis && marker.genesis !== genesis) {
    bad.unshift(`genesis ${genesis.slice(0, 16)}… is not the one ${MARKER_FILE} names (${marker.genesis.slice(0, 16)}…)`);
  }
  if (bad.length) add("chain", "fail", `${bad.slice(0, MAX_LISTED).join("; ")}; restore ${DB_FILE} from a backup, or resync: move ${DB_FILE} and ${MARKER_FILE} away`);
  else add("chain", "ok", `main chain linked from genesis to height ${expect - 1}`);
}

/**
 * What is wrong with a ledger's amounts, wherever it is kept (SQLite here, PostgreSQL through the pool): every carried
 * amount a decimal integer, every stored plan readable and paying exactly its total. At most MAX_LISTED problems.
 */
export function ledgerAmountProblems(carry: Iterable<{ address: Uint8Array; amount: string }>, plans: Iterable<{ height: number; plan: string }>): { problems: string[]; blocks: number } {
  const bad: string[] = [];
  for (const r of carry) {
    if (!/^\d+$/.test(r.amount)) bad.push(`carried amount ${JSON.stringify(r.amount)} for ${Buffer.from(r.address).toString("hex").slice(0, 16)}…`);
    if (bad.length >= MAX_LISTED) break;
  }
  let blocks = 0;
  for (const r of plans) {
    blocks++;
    if (bad.length >= MAX_LISTED) continue;
    try {
      const p = JSON.parse(r.plan) as { outputs?: { amount?: unknown }[]; total?: unknown };
      const sum = (p.outputs ?? []).reduce((s, o) => s + BigInt(String(o.amount)), 0n);
      if (typeof p.total !== "string" || sum !== BigInt(p.total)) bad.push(`the plan of pool block ${r.height} pays ${sum}, not its total ${String(p.total)}`);
    } catch {
      bad.push(`the plan of pool block ${r.height} is not readable`);
    }
  }
  return { problems: bad, blocks };
}

function checkLedger(db: Database, add: Add): void {
  if (!hasTable(db, "pool_carry")) return;
  const { problems, blocks } = ledgerAmountProblems(
    db.query<{ address: Uint8Array; amount: string }, []>("SELECT address, amount FROM pool_carry").iterate(),
    db.query<{ height: number; plan: string }, []>("SELECT height, plan FROM pool_blocks").iterate(),
  );
  const shares = db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
  if (problems.length) add("pool ledger", "fail", `${problems.join("; ")}; restore ${DB_FILE} from a backup`);
  else add("pool ledger", "ok", `${shares} shares, ${blocks} pool blocks, amounts consistent`);
}

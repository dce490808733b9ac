// A throwaway PostgreSQL 15 cluster on loopback for tests: initdb into a temporary directory, a free port, a socket
// directory of its own, trust authentication for the local user "rignode"; started and stopped by the test. initdb
// and postgres refuse to run as root, so as root they run as the "postgres" user (runuser). POSTGRES_BIN is null
// where the binaries are not installed: skip then.
import { SQL } from "bun";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "../helpers";

function findBin(): string | null {
  for (const v of ["17", "16", "15"]) if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  const initdb = Bun.which("initdb");
  return initdb ? initdb.slice(0, -"/initdb".length) : null;
}

export const POSTGRES_BIN: string | null = findBin();

export interface PostgresServer {
  port: number;
  /** postgres://rignode@127.0.0.1:PORT/DB */
  url(db?: string): string;
  start(): Promise<void>;
  /** A fresh, empty database on this cluster; its URL. */
  createDb(name: string): Promise<string>;
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string[]): { code: number; out: string } {
  const full = asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const p = Bun.spawnSync(full, { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

/** A PostgreSQL cluster on 127.0.0.1:port in its own temporary directory (fsync kept on: commits are real). */
export function postgresServer(port = freePort()): PostgresServer {
  const dir = mkdtempSync(join(tmpdir(), "rignode-pg-"));
  // The cluster's user must own its directory.
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  const url = (db = "postgres") => `postgres://rignode@127.0.0.1:${port}/${db}`;
  let started = false;
  return {
    port,
    url,
    async start() {
      const init = run([`${POSTGRES_BIN}/initdb`, "-D", data, "-U", "rignode", "--auth=trust", "-E", "UTF8", "--no-locale"]);
      if (init.code !== 0) throw new Error(`initdb failed: ${init.out}`);
      const s = run([`${POSTGRES_BIN}/pg_ctl`, "-D", data, "-l", join(dir, "log"), "-w", "-t", "60", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "start"]);
      if (s.code !== 0) throw new Error(`pg_ctl start failed: ${s.out}`);
      started = true;
      await waitFor(async () => {
        const c = new SQL(url(), { max: 1, connectionTimeout: 2 });
        try {
          await c`SELECT 1`;
          return true;
        } finally {
          await c.close();
        }
      }, 30_000);
    },
    async createDb(name: string) {
      const c = new SQL(url(), { max: 1 });
      try {
        await c.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await c.close();
      }
      return url(name);
    },
    async stop() {
      if (started) run([`${POSTGRES_BIN}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"]);
      started = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

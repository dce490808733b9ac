// A Debian redis-server on loopback for tests: a free port, no RDB, no AOF, its own temporary directory; started and
// stopped by the test (.ci/run installs the package). REDIS_SERVER is null where it is not installed: skip then.
import { RedisClient } from "bun";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "../helpers";

export const REDIS_SERVER: string | null = Bun.which("redis-server");

export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** redis-server on 127.0.0.1:port with no RDB and no AOF, in its own temporary directory; start again after stop. */
export function redisServer(port = freePort()): RedisServer {
  const dir = mkdtempSync(join(tmpdir(), "rignode-redis-"));
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  const url = `redis://127.0.0.1:${port}`;
  return {
    port, url,
    async start() {
      mkdirSync(dir, { recursive: true });
      proc = Bun.spawn([REDIS_SERVER!, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"], { stdout: "ignore", stderr: "ignore" });
      await waitFor(async () => {
        const c = new RedisClient(url, { autoReconnect: false, connectionTimeout: 500 });
        try {
          return (await c.send("PING", [])) === "PONG" ? true : undefined;
        } finally {
          c.close();
        }
      }, 20_000);
    },
    async stop() {
      if (!proc) return;
      proc.kill("SIGTERM");
      await proc.exited;
      proc = null;
      rmSync(dir, { recursive: true, force: true }); // nothing kept: no RDB, no AOF

    },
  };
}


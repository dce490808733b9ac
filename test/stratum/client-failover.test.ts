// The client's failover policy around its one connection: a failed connect is one attempt (one pool_down line), and
// a client.reconnect starts a clean connection: over TLS when the pool was TLS, without the old connection's work,
// and without rewriting the caller's pool list.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/core";
import { parsePoolUrl, StratumClient, type ClientOptions, type PoolWork } from "../../src/stratum";
import { makeCert } from "../pool/tls-cert";
import { waitFor } from "../helpers";

const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

const notify = (job: string) => ({ id: null, method: "mining.notify", params: [job, "00".repeat(32), "01", "02", [], "20000000", "1d00ffff", "5f5e1000", true] });

/**
 * A scripted Stratum V1 JSON pool (TLS when given a certificate): subscribe answered with `extranonce1`, authorize
 * accepted, then `afterAuth` sent.
 */
function fakePool(extranonce1: string, afterAuth: () => unknown[], tls?: { cert: string; key: string }) {
  const stats = { connects: 0 };
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls ? { tls: { cert: readFileSync(tls.cert, "utf8"), key: readFileSync(tls.key, "utf8") } } : {}),
    socket: {
      open() {
        stats.connects++;
      },
      data(s, chunk) {
        for (const line of Buffer.from(chunk).toString().split("\n").filter(Boolean)) {
          const m = JSON.parse(line);
          const send =
            m.method === "mining.subscribe" ? [{ id: m.id, result: [[["mining.notify", "s1"]], extranonce1, 4], error: null }]
            : m.method === "mining.authorize" ? [{ id: m.id, result: true, error: null }, ...afterAuth()]
            : [{ id: m.id, result: true, error: null }];
          for (const x of send) s.write(JSON.stringify(x) + "\n");
        }
      },
    },
  });
  stops.push(() => l.stop(true));
  return { port: l.port, stats };
}

function client(pools: string[], extra: Partial<ClientOptions> = {}) {
  const lines: any[] = [];
  const work: PoolWork[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const endpoints = pools.map(parsePoolUrl);
  const c = new StratumClient({ pools: endpoints, user: "ADDR.rig", password: "x", log, onWork: (w) => work.push(w), backoffMinMs: 20, backoffMaxMs: 50, handshakeTimeoutMs: 2000, ...extra });
  c.start();
  stops.push(() => c.stop());
  return { c, work, endpoints, events: (e: string) => lines.filter((l) => l.event === e) };
}

/** A port nothing listens on. */
function closedPort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

describe("stratum client: failover around one connection", () => {
  test("a pool that refuses the TCP connection is one failed attempt: one pool_down line, then the backup", async () => {
    const backup = fakePool("00000002", () => [notify("b")]);
    const dead = closedPort();
    const { c, events } = client([`stratum+tcp://127.0.0.1:${dead}`, `stratum+tcp://127.0.0.1:${backup.port}`]);
    await waitFor(() => (c.isConnected() && c.current?.port === backup.port ? true : undefined));
    // Bun reports a failed connect twice (connectError and the rejected promise); it is still one attempt.
    expect(events("worker.pool_down").map((l) => [l.reason, l.next, l.retry_ms])).toEqual([
      [expect.stringContaining(`cannot connect to 127.0.0.1:${dead}`), `127.0.0.1:${backup.port}`, 20],
    ]);
  });

  test("client.reconnect: the new connection mines only its own work, and the caller's pool list is left as given", async () => {
    const next = fakePool("0000000b", () => []); // authorizes, sends no work
    const first = fakePool("0000000a", () => [notify("from-first"), { id: null, method: "client.reconnect", params: ["127.0.0.1", next.port, 0] }]);
    const { c, work, endpoints } = client([`stratum+tcp://127.0.0.1:${first.port}`]);
    await waitFor(() => (c.isConnected() && c.current?.port === next.port ? true : undefined));
    // The first pool's job came with the move, before its authorize answer was handled: it belongs to the first
    // connection and is not mined on the new one (with the new pool's extranonce1).
    expect(work.map((w) => [w.jobId, w.extranonce1])).toEqual([]);
    expect(endpoints[0]!.port).toBe(first.port);
    expect(first.stats.connects).toBe(1);
  });

  test("client.reconnect on a TLS pool: the client moves to the new port over TLS", async () => {
    const files = makeCert(mkdtempSync(join(tmpdir(), "rignode-client-tls-")));
    const ca = readFileSync(files.cert, "utf8");
    const next = fakePool("0000000d", () => [notify("tls-next")], files);
    const first = fakePool("0000000c", () => [{ id: null, method: "client.reconnect", params: ["127.0.0.1", next.port, 0] }], files);
    const { c, work, events } = client([`stratum+ssl://127.0.0.1:${first.port}`], { tlsCa: ca });
    await waitFor(() => (work.some((w) => w.jobId === "tls-next") ? true : undefined));
    expect(c.isConnected()).toBe(true);
    expect(c.current).toMatchObject({ port: next.port, tls: true });
    expect(events("worker.connected").map((l) => [l.pool, l.tls])).toEqual([[`127.0.0.1:${first.port}`, true], [`127.0.0.1:${next.port}`, true]]);
    expect(events("worker.tls_failed")).toEqual([]);
  });
});

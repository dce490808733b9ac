// The Stratum client of rignode worker: work from the pool becomes mineable headers, shares are answered, and a
// lost pool fails over down the list and back to the first when it returns.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, leToBigInt } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, PoolServer } from "../../src/pool";
import { StratumClient, parsePoolUrl, type PoolWork } from "../../src/stratum";
import { PoolJobSource } from "../../src/node/worker";
import { Store } from "../../src/store";
import { freePort, waitFor } from "../helpers";
import { kernel } from "../chain/helpers";

const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff }; // easy: blocks found in-process in a moment
const log = createLogger({ json: true, level: "error" });
const user = encodeAddress(generateKeyPair().publicKey, params.addressVersion);
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

function pool(port: number, codec: "json" | "native") {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-cl-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash("sha256d", h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 0,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 1,
  });
  server.start();
  const l = listenStratum(server, { host: "127.0.0.1", port, codec, maxBytes: 16384, log });
  const stop = () => (l.stop(), server.stop());
  stops.push(stop);
  return { server, stop, store };
}

describe("stratum client", () => {
  test("pool addresses: HOST:PORT is native, stratum+tcp:// is JSON; anything else is refused", () => {
    expect(parsePoolUrl("127.0.0.1:3334")).toEqual({ host: "127.0.0.1", port: 3334, codec: "native" });
    expect(parsePoolUrl("stratum+tcp://pool.example:3333")).toEqual({ host: "pool.example", port: 3333, codec: "json" });
    expect(() => parsePoolUrl("http://x:1")).toThrow(/not HOST:PORT/);
    expect(() => parsePoolUrl("x:99999")).toThrow(/not HOST:PORT/);
  });

  test("work becomes headers the pool accepts: shares found with the kernel are answered true", async () => {
    const port = freePort();
    const p = pool(port, "json");
    let work: PoolWork | null = null;
    const c = new StratumClient({ pools: [parsePoolUrl(`stratum+tcp://127.0.0.1:${port}`)], user: `${user}.t`, password: "d=0.000001", log, onWork: (w) => (work = w) });
    c.start();
    stops.push(() => c.stop());
    const w = await waitFor(() => work ?? undefined);
    expect(w.difficulty).toBe(0.000001);
    const results: string[] = [];
    const src = new PoolJobSource("sha256d", (j, e, t, n) => c.submit(j, e, t, n).then((r) => (results.push(r.status), r)));
    const job = src.setWork(w)!;
    // Scan like the engine does, and hand every hit back through found().
    const hits = kernel.scan("sha256d", job.header, 0, 1 << 16, job.target);
    expect(hits.length).toBeGreaterThan(0);
    for (const n of hits.slice(0, 3)) {
      const h = new Uint8Array(job.header);
      new DataView(h.buffer).setUint32(76, n, true);
      expect(leToBigInt(kernel.hash("sha256d", h)) <= leToBigInt(job.target)).toBe(true);
      src.found({ jobId: job.id, nonce: n });
    }
    await waitFor(() => (results.length === Math.min(3, hits.length) ? true : undefined));
    // Nothing moves the tip here (no miner on the pool's chain, a share is a block ~1 time in 20,000): every share
    // found on the job is accepted; a stale answer would be a bug.
    expect(results).toEqual(hits.slice(0, 3).map(() => "accepted"));
    expect(src.counts.accepted).toBe(results.length);
    expect(p.store.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n).toBe(src.counts.accepted);
  }, 30_000);

  test("failover: the first pool down, the second used; the first back, the client returns to it", async () => {
    const first = freePort();
    const second = freePort();
    const b = pool(second, "native");
    const c = new StratumClient({
      pools: [parsePoolUrl(`127.0.0.1:${first}`), parsePoolUrl(`stratum+tcp://127.0.0.1:${second}`)].map((e, i) => (i === 1 ? { ...e, codec: "native" as const } : e)),
      user, password: "x", log, onWork: () => {}, backoffMinMs: 50, backoffMaxMs: 200, primaryRetryMs: 200,
    });
    c.start();
    stops.push(() => c.stop());
    await waitFor(() => (c.isConnected() && c.current?.port === second ? true : undefined));
    expect(b.server.conns.size).toBe(1);
    const a = pool(first, "native");
    await waitFor(() => (c.isConnected() && c.current?.port === first ? true : undefined));
    expect(a.server.conns.size).toBe(1);
    // The first goes away again: back to the second.
    a.stop();
    await waitFor(() => (c.isConnected() && c.current?.port === second ? true : undefined));
  }, 30_000);

  test("a suggested difficulty reaches the pool, and is sent again after a reconnect", async () => {
    const port = freePort();
    const p = pool(port, "native");
    const c = new StratumClient({ pools: [parsePoolUrl(`127.0.0.1:${port}`)], user, password: "x", log, onWork: () => {}, backoffMinMs: 50 });
    c.start();
    stops.push(() => c.stop());
    await waitFor(() => (c.isConnected() ? true : undefined));
    c.suggestDifficulty(0.0000025);
    await waitFor(() => ([...p.server.conns][0]?.difficulty === 0.0000025 ? true : undefined));
    for (const conn of [...p.server.conns]) conn.link.close("test");
    await waitFor(() => (c.connects === 2 && c.isConnected() && [...p.server.conns][0]?.difficulty === 0.0000025 ? true : undefined));
  }, 30_000);
});

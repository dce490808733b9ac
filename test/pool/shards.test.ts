// Stratum shards from source (the real Workers of shard-worker.ts): a shard that dies is logged and started again
// on the same port, miners get served meanwhile by the other; stopping closes every shard's port.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair } from "../../src/chain";
import { createLogger, fromHex, leToBigInt } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, difficultyToTarget, Ledger, PoolServer, shareHeader, StratumShards, swapWords, type PoolJob } from "../../src/pool";
import { MemoryBus, MemoryHub } from "../../src/pool/bus";
import { Store } from "../../src/store";
import { SharedConns } from "../../src/pool/shard-conns";
import type { ProcessCounts } from "../../src/pool/shard-tables";
import { EASY, kernel } from "../chain/helpers";
import { waitFor } from "../helpers";

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Subscribes on a fresh connection: the extranonce1 given, or null when the port refuses or closes. */
async function subscribe(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    let text = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(`{"id":1,"method":"mining.subscribe","params":["t"]}\n`),
        data: (s, d) => {
          text += d.toString();
          const line = text.split("\n").slice(0, -1).find((l) => l.includes('"id":1'));
          if (line) {
            resolve(JSON.parse(line).result[1]);
            s.end();
          }
        },
        close: () => resolve(null),
        connectError: () => resolve(null),
        error: () => resolve(null),
      },
    }).catch(() => resolve(null));
  });
}

describe("stratum shards", () => {
  test("a shard that dies is restarted (logged) on the same port; stop closes every shard's port", async () => {
    const chain = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-shards-"))), params: EASY, powHash: (h) => kernel.hash("sha256d", h) });
    const lines: any[] = [];
    const log = createLogger({ json: true, level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-shards-"))));
    const server = new PoolServer({
      source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log, poolAddress: generateKeyPair().publicKey,
      poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS }, jobRefreshSeconds: 30, instanceId: 7,
    });
    const o = server.o;
    const shards = new StratumShards({
      count: 2, server, ledger, kernelPath: kernel.path, log, logConfig: { json: true, level: "error" },
      listen: [{ key: "stratumJson", host: "127.0.0.1", port: 0, codec: "json" }],
      settings: () => ({ poolAddress: o.poolAddress, poolFeeBps: o.poolFeeBps, scheme: o.scheme, pplnsWindow: o.pplnsWindow, vardiff: o.vardiff, startDifficulty: o.startDifficulty, limits: o.limits, jobRefreshSeconds: o.jobRefreshSeconds, instanceId: o.instanceId }),
    });
    cleanup.push(() => shards.stop(), () => server.stop());
    // Counts left in a shard's column (a run before): no Worker is alive at start, so they are cleared.
    const inner = { ...(shards as unknown as { counts: ProcessCounts }).counts.conns, slots: (shards as unknown as { counts: ProcessCounts }).counts.conns.local };
    new SharedConns(inner.sab, 1).take("10.9.9.9", 0);
    expect(inner.slots.connections("10.9.9.9")).toBe(1);
    const ports = await shards.start();
    expect(inner.slots.connections("10.9.9.9")).toBe(0);
    server.start();
    const port = ports.stratumJson!;
    expect(port).toBeGreaterThan(0);
    // extranonce1: the instance, then the shard's index in the high nibble of the second byte.
    const en1 = await subscribe(port);
    expect(en1).toMatch(/^07[12]/);
    await waitFor(() => (shards.list().every((s) => s.job === "1") ? true : undefined));

    (shards as unknown as { shards: Map<number, { worker: Worker }> }).shards.get(1)!.worker.terminate();
    const restarted = await waitFor(() => lines.find((l) => l.event === "pool.shard_restarted"));
    expect(restarted).toMatchObject({ shard: 1, restarts: 1 });
    await waitFor(() => (shards.list().find((s) => s.shard === 1)?.listening && shards.list().find((s) => s.shard === 1)?.job === "1" ? true : undefined));
    expect(shards.list().map((s) => [s.shard, s.restarts])).toEqual([[1, 1], [2, 0]]);
    // Served again on the same port, by either shard.
    for (let i = 0; i < 10; i++) expect(await subscribe(port)).toMatch(/^07[12]/);

    // A miner held on a shard: its slot counts until that shard's Worker has ended, then it is given back.
    const held = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    await waitFor(() => (inner.slots.connections("127.0.0.1") === 1 ? true : undefined));
    await shards.stop();
    expect(inner.slots.connections("127.0.0.1")).toBe(0);
    held.end();
    expect(await subscribe(port)).toBeNull();
  }, 60_000);
});

/** A pool server on a fresh chain and ledger with `count` shards on one port (JSON codec). */
/** A sharded pool on an in-memory bus beside one other instance, everything started (`before`: set before the start). */
async function besideOther(before?: (server: PoolServer) => void) {
  const hub = new MemoryHub();
  const mine = new MemoryBus(hub, "mine");
  const other = new MemoryBus(hub, "other");
  const { server, shards } = pool({}, mine);
  before?.(server);
  const ports = await shards.start();
  server.start();
  await mine.start();
  await other.start();
  return { other, server, shards, ports };
}

function pool(extra: { startDeadlineMs?: number } = {}, bus?: MemoryBus) {
  const chain = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-shards-"))), params: EASY, powHash: (h) => kernel.hash("sha256d", h) });
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "info", write: (l) => lines.push(JSON.parse(l)) });
  const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-shards-"))));
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log, poolAddress: generateKeyPair().publicKey,
    poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS }, jobRefreshSeconds: 30, instanceId: 7,
    ...(bus ? { bus } : {}),
  });
  const o = server.o;
  const shards = new StratumShards({
    count: 2, server, ledger, kernelPath: kernel.path, log, logConfig: { json: true, level: "error" }, ...extra,
    listen: [{ key: "stratumJson", host: "127.0.0.1", port: 0, codec: "json" }],
    settings: () => ({ poolAddress: o.poolAddress, poolFeeBps: o.poolFeeBps, scheme: o.scheme, pplnsWindow: o.pplnsWindow, vardiff: o.vardiff, startDifficulty: o.startDifficulty, limits: o.limits, jobRefreshSeconds: o.jobRefreshSeconds, instanceId: o.instanceId }),
  });
  cleanup.push(() => shards.stop(), () => server.stop());
  return { server, shards, ledger, lines, inner: shards as unknown as { o: { kernelPath: string }; shards: Map<number, { worker: Worker }> } };
}

describe("stratum shards that cannot start", () => {
  test("a restart that fails is ended and tried again with backoff until the shard listens", async () => {
    const { shards, lines, inner } = pool();
    await shards.start();
    inner.o.kernelPath = "/nonexistent/kernel.so"; // every start now fails (the kernel does not load)
    inner.shards.get(1)!.worker.terminate();
    await waitFor(() => (lines.filter((l) => l.event === "pool.shard_start_failed" && l.shard === 1).length >= 2 ? true : undefined), 20_000);
    inner.o.kernelPath = kernel.path;
    await waitFor(() => (shards.list().find((s) => s.shard === 1)?.listening ? true : undefined), 20_000);
    expect(lines.filter((l) => l.event === "pool.shard_restarted" && l.shard === 1).length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  test("a shard that never listens (its ledger read hangs) is ended at the deadline and start() rejects", async () => {
    const { shards, ledger } = pool({ startDeadlineMs: 1500 });
    ledger.backend.migrate = () => new Promise<number>(() => {}) as never;
    await expect(shards.start()).rejects.toThrow(/did not listen within 1500 ms/);
    await shards.stop(); // resolves: every Worker ended
    expect(shards.list()).toEqual([]);
  }, 60_000);
});

describe("stratum shards behind a bus", () => {
  test("a ban and then an unban from another instance hold on every shard", async () => {
    const { other, server, shards, ports } = await besideOther();
    const port = ports.stratumJson!;
    expect(await subscribe(port)).toMatch(/^07[12]/);
    other.publishBan({ subject: "127.0.0.1", ip: "127.0.0.1", worker: null, until: Date.now() + 600_000, reason: "test" });
    // Refused by both shards (several tries: the kernel spreads connections over them).
    await waitFor(async () => ((await Promise.all([1, 2, 3, 4, 5, 6].map(() => subscribe(port)))).every((r) => r === null) ? true : undefined));
    other.publishUnban("127.0.0.1");
    await waitFor(async () => ((await Promise.all([1, 2, 3, 4, 5, 6].map(() => subscribe(port)))).every((r) => r !== null) ? true : undefined));
    expect(server.bans()).toEqual([]);
  }, 60_000);
});

describe("the process's health with shards", () => {
  test("the instance's member health counts every shard's connections; a shard's ledger failure fails /health and storage_ok", async () => {
    const hub = new MemoryHub();
    const mine = new MemoryBus(hub, "mine");
    const { server, shards } = pool({}, mine);
    const ports = await shards.start();
    server.start();
    await mine.start();
    const held = await Bun.connect({ hostname: "127.0.0.1", port: ports.stratumJson!, socket: { data() {} } });
    cleanup.push(() => void held.end());
    const h = await waitFor(() => mine.members().find((m) => m.connections === 1 && m.shards?.length === 2));
    expect(h.shards!.reduce((n, s) => n + s.connections, 0)).toBe(1);
    expect(server.health().ok).toBe(true);
    // What a shard whose every share the ledger refuses reports (its storage problem), through the main thread's handler.
    const inner = shards as unknown as { shards: Map<number, any>; onMessage(sh: unknown, m: unknown): void };
    const sh = inner.shards.get(1)!;
    inner.onMessage(sh, { t: "health", h: { ...sh.health, problems: ["storage: the ledger did not commit"] }, x: { ...sh.extra, latencies: [], storage: "the ledger did not commit" } });
    expect(server.health()).toMatchObject({ ok: false, problems: ["stratum shard 1: storage: the ledger did not commit"] });
    const m = server.report.metrics().find((f) => f.name === "rignode_pool_storage_ok")!;
    expect(m.samples[0]!.value).toBe(0);
  }, 60_000);
});

describe("the process's counters with shards", () => {
  test("a restarted shard's counters and blocks stay in the totals (counters never go backwards)", async () => {
    const { server, shards, lines } = pool();
    await shards.start();
    server.start();
    const inner = shards as unknown as { shards: Map<number, any>; onMessage(sh: unknown, m: unknown): void };
    const sh = await waitFor(() => (inner.shards.get(1)?.extra ? inner.shards.get(1) : undefined));
    // What shard 1 last reported before it died: 5 accepted shares, one refused, a block it found.
    inner.onMessage(sh, { t: "health", h: { ...sh.health, accepted: 5, rejected: 1 }, x: { ...sh.extra, latencies: [], acceptedDifficulty: 5, rejectedBy: { "low difficulty": 1 }, blocks: 1 } });
    const blocks = () => server.report.metrics().find((f) => f.name === "rignode_pool_blocks_found_total")!.samples[0]!.value;
    expect(blocks()).toBe(1);
    expect(shards.totals().accepted).toBe(5);
    sh.worker.terminate();
    await waitFor(() => lines.find((l) => l.event === "pool.shard_restarted"));
    await waitFor(() => (inner.shards.get(1)?.extra ? true : undefined));
    expect(shards.totals()).toMatchObject({ accepted: 5, acceptedDifficulty: 5, rejected: { "low difficulty": 1 }, blocks: 1 });
    expect(blocks()).toBe(1);
    expect(server.stats(false).shares.accepted).toBe(5);
  }, 60_000);
});

describe("connections per IP across instances with shards", () => {
  test("the other instances see this instance's shard connections, and the shards count theirs against the cap", async () => {
    const { other, server, shards, ports } = await besideOther();
    const port = ports.stratumJson!;
    const held = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    cleanup.push(() => void held.end());
    await waitFor(() => (other.othersConnections("127.0.0.1") === 1 ? true : undefined));
    // The other instance holds the cap's worth from this IP: no shard admits one more.
    other.setLocalConnections("127.0.0.1", server.o.limits.maxPerIp);
    await waitFor(async () => ((await Promise.all([1, 2, 3, 4].map(() => subscribe(port)))).every((r) => r === null) ? true : undefined));
    other.setLocalConnections("127.0.0.1", 0);
    await waitFor(async () => ((await Promise.all([1, 2, 3, 4].map(() => subscribe(port)))).every((r) => r !== null) ? true : undefined));
  }, 60_000);
});

/** Subscribes and authorizes `user` on a fresh connection: its answer to the authorize (kept open until the test ends). */
async function authorize(port: number, user: string): Promise<{ result: unknown; error: unknown }> {
  return new Promise((resolve, reject) => {
    let text = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => {
          cleanup.push(() => void s.end());
          s.write(`{"id":1,"method":"mining.subscribe","params":["t"]}\n{"id":2,"method":"mining.authorize","params":["${user}","x"]}\n`);
        },
        data: (_s, d) => {
          text += d.toString();
          const line = text.split("\n").slice(0, -1).find((l) => l.includes('"id":2'));
          if (line) resolve(JSON.parse(line));
        },
        close: () => reject(new Error("closed before the authorize was answered")),
      },
    }).catch(reject);
  });
}

describe("distinct workers per IP across instances with shards", () => {
  test("the other instances see this instance's shard workers, and the shards count theirs against the cap", async () => {
    const { other, server, shards, ports } = await besideOther((sv) => (sv.o.limits.maxWorkersPerIp = 4));
    const port = ports.stratumJson!;
    const address = encodeAddress(generateKeyPair().publicKey, EASY.addressVersion);
    for (const n of ["a", "b"]) expect((await authorize(port, `${address}.${n}`)).result).toBe(true);
    // Whichever shards they landed on, the instance publishes the process's count.
    await waitFor(() => (other.othersWorkers("127.0.0.1") === 2 ? true : undefined));
    // The other instance holds 2 more: the cap (4) is reached on every shard (copied into the table within a second).
    other.setLocalWorkers("127.0.0.1", 2);
    const table = (shards as unknown as { counts: ProcessCounts }).counts.workers.local;
    await waitFor(() => (table.connections("127.0.0.1") === 4 ? true : undefined));
    const refused = await Promise.all(["c", "d", "e", "f"].map((n) => authorize(port, `${address}.${n}`)));
    for (const r of refused) expect(JSON.stringify(r.error)).toContain("too many workers from 127.0.0.1 (4)");
    other.setLocalWorkers("127.0.0.1", 0);
    await waitFor(() => (table.connections("127.0.0.1") === 2 ? true : undefined));
    expect((await authorize(port, `${address}.g`)).result).toBe(true);
    expect((await authorize(port, `${address}.h`)).result).toBe(true);
    expect(JSON.stringify((await authorize(port, `${address}.i`)).error)).toContain("too many workers from 127.0.0.1 (4)");
  }, 60_000);
});

describe("distinct workers per IP on a shard that dies", () => {
  test("its columns are cleared by the main thread: its workers and connections no longer count, here or on the other instances", async () => {
    const { other, server, shards, ports } = await besideOther();
    const table = (shards as unknown as { counts: ProcessCounts }).counts.workers.local;
    const address = encodeAddress(generateKeyPair().publicKey, EASY.addressVersion);
    expect((await authorize(ports.stratumJson!, `${address}.held`)).result).toBe(true);
    expect(table.connections("127.0.0.1")).toBe(1);
    await waitFor(() => (other.othersWorkers("127.0.0.1") === 1 && other.othersConnections("127.0.0.1") === 1 ? true : undefined));
    const on = await waitFor(() => shards.list().find((s) => s.workers === 1));
    (shards as unknown as { shards: Map<number, { worker: Worker }> }).shards.get(on.shard as number)!.worker.terminate();
    await waitFor(() => (table.connections("127.0.0.1") === 0 ? true : undefined));
    // Told again when the column was cleared (no worker event for that IP follows): not counted on for ever.
    await waitFor(() => (other.othersWorkers("127.0.0.1") === 0 && other.othersConnections("127.0.0.1") === 0 ? true : undefined));
  }, 60_000);
});

describe("the ledger's commit deadline on shards", () => {
  test("commit_timeout reaches the shards: a commit that never lands refuses the share at the configured deadline, not the built-in 10 s", async () => {
    const { server, shards, ledger } = pool();
    ledger.commitTimeoutMs = 700; // what --ledger …?commit_timeout= sets on the process's ledger
    ledger.backend.insertShares = () => new Promise(() => {}) as never; // a database that stops answering
    const ports = await shards.start();
    server.start();
    await waitFor(() => (shards.list().every((s) => s.job !== null) ? true : undefined));
    const address = encodeAddress(generateKeyPair().publicKey, EASY.addressVersion);
    const lines: any[] = [];
    let text = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: ports.stratumJson!,
      socket: {
        data: (_s, d) => {
          text += d.toString();
          const all = text.split("\n");
          text = all.pop()!;
          lines.push(...all.filter(Boolean).map((l) => JSON.parse(l)));
        },
      },
    });
    cleanup.push(() => void sock.end());
    sock.write(`{"id":1,"method":"mining.subscribe","params":["t"]}\n{"id":2,"method":"mining.authorize","params":["${address}.r","x"]}\n`);
    const en1 = (await waitFor(() => lines.find((l) => l.id === 1)?.result)).at(1) as string;
    const n = (await waitFor(() => lines.find((l) => l.method === "mining.notify"))).params;
    const job = { coinb1: fromHex(n[2]), coinb2: fromHex(n[3]), branch: (n[4] as string[]).map((b) => fromHex(b)), work: { header: { version: parseInt(n[5], 16), prevHash: swapWords(fromHex(n[1])), bits: parseInt(n[6], 16) } } } as unknown as PoolJob;
    const diff = (lines.filter((l) => l.method === "mining.set_difficulty").at(-1)?.params[0] as number) ?? 1;
    const target = difficultyToTarget(diff, "sha256d");
    let nonce = 0;
    const at = (k: number) => shareHeader(job, fromHex(en1), { extranonce2: "00000001", ntime: n[7], nonce: k.toString(16).padStart(8, "0") }, 0);
    while (leToBigInt(kernel.hash("sha256d", at(nonce).bytes)) > target) nonce++;
    sock.write(`{"id":3,"method":"mining.submit","params":["${address}.r","${n[0]}","00000001","${n[7]}","${nonce.toString(16).padStart(8, "0")}"]}\n`);
    const answer = await waitFor(() => lines.find((l) => l.id === 3), 20_000);
    // Refused, never acknowledged: the shard's ledger gave up at the process's deadline (its message names it).
    expect(answer.result).not.toBe(true);
    expect(JSON.stringify(answer.error)).not.toBe("null");
    const problem = await waitFor(() => server.health().problems.find((p) => p.startsWith("stratum shard")));
    expect(problem).toContain("did not commit within 700 ms");
  }, 60_000);
});

// Bounded pool state (issue 13, item 5): workers per connection and per IP are capped with a clear Stratum error
// that is not an invalid share, and worker records of connections that sent nothing go when they close. Item 8: a
// refused connection's log line names its IP, and a reset storm never logs or counts an "undefined" IP.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, PoolServer } from "../../src/pool";
import { MAX_IDLE_WORKER_RECORDS } from "../../src/pool/server";
import { newWorkerStats } from "../../src/pool/stats";
import { Guard, MAX_STRIKE_SUBJECTS } from "../../src/pool/guard";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";

const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const userA = encodeAddress(generateKeyPair().publicKey, params.addressVersion);
const userB = encodeAddress(generateKeyPair().publicKey, params.addressVersion);
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

function startPool(limits: Partial<typeof DEFAULT_LIMITS> = {}) {
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-bounds-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 100,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, ...limits }, jobRefreshSeconds: 30, instanceId: 7,
  });
  server.start();
  const json = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: 16 * 1024, log });
  stops.push(() => (json.stop(), server.stop()));
  return { server, port: json.port, lines };
}

/** A JSON-line client that collects every message; `closed` resolves when the pool hangs up. */
async function client(port: number, host = "127.0.0.1") {
  const got: any[] = [];
  let text = "";
  let onClose!: () => void;
  const closed = new Promise<void>((r) => (onClose = r));
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        text += chunk.toString();
        const lines = text.split("\n");
        text = lines.pop()!;
        for (const l of lines) if (l.trim()) got.push(JSON.parse(l));
      },
      close: () => onClose(),
      error: () => onClose(),
    },
  });
  const send = (m: unknown) => socket.write(JSON.stringify(m) + "\n");
  const answers = async (ids: number[], ms = 20_000) => {
    const end = Date.now() + ms;
    const want = new Set(ids);
    for (;;) {
      const out = got.filter((m) => want.has(m.id) && "result" in m);
      if (out.length >= want.size) return out;
      if (Date.now() > end) throw new Error(`${out.length} of ${want.size} answers`);
      await Bun.sleep(5);
    }
  };
  return { socket, got, send, answers, closed };
}

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("worker caps", () => {
  test("past 256 workers on one connection an authorize is refused with code 24 naming the cap; nothing counts as invalid; the records go on disconnect", async () => {
    const { server, port, lines } = startPool();
    const c = await client(port);
    c.send({ id: 1, method: "mining.subscribe", params: ["flood/1"] });
    // Pipelined in one write, as the flood did.
    c.socket.write(ids(10, 300).map((id) => JSON.stringify({ id, method: "mining.authorize", params: [`${userA}.w${id}`, "x"] }) + "\n").join(""));
    const got = await c.answers(ids(10, 300));
    const ok = got.filter((m) => m.result === true);
    const refused = got.filter((m) => m.error);
    expect(ok).toHaveLength(256);
    expect(refused).toHaveLength(44);
    expect(refused.every((m) => m.error[0] === 24 && m.error[1] === "too many workers on this connection (256)")).toBe(true);
    // A worker already on the connection is authorized again without counting twice.
    c.send({ id: 400, method: "mining.authorize", params: [`${userA}.w10`, "x"] });
    expect((await c.answers([400]))[0].result).toBe(true);
    expect(server.workersFrom("127.0.0.1")).toBe(256);
    expect(server.workers.size).toBe(256);
    expect(server.stats().shares.rejected).toEqual({});
    expect(server.bans()).toHaveLength(0);
    // Logged once for the connection, not once per refusal.
    expect(lines.filter((l) => l.event === "pool.workers_capped")).toHaveLength(1);
    expect(lines.find((l) => l.event === "pool.workers_capped").ip).toBe("127.0.0.1");
    c.socket.end();
    await c.closed;
    for (let i = 0; i < 200 && server.conns.size; i++) await Bun.sleep(10);
    expect(server.conns.size).toBe(0);
    // Workers that never sent a share leave nothing behind.
    expect(server.workers.size).toBe(0);
    expect(server.workersFrom("127.0.0.1")).toBe(0);
  });

  test("workers per IP are capped across connections (distinct names; the same name on two connections counts once), and freed when they close", async () => {
    const { server, port } = startPool({ maxWorkersPerConn: 8, maxWorkersPerIp: 12 });
    const a = await client(port);
    const b = await client(port);
    a.socket.write(ids(1, 8).map((id) => JSON.stringify({ id, method: "mining.authorize", params: [`${userA}.a${id}`, "x"] }) + "\n").join(""));
    expect((await a.answers(ids(1, 8))).every((m) => m.result === true)).toBe(true);
    // b: the same name as on a (counts once), then 4 new ones fit (12), the 5th does not.
    b.send({ id: 20, method: "mining.authorize", params: [`${userA}.a1`, "x"] });
    b.socket.write(ids(21, 5).map((id) => JSON.stringify({ id, method: "mining.authorize", params: [`${userB}.b${id}`, "x"] }) + "\n").join(""));
    const got = await b.answers([20, ...ids(21, 5)]);
    expect(got.filter((m) => m.result === true)).toHaveLength(5);
    const no = got.find((m) => m.error);
    expect(no.id).toBe(25);
    expect(no.error).toEqual([24, "too many workers from 127.0.0.1 (12)", null]);
    expect(server.workersFrom("127.0.0.1")).toBe(12);
    expect(server.settings()).toMatchObject({ max_workers_per_conn: 8, max_workers_per_ip: 12 });
    a.socket.end();
    await a.closed;
    for (let i = 0; i < 200 && server.conns.size > 1; i++) await Bun.sleep(10);
    // a1 is still open on b: it stays counted; a's other 7 are freed, so b can take more.
    expect(server.workersFrom("127.0.0.1")).toBe(5);
    b.send({ id: 30, method: "mining.authorize", params: [`${userB}.again`, "x"] });
    expect((await b.answers([30]))[0].result).toBe(true);
    b.socket.end();
  });
});

describe("records that outlive their connections are bounded", () => {
  test("past 10,000 disconnected workers with shares, the longest idle are forgotten at the next sweep; connected ones stay", () => {
    const { server } = startPool();
    const now = Date.now();
    const n = MAX_IDLE_WORKER_RECORDS + 500;
    for (let i = 0; i < n; i++) {
      const w = newWorkerStats(`${userA}.old${i}`, userA, now - 3_600_000);
      w.accepted = 1;
      w.lastShare = now - 3_600_000 + i; // old0 is the longest idle
      server.workers.set(w.user, w);
    }
    const live = newWorkerStats(`${userB}.live`, userB, now - 7_200_000);
    live.openSince.push(now - 7_200_000);
    server.workers.set(live.user, live);
    (server as unknown as { sweep(): void }).sweep();
    expect(server.workers.size).toBe(MAX_IDLE_WORKER_RECORDS + 1);
    expect(server.workers.has(live.user)).toBe(true);
    expect(server.workers.has(`${userA}.old0`)).toBe(false);
    expect(server.workers.has(`${userA}.old499`)).toBe(false);
    expect(server.workers.has(`${userA}.old500`)).toBe(true);
  });

  test("the guard remembers strikes of at most 65,536 addresses (an IPv6 sweep cannot grow it), the most recent kept", () => {
    const g = new Guard({ maxPerIp: 0, banSeconds: 3600 }, Date.now);
    for (let i = 0; i < MAX_STRIKE_SUBJECTS + 100; i++) g.protocolAbuse(`2001:db8::${i.toString(16)}`, "junk");
    const abuse = (g as unknown as { abuse: Map<string, unknown> }).abuse;
    expect(abuse.size).toBe(MAX_STRIKE_SUBJECTS);
    expect(abuse.has("2001:db8::0")).toBe(false);
    expect(abuse.has(`2001:db8::${(MAX_STRIKE_SUBJECTS + 99).toString(16)}`)).toBe(true);
  });
});

describe("log lines name the IP", () => {
  test("a refused connection's log line carries its IP", async () => {
    const { port, lines } = startPool({ maxPerIp: 1 });
    const a = await client(port);
    const b = await client(port);
    await b.closed;
    const refused = lines.filter((l) => l.event === "stratum.refused");
    expect(refused).toHaveLength(1);
    expect(refused[0].ip).toBe("127.0.0.1");
    expect(refused[0].reason).toBe("more than 1 connections from 127.0.0.1");
    a.socket.end();
  });

  test("a reset storm (connections reset before the pool accepts them) logs no line without an IP and takes no connection slot", async () => {
    const { server, port, lines } = startPool({ maxPerIp: 4 });
    const held = await client(port);
    // The storm runs while this process is blocked (spawnSync): every connection is reset in the accept queue.
    const script = join(mkdtempSync(join(tmpdir(), "rignode-storm-")), "storm.ts");
    writeFileSync(
      script,
      `import { connect } from "node:net";
let done = 0;
const end = () => ++done === 100 && process.exit(0);
for (let i = 0; i < 100; i++) {
  // Half send a bad line first: the pool reads it after the reset and closes a connection whose peer is gone.
  const c = connect(${port}, "127.0.0.1", () => (i % 2 && c.write("not json\\n"), c.resetAndDestroy(), end()));
  c.on("error", end);
}
setTimeout(() => process.exit(0), 10_000);
`,
    );
    expect(Bun.spawnSync([process.execPath, script]).exitCode).toBe(0);
    for (let i = 0; i < 100 && !lines.some((l) => l.event === "stratum.reset_before_open"); i++) await Bun.sleep(10);
    await Bun.sleep(100);
    const stratum = lines.filter((l) => l.event.startsWith("stratum.") && l.event !== "stratum.listening" && l.event !== "stratum.reset_before_open");
    expect(stratum.every((l) => typeof l.ip === "string" && l.ip.length > 0)).toBe(true);
    // Only the held connection counts: a reset storm never fills a shared slot.
    expect(server.guard.connections("127.0.0.1")).toBe(1);
    expect(server.guard.connections("undefined")).toBe(0);
    expect(server.conns.size).toBe(1);
    expect(lines.some((l) => l.event === "stratum.reset_before_open")).toBe(true);
    // And a real miner still gets in.
    const next = await client(port);
    next.send({ id: 1, method: "mining.subscribe", params: [] });
    expect((await next.answers([1]))[0].result).toBeTruthy();
    held.socket.end();
    next.socket.end();
  });
});

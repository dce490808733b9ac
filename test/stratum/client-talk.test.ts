// The Stratum client says what the pool says: a ban (and keeps away until it ends), client.show_message, an
// authorization refusal (and gives up after a few unless told not to), and the other protocol on the port.
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, RignodeError } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, PoolServer } from "../../src/pool";
import { parseBan, parsePoolUrl, StratumClient, stratumErrorText, type ClientOptions } from "../../src/stratum";
import { Store } from "../../src/store";
import { waitFor } from "../helpers";
import { kernel } from "../chain/helpers";

const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

const NOTIFY = { id: null, method: "mining.notify", params: ["1", "00".repeat(32), "01", "02", [], "20000000", "1d00ffff", "5f5e1000", true] };

/** A scripted Stratum V1 JSON server: `reply` answers each message (lines to send, and whether to close after). */
function fakePool(reply: (m: any, n: { connects: number }) => { send?: unknown[]; close?: boolean } | void, onOpen?: (s: Socket<unknown>) => void) {
  const stats = { connects: 0, messages: [] as any[] };
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        stats.connects++;
        onOpen?.(s as Socket<unknown>);
      },
      data(s, chunk) {
        for (const line of Buffer.from(chunk).toString().split("\n").filter(Boolean)) {
          let m: any;
          try {
            m = JSON.parse(line);
          } catch {
            continue; // not JSON (a native frame): a generic Stratum V1 pool says nothing
          }
          stats.messages.push(m);
          const r = reply(m, stats) ?? {};
          for (const x of r.send ?? []) s.write(JSON.stringify(x) + "\n");
          if (r.close) s.end();
        }
      },
    },
  });
  stops.push(() => l.stop(true));
  return { port: l.port, stats };
}

/** Subscribe answered, authorize accepted, one job: a pool that works. */
function normal(m: any): { send: unknown[] } {
  if (m.method === "mining.subscribe") return { send: [{ id: m.id, result: [[["mining.notify", "s1"]], "00000001", 4], error: null }] };
  if (m.method === "mining.authorize") return { send: [{ id: m.id, result: true, error: null }, { id: null, method: "mining.set_difficulty", params: [0.5] }, NOTIFY] };
  return { send: [{ id: m.id, result: true, error: null }] };
}

function client(pools: string[], extra: Partial<ClientOptions> = {}) {
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const c = new StratumClient({ pools: pools.map(parsePoolUrl), user: "ADDR.rig", password: "x", log, onWork: () => {}, backoffMinMs: 20, backoffMaxMs: 50, handshakeTimeoutMs: 300, ...extra });
  c.start();
  stops.push(() => c.stop());
  return { c, lines, events: (e: string) => lines.filter((l) => l.event === e) };
}

describe("stratum client: what the pool says", () => {
  test("ban texts and error shapes", () => {
    expect(parseBan("Banned: 65 of 100 shares invalid (3600 s)")).toEqual({ reason: "65 of 100 shares invalid", seconds: 3600 });
    expect(parseBan("Banned: More than 100 shares per second (60s)")).toEqual({ reason: "More than 100 shares per second", seconds: 60 });
    expect(parseBan("Banned worker A.rig: 30 of 100 shares invalid (59 s left)")).toEqual({ reason: "worker A.rig: 30 of 100 shares invalid", seconds: 59 });
    expect(parseBan("banned")).toEqual({ reason: "no reason given", seconds: null });
    expect(parseBan("Banned: flooding")).toEqual({ reason: "flooding", seconds: null });
    expect(parseBan("Low difficulty share")).toBeNull();
    expect(parseBan("Unbanned soon")).toBeNull();
    expect(stratumErrorText([24, "Unauthorized worker", null])).toEqual({ code: 24, message: "Unauthorized worker" });
    expect(stratumErrorText("Stale")).toEqual({ code: null, message: "Stale" });
  });

  test("client.show_message is logged at warn as worker.pool_message", async () => {
    const pool = fakePool((m) => {
      const r = normal(m);
      if (m.method === "mining.authorize") r.send.push({ id: null, method: "client.show_message", params: ["Maintenance at 12:00 UTC"] });
      return r;
    });
    const { events } = client([`stratum+tcp://127.0.0.1:${pool.port}`]);
    const [line] = await waitFor(() => (events("worker.pool_message").length ? events("worker.pool_message") : undefined));
    expect(line).toMatchObject({ level: "warn", pool: `127.0.0.1:${pool.port}`, via: "show_message", message: "Maintenance at 12:00 UTC" });
    expect(events("worker.banned")).toEqual([]);
  });

  test("a ban on connect (show_message, then close) is shown as a ban and the pool is not asked again before it ends", async () => {
    const pool = fakePool(() => {}, (s) => {
      s.write(JSON.stringify({ id: null, method: "client.show_message", params: ["Banned: 65 of 100 shares invalid (3600 s)"] }) + "\n");
      s.end();
    });
    const { events } = client([`127.0.0.1:${pool.port}`].map((p) => `stratum+tcp://${p}`));
    const down = await waitFor(() => events("worker.pool_down")[0]);
    expect(events("worker.banned")).toEqual([expect.objectContaining({ level: "warn", reason: "65 of 100 shares invalid", seconds: 3600, pool: `127.0.0.1:${pool.port}` })]);
    // The retry waits for the ban to end (the normal backoff here is 20-50 ms).
    expect(down.retry_ms).toBeGreaterThan(3_590_000);
    expect(down.retry_ms).toBeLessThanOrEqual(3_600_000);
    expect(pool.stats.connects).toBe(1);
    // Closed after a message: no protocol hint.
    expect(events("worker.wrong_protocol")).toEqual([]);
  });

  test("a ban without a duration: normal backoff; with a failover list the next pool is used at once", async () => {
    const banning = fakePool(() => {}, (s) => {
      s.write(JSON.stringify({ id: null, method: "client.show_message", params: ["Banned: too many invalid shares"] }) + "\n");
      s.end();
    });
    const good = fakePool(normal);
    const { c, events } = client([`stratum+tcp://127.0.0.1:${banning.port}`, `stratum+tcp://127.0.0.1:${good.port}`]);
    await waitFor(() => (c.isConnected() ? true : undefined));
    expect(events("worker.banned")[0]).toMatchObject({ reason: "too many invalid shares" });
    expect(events("worker.banned")[0].seconds).toBeUndefined();
    expect(events("worker.pool_down")[0].retry_ms).toBe(20);
    expect(c.current?.port).toBe(good.port);
  });

  test("a ban answering a share (error 20 + show_message + close): the share is rejected with the reason, the ban logged once", async () => {
    const text = "Banned: 12 of 100 shares invalid (60 s)";
    const pool = fakePool((m) => (m.method === "mining.submit" ? { send: [{ id: m.id, result: null, error: [20, text, null] }, { id: null, method: "client.show_message", params: [text] }], close: true } : normal(m)));
    const { c, events } = client([`stratum+tcp://127.0.0.1:${pool.port}`]);
    await waitFor(() => (c.isConnected() ? true : undefined));
    const r = await c.submit("1", "00000000", "5f5e1000", "00000001");
    expect(r).toEqual({ status: "rejected", code: 20, message: text });
    const down = await waitFor(() => events("worker.pool_down")[0]);
    expect(events("worker.banned")).toEqual([expect.objectContaining({ reason: "12 of 100 shares invalid", seconds: 60 })]);
    expect(down.retry_ms).toBeGreaterThan(55_000);
  });

  test("authorization refused: the reason logged each time; after 3 refusals across the failover list the client stops and reports it", async () => {
    const reason = "'ADDR' is not a payout address of network devnet (ADDRESS[.NAME])";
    const refuse = (m: any) => (m.method === "mining.authorize" ? { send: [{ id: m.id, result: null, error: [24, reason, null] }] } : normal(m));
    const a = fakePool(refuse);
    const b = fakePool(refuse);
    let fatal: RignodeError | null = null;
    const { c, events } = client([`stratum+tcp://127.0.0.1:${a.port}`, `stratum+tcp://127.0.0.1:${b.port}`], { maxAuthFailures: 3, onFatal: (e) => (fatal = e) });
    const e = await waitFor(() => fatal ?? undefined);
    expect(e.code).toBe("refused");
    expect(e.message).toContain(reason);
    expect(e.message).toContain("--retry-forever");
    expect(events("worker.unauthorized").map((l) => [l.pool, l.code, l.reason, l.attempt])).toEqual([
      [`127.0.0.1:${a.port}`, 24, reason, "1/3"],
      [`127.0.0.1:${b.port}`, 24, reason, "2/3"],
      [`127.0.0.1:${a.port}`, 24, reason, "3/3"],
    ]);
    // Stopped: no further connection however long the backoff would have been.
    await Bun.sleep(200);
    expect(a.stats.connects + b.stats.connects).toBe(3);
    expect(c.isConnected()).toBe(false);
  });

  test("authorization refused with no limit (--retry-forever): it keeps trying", async () => {
    const pool = fakePool((m) => (m.method === "mining.authorize" ? { send: [{ id: m.id, result: false, error: null }] } : normal(m)));
    let fatal = false;
    const { events } = client([`stratum+tcp://127.0.0.1:${pool.port}`], { onFatal: () => (fatal = true) });
    await waitFor(() => (events("worker.unauthorized").length >= 5 ? true : undefined));
    expect(fatal).toBe(false);
    expect(events("worker.unauthorized")[0]).toMatchObject({ reason: "authorize answered false (no reason given)", attempt: 1 });
  });

  test("an authorize refused because of a ban (rignode's words) is a ban to wait out, never a reason to give up", async () => {
    const text = "Banned worker ADDR.rig: 30 of 100 shares invalid (1 s left)";
    const pool = fakePool((m, n) => (m.method === "mining.authorize" && n.connects <= 4 ? { send: [{ id: m.id, result: null, error: [24, text, null] }] } : normal(m)));
    let fatal = false;
    const { c, events } = client([`stratum+tcp://127.0.0.1:${pool.port}`], { maxAuthFailures: 3, onFatal: () => (fatal = true) });
    await waitFor(() => (c.isConnected() ? true : undefined), 20_000);
    expect(fatal).toBe(false);
    expect(events("worker.unauthorized")).toEqual([]);
    expect(events("worker.banned")[0]).toMatchObject({ reason: "worker ADDR.rig: 30 of 100 shares invalid", seconds: 1 });
  }, 30_000);

  test("a refusal then a success resets the count", async () => {
    const pool = fakePool((m, n) => (m.method === "mining.authorize" && n.connects % 3 !== 0 ? { send: [{ id: m.id, result: null, error: [24, "not yet", null]}] } : normal(m)));
    let fatal = false;
    const { c, events } = client([`stratum+tcp://127.0.0.1:${pool.port}`], { maxAuthFailures: 3, onFatal: () => (fatal = true) });
    await waitFor(() => (c.isConnected() ? true : undefined));
    expect(events("worker.unauthorized").map((l) => l.attempt)).toEqual(["1/3", "2/3"]);
    expect(fatal).toBe(false);
  });
});

describe("stratum client: the other protocol on the port", () => {
  const params = NETWORKS.devnet!;
  const quiet = createLogger({ json: true, level: "error" });
  function realPool() {
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-talk-")));
    const chain = new Chain({ store, params, powHash: (h) => kernel.hash("sha256d", h) });
    const server = new PoolServer({
      source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log: quiet, poolAddress: generateKeyPair().publicKey, poolFeeBps: 0,
      scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 1,
    });
    server.start();
    const ports = { native: 0, json: 0 };
    const n = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "native", maxBytes: 16384, log: quiet, otherPort: () => ports.json });
    const j = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: 16384, log: quiet, otherPort: () => ports.native });
    ports.native = n.port;
    ports.json = j.port;
    stops.push(() => (n.stop(), j.stop(), server.stop()));
    return ports;
  }

  test("native protocol on a Stratum V1 port that says nothing to it: after the handshake timeout, the stratum+tcp:// hint", async () => {
    const pool = fakePool(normal);
    const { events } = client([`127.0.0.1:${pool.port}`]);
    const hint = await waitFor(() => events("worker.wrong_protocol")[0]);
    expect(hint).toMatchObject({ level: "warn", hint: `no native answer from 127.0.0.1:${pool.port} — if this is a Stratum V1 JSON port, use stratum+tcp://127.0.0.1:${pool.port}` });
    expect(events("worker.handshake_timeout").length).toBe(1);
  });

  test("native protocol on a Stratum V1 port that answers in JSON: the hint says it is a JSON port", async () => {
    const pool = fakePool(() => {}, (s) => void s.write(JSON.stringify({ id: null, method: "mining.set_difficulty", params: [1] }) + "\n"));
    const { events } = client([`127.0.0.1:${pool.port}`]);
    const hint = await waitFor(() => events("worker.wrong_protocol")[0]);
    expect(hint.hint).toBe(`127.0.0.1:${pool.port} answered in Stratum V1 JSON: it is a JSON port; use stratum+tcp://127.0.0.1:${pool.port}`);
  });

  test("native protocol on rignode's JSON port: the pool's hint and the worker's", async () => {
    const ports = realPool();
    const { events } = client([`127.0.0.1:${ports.json}`]);
    const hint = await waitFor(() => events("worker.wrong_protocol")[0]);
    expect(hint.hint).toBe(`127.0.0.1:${ports.json} is a Stratum V1 JSON port: use stratum+tcp://127.0.0.1:${ports.json}`);
    expect(events("worker.pool_message")[0].message).toContain(`use 127.0.0.1:${ports.native} for the native protocol`);
  });

  test("stratum+tcp:// on rignode's native port: the pool's hint and the worker's", async () => {
    const ports = realPool();
    const { events, lines } = client([`stratum+tcp://127.0.0.1:${ports.native}`]);
    const hint = await waitFor(() => events("worker.wrong_protocol")[0]);
    expect(hint.hint).toBe(`127.0.0.1:${ports.native} is rignode's native port: use --pool 127.0.0.1:${ports.native} (without stratum+tcp://)`);
    expect(events("worker.pool_message")[0].message).toBe(`this is rignode's native port; Stratum V1 miners use stratum+tcp://127.0.0.1:${ports.json}`);
    // Said once per connection although the pool sends it as an error and as client.show_message.
    const second = lines.findIndex((l, i) => l.event === "worker.connected" && i > lines.findIndex((x) => x.event === "worker.connected"));
    expect(lines.slice(0, second < 0 ? undefined : second).filter((l) => l.event === "worker.pool_message").length).toBe(1);
  });
});

describe("stratum client: what the pool asks", () => {
  test("mining.set_extranonce: the next job carries the new extranonce1 and extranonce2 size", async () => {
    let sock: Socket<unknown> | null = null;
    const pool = fakePool(normal, (s) => void (sock = s));
    const work: any[] = [];
    client([`stratum+tcp://127.0.0.1:${pool.port}`], { onWork: (w) => work.push(w) });
    await waitFor(() => (work.length >= 1 ? true : undefined));
    sock!.write(JSON.stringify({ id: null, method: "mining.set_extranonce", params: ["abcdef01", 6] }) + "\n");
    sock!.write(JSON.stringify({ ...NOTIFY, params: ["2", ...NOTIFY.params.slice(1)] }) + "\n");
    await waitFor(() => (work.length >= 2 ? true : undefined));
    expect(work.map((w) => [w.jobId, w.extranonce1, w.extranonce2Size])).toEqual([["1", "00000001", 4], ["2", "abcdef01", 6]]);
  });

  test("client.reconnect to another port of the same host: the client moves there after the wait", async () => {
    const next = fakePool(normal);
    const first = fakePool((m) => {
      const r = normal(m);
      if (m.method === "mining.authorize") r.send.push({ id: null, method: "client.reconnect", params: ["127.0.0.1", next.port, 0] });
      return r;
    });
    const { c, events } = client([`stratum+tcp://127.0.0.1:${first.port}`]);
    await waitFor(() => (next.stats.connects > 0 && c.isConnected() && c.current?.port === next.port ? true : undefined));
    expect(events("worker.reconnect_requested")[0]).toMatchObject({ pool: `127.0.0.1:${next.port}`, wait_s: 0 });
    expect(first.stats.connects).toBe(1);
  });

  test("client.reconnect to another host is ignored: the client stays where it is", async () => {
    const elsewhere = fakePool(normal);
    const pool = fakePool((m) => {
      const r = normal(m);
      if (m.method === "mining.authorize") {
        r.send.push({ id: null, method: "client.reconnect", params: ["evil.example", elsewhere.port, 0] });
        // Sent after the reconnect on the same stream: once it is logged, the reconnect has been handled.
        r.send.push({ id: null, method: "client.show_message", params: ["after the reconnect"] });
      }
      return r;
    });
    const { c, events } = client([`stratum+tcp://127.0.0.1:${pool.port}`]);
    await waitFor(() => (events("worker.pool_message").length ? true : undefined));
    expect(events("worker.reconnect_requested")).toEqual([]);
    expect(c.isConnected()).toBe(true);
    expect(c.current?.port).toBe(pool.port);
    expect(elsewhere.stats.connects).toBe(0);
    expect(pool.stats.connects).toBe(1);
  });
});

// API origin safety (issue 13 item 1): no web page may steer or read a rig — foreign Origin and DNS-rebound Host
// are refused with 403 and a log line, writes must declare JSON, and writes that redirect hashrate or money need
// the token even on loopback.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { connect } from "node:net";
import { createApp, hostAllowed, minerRoutes, originGuard, poolRoutes, serveApi, type PoolMode } from "../../src/api";
import { createLogger, MetricsRegistry } from "../../src/core";
import type { HttpWorkers, PoolServer } from "../../src/pool";

const OWNER = "o".repeat(64);
const SELF = "127.0.0.1:8420";

/** A rig's API with the miner and pool routes over recording fakes: every applied write is visible. */
function rig(opts: { listenHost?: string; machineNames?: string[]; token?: string | null; ownerToken?: string | null } = {}) {
  const applied: string[] = [];
  const lines: Record<string, unknown>[] = [];
  let state = "running";
  let mode: { mode: PoolMode; pool?: string; user?: string } = { mode: "host" };
  let feeBps = 100;
  // Only what poolRoutes calls on these routes; the real server's configure is tested in test/pool/server.test.ts.
  const server = {
    configure(p: { poolFeeBps?: number }) {
      applied.push(`configure ${JSON.stringify(p)}`);
      if (p.poolFeeBps !== undefined) feeBps = p.poolFeeBps;
    },
    settings: () => ({ pool_fee_percent: feeBps / 100 }),
    unban: (ip: string) => (applied.push(`unban ${ip}`), 1),
    stats: () => ({ workers: [{ user: "secret-address.rig" }] }),
    cluster: () => null, // no bus: /pool/stats adds nothing
  } as unknown as PoolServer;
  const app = createApp({
    token: opts.token ?? null,
    ownerToken: opts.ownerToken === undefined ? OWNER : opts.ownerToken,
    listenHost: opts.listenHost ?? "127.0.0.1",
    machineNames: opts.machineNames ?? ["rig1"],
    log: createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) }),
    metrics: new MetricsRegistry(),
    health: () => ({ ok: true }),
    info: () => ({}),
    groups: [
      (a) =>
        minerRoutes(
          a,
          () => ({ threads: 1, activeWorkers: 1, batch: 1, state, hashes: 0, hashrate: {}, perThread: [], kernelVariant: "baseline", impl: "zig", blocksFound: 0 }),
          () => ({ pause: () => (applied.push("pause"), (state = "paused")), resume: () => (applied.push("resume"), (state = "running")) }),
        ),
      (a) =>
        poolRoutes(a, {
          server,
          http: { count: () => 0 } as unknown as HttpWorkers,
          mode: () => mode,
          setMode: async (r) => void (applied.push(`mode ${r.mode}`), (mode = r)),
          start: () => {},
          stop: () => {},
        }),
      (a) => a.post("/api/tx", (c) => (applied.push("tx"), c.json({ id: "t" }))),
    ],
  });
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    app.request(path, { method, headers: { host: SELF, ...headers }, ...(body === undefined ? {} : { body }) });
  return { app, applied, lines, send, feeBps: () => feeBps, mode: () => mode };
}

const json = { "content-type": "application/json" };
const owner = { ...json, authorization: `Bearer ${OWNER}` };
const refusals = (lines: Record<string, unknown>[]) => lines.filter((l) => l.event === "api.refused");

describe("a page's cross-origin request (CSRF)", () => {
  test("Origin http://evil.example with a text/plain body is refused and changes nothing", async () => {
    const r = rig();
    const evil = { origin: "http://evil.example", "content-type": "text/plain;charset=UTF-8" };
    const configure = await r.send("POST", "/pool/configure", { ...evil, authorization: `Bearer ${OWNER}` }, JSON.stringify({ pool_fee_percent: 10, ban_seconds: 0 }));
    expect(configure.status).toBe(403);
    expect(((await configure.json()) as { error: string }).error).toBe("forbidden");
    expect((await r.send("POST", "/api/miner/pause", evil, "{}")).status).toBe(403);
    const join = await r.send("POST", "/pool/mode", evil, JSON.stringify({ mode: "join", pool: "stratum+tcp://evil.example:3333", user: "someone-else" }));
    expect(join.status).toBe(403);
    expect(r.applied).toEqual([]);
    expect(r.feeBps()).toBe(100);
    expect(r.mode()).toEqual({ mode: "host" });
    expect(((await (await r.send("GET", "/api/miner", {})).json()) as { state: string }).state).toBe("running");
    const [line] = refusals(r.lines);
    expect(line).toMatchObject({ level: "warn", reason: "origin", host: SELF, origin: "http://evil.example", path: "/pool/configure", method: "POST" });
  });

  test("a text/plain or form body without Origin is refused with 415, not parsed as JSON", async () => {
    const r = rig();
    const plain = await r.send("POST", "/api/miner/pause", { "content-type": "text/plain" }, "{}");
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as { message: string }).message).toContain("Content-Type: application/json (got text/plain)");
    expect((await r.send("POST", "/api/tx", {}, '{"raw":"00"}')).status).toBe(415); // the runtime calls it text/plain
    // An empty form post still declares its form type.
    expect((await r.send("POST", "/api/miner/pause", { "content-type": "application/x-www-form-urlencoded", "content-length": "0" })).status).toBe(415);
    expect((await r.send("DELETE", "/pool/bans/10.0.0.1", { "content-type": "text/plain" }, "x")).status).toBe(415);
    expect(r.applied).toEqual([]);
  });

  test("a foreign Origin may not read either, nor preflight; Origin null is foreign", async () => {
    const r = rig();
    const stats = await r.send("GET", "/pool/stats", { origin: "http://evil.example" });
    expect(stats.status).toBe(403);
    expect(await stats.text()).not.toContain("secret-address");
    expect((await r.send("GET", "/api/miner", { origin: "null" })).status).toBe(403);
    expect((await r.send("OPTIONS", "/pool/configure", { origin: "http://evil.example", "access-control-request-method": "POST" })).status).toBe(403);
    // Same host, other port or scheme: another origin.
    expect((await r.send("GET", "/api/miner", { origin: "http://127.0.0.1:8421" })).status).toBe(403);
    expect((await r.send("GET", "/api/miner", { origin: "https://127.0.0.1:8420" })).status).toBe(403);
  });
});

describe("DNS rebinding", () => {
  test("Host attacker.example is refused for reads and writes, even with its own Origin", async () => {
    const r = rig();
    const stats = await r.send("GET", "/pool/stats", { host: "attacker.example:8420" });
    expect(stats.status).toBe(403);
    expect(await stats.text()).not.toContain("secret-address");
    const pause = await r.send("POST", "/api/miner/pause", { host: "attacker.example:8420", origin: "http://attacker.example:8420", ...json }, "{}");
    expect(pause.status).toBe(403);
    expect(r.applied).toEqual([]);
    expect(refusals(r.lines)[0]).toMatchObject({ reason: "host", host: "attacker.example:8420", origin: null, path: "/pool/stats" });
  });

  test("beyond loopback a tool (no Origin, no Sec-Fetch-Site) may use any DNS name of the rig; a browser may not", async () => {
    const r = rig({ listenHost: "0.0.0.0", machineNames: ["rig1"] });
    expect((await r.send("GET", "/pool/stats", { host: "rig1.fritz.box:8420" })).status).toBe(200);
    const fromPage = await r.send("GET", "/pool/stats", { host: "rig1.fritz.box:8420", "sec-fetch-site": "same-origin" });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.text()).not.toContain("secret-address");
    // On a loopback listener a name is refused even from a tool.
    expect((await rig().send("GET", "/pool/stats", { host: "attacker.example:8420" })).status).toBe(403);
  });

  test("a loopback listener answers loopback names only: not the machine's name, not a LAN address", () => {
    const p = { listenHost: "127.0.0.1", machineNames: ["rig1"] };
    for (const h of ["localhost", "localhost:8420", "LOCALHOST:8420", "127.0.0.1:8420", "127.3.2.1", "[::1]:8420", "[::1]"]) expect([h, hostAllowed(h, p)]).toEqual([h, true]);
    for (const h of ["attacker.example", "rig1:8420", "192.168.1.5:8420", "localhost.attacker.example", "127.0.0.1.nip.io", "", "a b", "[::1", "localhost:8420:1"]) expect([h, hostAllowed(h, p)]).toEqual([h, false]);
  });

  test("beyond loopback: the listen host, any IP literal and the machine's names; never another name", () => {
    const any = { listenHost: "0.0.0.0", machineNames: ["rig1.lan", "rig1"] };
    for (const h of ["192.168.1.5:8420", "10.0.0.7", "[fe80::1]:8420", "rig1:8420", "RIG1.lan", "localhost:8420"]) expect([h, hostAllowed(h, any)]).toEqual([h, true]);
    for (const h of ["attacker.example", "rig2:8420", "rig1.attacker.example"]) expect([h, hostAllowed(h, any)]).toEqual([h, false]);
    expect(hostAllowed("[2001:db8::1]:8420", { listenHost: "::", machineNames: [] })).toBe(true);
    const named = { listenHost: "rig.example", machineNames: [] };
    expect(hostAllowed("rig.example:8420", named)).toBe(true);
    expect(hostAllowed("other.example:8420", named)).toBe(false);
  });

  test("on a 0.0.0.0 listener the rig's LAN address and name work as origins; other names do not", async () => {
    const r = rig({ listenHost: "0.0.0.0", token: OWNER });
    const lan = { host: "192.168.1.5:8420", origin: "http://192.168.1.5:8420", ...owner };
    expect((await r.send("POST", "/api/miner/pause", lan, "{}")).status).toBe(200);
    expect((await r.send("GET", "/api/miner", { host: "rig1:8420", origin: "http://rig1:8420" })).status).toBe(200);
    expect((await r.send("GET", "/api/miner", { host: "evil.example:8420", "sec-fetch-site": "same-origin" })).status).toBe(403); // a browser page (rebinding)
    expect(r.applied).toEqual(["pause"]);
  });
});

describe("the rig's own clients", () => {
  test("a same-origin JSON write (a panel on the API's origin) goes through", async () => {
    const r = rig();
    const res = await r.send("POST", "/api/miner/pause", { origin: `http://${SELF}`, "content-type": "application/json; charset=utf-8" }, "{}");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ state: "paused" });
    expect((await r.send("POST", "/api/miner/resume", { host: "[::1]:8420", origin: "http://[::1]:8420", ...json }, "{}")).status).toBe(200);
    expect(r.applied).toEqual(["pause", "resume"]);
    expect(refusals(r.lines)).toEqual([]);
  });

  test("no Origin (curl, rignode's CLI, a daemon's blocknotify): JSON writes and bodyless writes pass", async () => {
    const r = rig();
    expect((await r.send("POST", "/api/tx", { host: "localhost:8420", ...json }, '{"raw":"00"}')).status).toBe(200);
    expect((await r.send("POST", "/api/miner/pause", {})).status).toBe(200);
    expect((await r.send("POST", "/api/miner/resume", { "content-length": "0" })).status).toBe(200);
    expect((await r.send("DELETE", "/pool/bans/10.0.0.1", {})).status).toBe(200);
    expect(r.applied).toEqual(["tx", "pause", "resume", "unban 10.0.0.1"]);
  });
});

describe("writes that redirect hashrate or money need the token even on loopback", () => {
  test("POST /pool/mode and /pool/configure: 401 without the token, applied with it; other writes stay open", async () => {
    const r = rig();
    const noToken = await r.send("POST", "/pool/mode", json, JSON.stringify({ mode: "join", pool: "stratum+tcp://127.0.0.1:3333", user: "someone-else" }));
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await noToken.json()) as { message: string }).message).toContain("even on loopback");
    expect((await r.send("POST", "/pool/configure", { ...json, authorization: `Bearer ${"x".repeat(64)}` }, JSON.stringify({ pool_fee_percent: 10 }))).status).toBe(401);
    expect(r.applied).toEqual([]);
    expect((await r.send("POST", "/pool/configure", owner, JSON.stringify({ pool_fee_percent: 2.5 }))).status).toBe(200);
    expect(r.feeBps()).toBe(250);
    expect(await (await r.send("POST", "/pool/mode", owner, JSON.stringify({ mode: "solo" }))).json()).toEqual({ mode: "solo" });
    expect((await r.send("POST", "/api/tx", json, '{"raw":"00"}')).status).toBe(200); // a wallet's transfer: the sender's money
  });

  test("an API with no token at all refuses them (fails closed)", async () => {
    const r = rig({ ownerToken: null });
    expect((await r.send("POST", "/pool/configure", owner, JSON.stringify({ pool_fee_percent: 10 }))).status).toBe(401);
    expect(r.applied).toEqual([]);
  });

  test("off loopback the one token covers every write", async () => {
    const r = rig({ listenHost: "0.0.0.0", token: OWNER });
    expect((await r.send("POST", "/api/miner/pause", json, "{}")).status).toBe(401);
    expect((await r.send("POST", "/pool/configure", owner, JSON.stringify({ ban_seconds: 0 }))).status).toBe(200);
  });
});

describe("refusal log lines", () => {
  test("one line per reason per second, then the count of those left out; long values clipped", async () => {
    const lines: Record<string, unknown>[] = [];
    let t = 1_000_000;
    const app = new Hono();
    app.use("*", originGuard({ listenHost: "127.0.0.1" }, createLogger({ json: true, level: "info", write: (l) => lines.push(JSON.parse(l)) }), () => t));
    app.get("/x", (c) => c.text("ok"));
    const evil = (n: number) => app.request("/x", { headers: { host: SELF, origin: `http://evil${n}.example` } });
    for (let i = 0; i < 5; i++) expect((await evil(i)).status).toBe(403);
    expect((await app.request("/x", { headers: { host: "a".repeat(5000) + ".example" } })).status).toBe(403);
    expect(lines.map((l) => l.reason)).toEqual(["origin", "host"]);
    expect((lines[1]!.host as string).length).toBeLessThan(300);
    t += 1000;
    await evil(9);
    expect(lines[2]).toMatchObject({ reason: "origin", origin: "http://evil9.example", suppressed: 4 });
    expect((await app.request("/x", { headers: { host: SELF } })).status).toBe(200);
  });
});

/** Sends raw HTTP/1.1 bytes (Host and framing exactly as written) and returns the status and body. */
function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => s.end(request));
    let text = "";
    s.on("data", (d) => (text += d));
    s.on("error", reject);
    s.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
  });
}

describe("through a real socket (serveApi)", () => {
  test("the Host header as sent decides; bodyless and typed writes are told apart on the wire", async () => {
    const r = rig();
    const server = serveApi(r.app, "127.0.0.1", [0]);
    const p = server.port;
    try {
      const req = (head: string, body = "") => raw(p, `${head}\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ""}\r\n${body}`);
      expect((await req(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${p}`)).status).toBe(200);
      const rebound = await req(`GET /pool/stats HTTP/1.1\r\nHost: attacker.example:${p}`);
      expect(rebound.status).toBe(403);
      expect(rebound.body).not.toContain("secret-address");
      expect(refusals(r.lines).at(-1)).toMatchObject({ reason: "host", host: `attacker.example:${p}`, ip: "127.0.0.1" });
      // The CSRF request as a browser sends it, then a curl-like one with the wrong type.
      const csrf = `POST /pool/configure HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain;charset=UTF-8`;
      expect((await req(csrf, '{"pool_fee_percent":10}')).status).toBe(403);
      expect((await req(`POST /api/miner/pause HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Type: text/plain`, "{}")).status).toBe(415);
      expect(r.applied).toEqual([]);
      // Bodyless writes (no Content-Length at all, or 0) need no type; a same-origin JSON write passes.
      expect((await req(`POST /api/miner/pause HTTP/1.1\r\nHost: localhost:${p}`)).status).toBe(200);
      expect((await req(`POST /api/miner/resume HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 0`)).status).toBe(200);
      expect((await req(`POST /api/miner/pause HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nOrigin: http://127.0.0.1:${p}\r\nContent-Type: application/json`, "{}")).status).toBe(200);
      // fetch() as rignode's CLI uses it: no Origin, JSON declared.
      const cli = await fetch(`http://127.0.0.1:${p}/api/tx`, { method: "POST", headers: json, body: '{"raw":"00"}' });
      expect(cli.status).toBe(200);
      expect(r.applied).toEqual(["pause", "resume", "pause", "tx"]);
    } finally {
      await server.stop();
    }
  });
});

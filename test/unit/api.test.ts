import { describe, expect, test } from "bun:test";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, ensureApiToken, tokenRequired } from "../../src/api";
import { MetricsRegistry, RignodeError } from "../../src/core";

function app(token: string | null) {
  const metrics = new MetricsRegistry();
  metrics.register(() => [
    { name: "rignode_build_info", help: "Build.", type: "info", samples: [{ labels: { version: "1.2.3", commit: 'a"b' }, value: 1 }] },
    { name: "rignode_x_total", help: "X.", type: "counter", samples: [{ value: 5 }] },
  ]);
  return createApp({
    token,
    metrics,
    health: () => ({ ok: true, uptime_s: 1 }),
    info: () => ({ version: "1.2.3", role: "test" }),
    groups: [
      (a) => a.post("/api/echo", async (c) => c.json(await c.req.json())),
      (a) => a.get("/api/boom", () => { throw new RignodeError("input", "bad thing"); }),
      (a) => a.get("/api/crash", () => { throw new Error("secret detail"); }),
    ],
  });
}

describe("api", () => {
  test("GET /health answers ok", async () => {
    const r = await app(null).request("/health");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ok", ok: true, uptime_s: 1 });
  });

  test("GET /info returns the role's info", async () => {
    expect(await (await app(null).request("/info")).json()).toEqual({ version: "1.2.3", role: "test" });
  });

  test("GET /metrics is Prometheus text with HELP, TYPE and escaped labels", async () => {
    const r = await app(null).request("/metrics");
    expect(r.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await r.text();
    expect(text).toContain("# TYPE rignode_build_info gauge");
    expect(text).toContain('rignode_build_info{version="1.2.3",commit="a\\"b"} 1');
    expect(text).toContain("# TYPE rignode_x_total counter\nrignode_x_total 5");
  });

  test("write requests need the bearer token when one is set; reads do not", async () => {
    const a = app("t".repeat(64));
    const json = { "content-type": "application/json" };
    expect((await a.request("/api/echo", { method: "POST", body: "{}", headers: json })).status).toBe(401);
    const wrong = await a.request("/api/echo", { method: "POST", body: "{}", headers: { ...json, authorization: `Bearer ${"u".repeat(64)}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain("Bearer");
    const ok = await a.request("/api/echo", { method: "POST", body: '{"a":1}', headers: { ...json, authorization: `Bearer ${"t".repeat(64)}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ a: 1 });
    expect((await a.request("/health")).status).toBe(200);
  });

  test("without a token (loopback API) writes are open", async () => {
    expect((await app(null).request("/api/echo", { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).toBe(200);
  });

  test("typed errors become 400 with their message; others 500 without internals; unknown routes 404", async () => {
    const a = app(null);
    const boom = await a.request("/api/boom");
    expect(boom.status).toBe(400);
    expect(await boom.json()).toEqual({ error: "input", message: "bad thing" });
    const crash = await a.request("/api/crash");
    expect(crash.status).toBe(500);
    expect(await crash.text()).not.toContain("secret");
    expect((await a.request("/nope")).status).toBe(404);
  });

  test("a token is required beyond loopback, or always when asked for", () => {
    expect(tokenRequired("auto", true)).toBe(false);
    expect(tokenRequired("auto", false)).toBe(true);
    expect(tokenRequired("token", true)).toBe(true);
  });

  test("the token file is created once, mode 0600, and reused", () => {
    const d = mkdtempSync(join(tmpdir(), "rignode-tok-"));
    const a = ensureApiToken(d);
    expect(a.created).toBe(true);
    expect(a.token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(a.path).mode & 0o777).toBe(0o600);
    const b = ensureApiToken(d);
    expect(b.created).toBe(false);
    expect(b.token).toBe(a.token);
  });
});

// The panel's server side, in-process: the history ring, the embedded assets (gzip, ETag, CSP, same origin only),
// the snapshot of a role's GET paths, the live SSE feed and its cap, and the chain routes the page reads
// (/api/chain/blocks, /api/wallet).
import { afterEach, describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import type { Hono } from "hono";
import { chainRoutes, createApp, History, Panel, PANEL_ASSETS } from "../../src/api";
import { HISTORY_SECONDS, MAX_LIVE_CLIENTS } from "../../src/api/panel";
import { leToDisplayHex, MetricsRegistry } from "../../src/core";
import { blockHash, encodeAddress, generateKeyPair, syncMemo, type Chain, type KeyPair } from "../../src/chain";
import { mineOn, openChain, solve } from "../chain/helpers";

/** What these tests use of a body's reader (Bun's and the DOM's reader types differ in extras). */
interface Reader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

const panels: Panel[] = [];
const streams: Reader[] = [];

afterEach(async () => {
  for (const r of streams.splice(0)) await r.cancel().catch(() => {});
  for (const p of panels.splice(0)) p.close();
});

/** An app of a role with the given route groups plus the panel (no pool routes unless given). */
function build(opts: { groups?: ((a: Hono) => void)[]; intervalMs?: number; series?: () => Record<string, number | null> } = {}) {
  const panel = new Panel({ series: opts.series ?? (() => ({ miner: 1000 })), ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}) });
  panels.push(panel);
  const app = createApp({
    token: null,
    metrics: new MetricsRegistry(),
    health: () => ({ ok: true }),
    info: () => ({ version: "9.9.9", role: "node" }),
    groups: [...(opts.groups ?? []), (a) => panel.routes(a)],
  });
  return { app, panel };
}

/** Waits (polling) for `cond`; fails with `what` after a generous bound. Not a timing assertion. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await Bun.sleep(10);
  }
  throw new Error(`never: ${what}`);
}

/** An SSE reader: whole frames ("...\n\n") out of the byte stream, however it is chunked. */
function sse(res: Response) {
  const reader: Reader = res.body!.getReader();
  streams.push(reader);
  const dec = new TextDecoder();
  let buf = "";
  return {
    reader,
    async frame(): Promise<string> {
      for (;;) {
        const end = buf.indexOf("\n\n");
        if (end >= 0) {
          const f = buf.slice(0, end);
          buf = buf.slice(end + 2);
          return f;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += dec.decode(value!, { stream: true });
      }
    },
  };
}

/** Reads and discards until the stream ends or is cancelled. */
async function drain(reader: Reader): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {}
}

function parseFrame(f: string): { id?: number; event?: string; data?: string } {
  const out: { id?: number; event?: string; data?: string } = {};
  for (const line of f.split("\n")) {
    const i = line.indexOf(": ");
    const k = line.slice(0, i);
    const v = line.slice(i + 2);
    if (k === "id") out.id = Number(v);
    if (k === "event") out.event = v;
    if (k === "data") out.data = v;
  }
  return out;
}

describe("History", () => {
  test("values come back oldest first; a missing value is null", () => {
    const h = new History();
    h.add(100, { miner: 5, pool: null });
    h.add(101, { miner: 6, pool: 7 });
    h.add(102, { miner: null, pool: 8 });
    const v = h.view();
    expect(v.t).toEqual([100, 101, 102]);
    expect(v.series.miner).toEqual([5, 6, null]);
    expect(v.series.pool).toEqual([null, 7, 8]);
  });

  test("a series first seen later is null before it appeared", () => {
    const h = new History();
    h.add(1, { miner: 1 });
    h.add(2, { miner: 2, pool: 3 });
    expect(h.view().series.pool).toEqual([null, 3]);
  });

  test("a series that stops being reported reads null from then on, also after the ring wraps", () => {
    const h = new History();
    h.add(0, { pool: 123 });
    for (let i = 1; i <= 3600; i++) h.add(i, {});
    const v = h.view();
    expect(v.t.at(-1)).toBe(3600);
    expect(v.series.pool!.every((x) => x === null)).toBe(true);
  });

  test("the ring keeps only the last 3600 samples", () => {
    const h = new History();
    for (let i = 0; i < 3700; i++) h.add(1000 + i, { miner: i });
    const v = h.view();
    expect(HISTORY_SECONDS).toBe(3600);
    expect(v.t.length).toBe(3600);
    expect(v.series.miner!.length).toBe(3600);
    expect(v.t[0]).toBe(1000 + 100);
    expect(v.t.at(-1)).toBe(1000 + 3699);
    expect(v.series.miner![0]).toBe(100);
    expect(v.series.miner!.at(-1)).toBe(3699);
    // Strictly increasing: oldest first across the ring's wrap.
    expect(v.t.every((t, i) => i === 0 || t === v.t[i - 1]! + 1)).toBe(true);
  });

  test("GET /api/panel/history answers the ring with its step", async () => {
    const { app } = build({ series: () => ({ miner: 42 }) });
    const r = await app.request("/api/panel/history");
    expect(r.status).toBe(200);
    const body = (await r.json()) as { step_s: number; t: number[]; series: Record<string, (number | null)[]> };
    expect(body.step_s).toBe(1);
    expect(body.t.length).toBeGreaterThanOrEqual(1);
    expect(body.series.miner!.at(-1)).toBe(42);
  });
});

describe("assets", () => {
  test("GET / is HTML with a CSP that allows this origin only", async () => {
    const { app } = build();
    const r = await app.request("/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/html");
    const csp = r.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("with accept-encoding gzip every asset gunzips to the same bytes as without", async () => {
    const { app } = build();
    for (const path of ["/", "/panel/app.js", "/panel/app.css", "/panel/uplot.js"]) {
      const plain = await app.request(path);
      expect(plain.headers.get("content-encoding")).toBeNull();
      const raw = Buffer.from(await plain.arrayBuffer());
      const gz = await app.request(path, { headers: { "accept-encoding": "br, gzip, deflate" } });
      expect(gz.headers.get("content-encoding")).toBe("gzip");
      expect(gz.headers.get("vary")).toContain("accept-encoding");
      const zipped = Buffer.from(await gz.arrayBuffer());
      expect(zipped.length).toBeLessThan(raw.length);
      expect(gunzipSync(zipped).equals(raw)).toBe(true);
    }
  });

  test("If-None-Match with the ETag answers 304 with no body; another tag gets the body", async () => {
    const { app } = build();
    for (const path of Object.keys(PANEL_ASSETS)) {
      const first = await app.request(path);
      const etag = first.headers.get("etag");
      expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
      const again = await app.request(path, { headers: { "if-none-match": etag! } });
      expect(again.status).toBe(304);
      expect((await again.arrayBuffer()).byteLength).toBe(0);
      expect(again.headers.get("etag")).toBe(etag);
      const other = await app.request(path, { headers: { "if-none-match": '"00000000000000000000"' } });
      expect(other.status).toBe(200);
    }
  });

  test("the page loads only same-origin paths", async () => {
    const { app } = build();
    const html = await (await app.request("/")).text();
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!);
    expect(refs).toContain("/panel/app.js");
    expect(refs).toContain("/panel/uplot.js");
    expect(refs).toContain("/panel/app.css");
    for (const ref of refs) {
      expect(ref.startsWith("//")).toBe(false);
      // A scheme is only data: (the empty favicon); everything else is a path or a fragment here.
      if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) expect(ref).toStartWith("data:");
      else expect(ref).toMatch(/^[/#]/);
    }
    expect(html).not.toContain("http://");
    expect(html).not.toContain("https://");
  });

  test("the scripts reach no other host: app.js names no absolute URL; uplot.js only in its license banner", async () => {
    const { app } = build();
    const js = await (await app.request("/panel/app.js")).text();
    expect(js).not.toContain("http://");
    expect(js).not.toContain("https://");
    // What it fetches or subscribes to is a path on this origin.
    const targets = [...js.matchAll(/(?:fetch|EventSource)\(\s*["']([^"']+)["']/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(t).toMatch(/^\/[^/]/);
    const uplot = await (await app.request("/panel/uplot.js")).text();
    // The bundle starts with "/*! https://github.com/leeoniya/uPlot (v…) */": a comment, not a request.
    const code = uplot.replace(/^\/\*![^]*?\*\//, "");
    expect(code).not.toContain("http://");
    expect(code).not.toContain("https://");
  });
});

/** A chain role's routes on a throwaway chain, with an optional own address. */
function chainGroup(chain: Chain, wallet: KeyPair | null) {
  return (a: Hono) => chainRoutes(a, { chain, wallet: () => wallet?.publicKey ?? null });
}

describe("snapshot", () => {
  test("a role without pool routes: /info and /health in, /pool/stats and the 404 wallet out; valid JSON", async () => {
    const { chain, store } = openChain();
    try {
      const { app } = build({ groups: [chainGroup(chain, null)], series: () => ({ miner: 77 }) });
      const r = await app.request("/api/panel/snapshot");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("application/json");
      const snap = JSON.parse(await r.text()) as { t: number; point: Record<string, number>; api: Record<string, any> };
      expect(typeof snap.t).toBe("number");
      expect(snap.point.miner).toBe(77);
      expect(snap.api["/info"]).toEqual({ version: "9.9.9", role: "node" });
      expect(snap.api["/health"]).toEqual({ status: "ok", ok: true });
      expect(snap.api["/api/chain/tip"].height).toBe(0);
      // Keyed without the query string.
      expect(snap.api["/api/chain/blocks"].blocks.length).toBe(1);
      expect(Object.keys(snap.api).some((k) => k.includes("?"))).toBe(false);
      expect(snap.api).not.toHaveProperty("/pool/stats");
      expect(snap.api).not.toHaveProperty("/pool/settings");
      expect(snap.api).not.toHaveProperty("/api/miner");
      expect(snap.api).not.toHaveProperty("/api/wallet");
    } finally {
      store.close();
    }
  });
});

describe("events", () => {
  test("the stream says retry: 2000, then snapshot frames with rising ids", async () => {
    const { app } = build({ intervalMs: 50 });
    const r = await app.request("/api/panel/events");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    expect(r.headers.get("cache-control")).toBe("no-store");
    const s = sse(r);
    expect(await s.frame()).toBe("retry: 2000");
    const first = parseFrame(await s.frame());
    expect(first.event).toBe("snapshot");
    expect(Number.isInteger(first.id)).toBe(true);
    const snap = JSON.parse(first.data!);
    expect(snap.api["/info"].role).toBe("node");
    const second = parseFrame(await s.frame());
    expect(second.event).toBe("snapshot");
    expect(second.id!).toBeGreaterThan(first.id!);
    expect(JSON.parse(second.data!).api).toHaveProperty("/health");
  });

  test("cancelling the reader takes the client off the live set", async () => {
    const { app, panel } = build({ intervalMs: 50 });
    const s = sse(await app.request("/api/panel/events"));
    await s.frame();
    expect(panel.liveClients()).toBe(1);
    await s.reader.cancel();
    await until(() => panel.liveClients() === 0, "liveClients() back to 0 after cancel");
    expect(panel.liveClients()).toBe(0);
  });

  test(`concurrent stream number ${MAX_LIVE_CLIENTS + 1} answers 503; a closed one frees a place`, async () => {
    // Each held stream is read like a browser does (an unread one is dropped as stalled once 8 frames queue up).
    const { app, panel } = build({ intervalMs: 60_000 });
    const held: ReturnType<typeof sse>[] = [];
    for (let i = 0; i < MAX_LIVE_CLIENTS; i++) {
      const r = await app.request("/api/panel/events");
      expect(r.status).toBe(200);
      const s = sse(r);
      void drain(s.reader);
      held.push(s);
    }
    expect(panel.liveClients()).toBe(MAX_LIVE_CLIENTS);
    const over = await app.request("/api/panel/events");
    expect(over.status).toBe(503);
    expect(over.headers.get("retry-after")).toBe("10");
    expect(((await over.json()) as { error: string }).error).toBe("busy");
    expect(panel.liveClients()).toBe(MAX_LIVE_CLIENTS);
    await held[0]!.reader.cancel();
    await until(() => panel.liveClients() === MAX_LIVE_CLIENTS - 1, "a place freed");
    const again = await app.request("/api/panel/events");
    expect(again.status).toBe(200);
    void drain(sse(again).reader);
    expect(panel.liveClients()).toBe(MAX_LIVE_CLIENTS);
  });

  test("a client that stops reading is dropped once its backlog is full, and its stream ends", async () => {
    const { app, panel } = build({ intervalMs: 20 });
    const s = sse(await app.request("/api/panel/events"));
    expect(panel.liveClients()).toBe(1);
    await until(() => panel.liveClients() === 0, "the stalled client dropped");
    // What was queued is still there to read, then the end: no frame after the drop.
    const frames: string[] = [];
    await expect((async () => { for (;;) frames.push(await s.frame()); })()).rejects.toThrow("stream ended");
    expect(frames[0]).toBe("retry: 2000");
    expect(frames.length).toBe(8);
  });

  test("a newcomer's first frame goes to it alone: others keep their 1 Hz however many connect", async () => {
    // The ticker never fires within the test (an hour): every frame seen is a welcome.
    const { app } = build({ intervalMs: 3_600_000 });
    const first = sse(await app.request("/api/panel/events"));
    expect(await first.frame()).toBe("retry: 2000");
    expect(parseFrame(await first.frame()).event).toBe("snapshot");
    for (let i = 0; i < 10; i++) {
      const s = sse(await app.request("/api/panel/events"));
      expect(await s.frame()).toBe("retry: 2000");
      expect(parseFrame(await s.frame()).event).toBe("snapshot");
    }
    // Nothing more is queued for the first client: its next read stays pending.
    const next = await Promise.race([first.frame().then(() => "frame"), Bun.sleep(200).then(() => "nothing")]);
    expect(next).toBe("nothing");
  });

  test("a stream asked for after close() is refused (503), not started", async () => {
    const { app, panel } = build({ intervalMs: 50 });
    panel.close();
    const r = await app.request("/api/panel/events");
    expect(r.status).toBe(503);
    expect(panel.liveClients()).toBe(0);
  });

  test("close() ends every live stream", async () => {
    const { app, panel } = build({ intervalMs: 50 });
    const s = sse(await app.request("/api/panel/events"));
    expect(await s.frame()).toBe("retry: 2000");
    panel.close();
    expect(panel.liveClients()).toBe(0);
    // Whatever was queued drains, then the stream ends.
    await expect((async () => { for (;;) await s.frame(); })()).rejects.toThrow("stream ended");
  });
});

describe("chain routes the panel reads", () => {
  test("/api/chain/blocks: newest first, at most `limit`, producer/slot null on a PoW chain", async () => {
    const { chain, store } = openChain();
    try {
      const miner = generateKeyPair();
      for (let i = 0; i < 5; i++) mineOn(chain, miner);
      const { app } = build({ groups: [chainGroup(chain, null)] });
      const body = (await (await app.request("/api/chain/blocks?limit=3")).json()) as { blocks: any[] };
      expect(body.blocks.map((b) => b.height)).toEqual([5, 4, 3]);
      expect(body.blocks[0].hash).toBe(leToDisplayHex(chain.tip().hash));
      expect(body.blocks[0].txs).toBe(1);
      expect(BigInt(body.blocks[0].reward)).toBeGreaterThan(0n);
      expect(body.blocks[0].producer).toBeNull();
      expect(body.blocks[0].slot).toBeNull();
      // More than the chain holds: every block down to genesis, still newest first.
      const all = (await (await app.request("/api/chain/blocks?limit=50")).json()) as { blocks: any[] };
      expect(all.blocks.map((b) => b.height)).toEqual([5, 4, 3, 2, 1, 0]);
      // Bad limits fall back to the default and stay within 1..100.
      expect(((await (await app.request("/api/chain/blocks?limit=0")).json()) as { blocks: any[] }).blocks.length).toBe(6);
      expect(((await (await app.request("/api/chain/blocks?limit=-4")).json()) as { blocks: any[] }).blocks.length).toBe(1);
    } finally {
      store.close();
    }
  });

  test("/api/chain/blocks names a block's producer and slot from its sync claim", async () => {
    const { chain, store } = openChain();
    try {
      const producer = "ab".repeat(32);
      const miner = generateKeyPair();
      const ex = new Uint8Array(8).fill(7);
      const t = chain.template((total) => [{ to: miner.publicKey, amount: total }], ex, syncMemo(producer, 1_700_000_000_123));
      const b = solve(t, chain.params);
      chain.acceptBlock(b);
      expect(leToDisplayHex(chain.tip().hash)).toBe(leToDisplayHex(blockHash(b.header)));
      const { app } = build({ groups: [chainGroup(chain, null)] });
      const body = (await (await app.request("/api/chain/blocks?limit=1")).json()) as { blocks: any[] };
      expect(body.blocks).toHaveLength(1);
      expect(body.blocks[0].producer).toBe(producer);
      expect(body.blocks[0].slot).toBe(b.header.nonce);
    } finally {
      store.close();
    }
  });

  test("/api/wallet is 404 without an own address, and address + balance + decimals with one", async () => {
    const { chain, store } = openChain();
    try {
      const me = generateKeyPair();
      mineOn(chain, me);
      mineOn(chain, me);
      const none = build({ groups: [chainGroup(chain, null)] }).app;
      const r404 = await none.request("/api/wallet");
      expect(r404.status).toBe(404);
      expect(((await r404.json()) as { error: string }).error).toBe("not_found");
      const mine = build({ groups: [chainGroup(chain, me)] }).app;
      const r = await mine.request("/api/wallet");
      expect(r.status).toBe(200);
      const w = (await r.json()) as { address: string; balance: string; decimals: number };
      expect(w.address).toBe(encodeAddress(me.publicKey, chain.params.addressVersion));
      expect(w.balance).toBe(chain.account(me.publicKey).balance.toString());
      expect(BigInt(w.balance)).toBeGreaterThan(0n);
      expect(w.decimals).toBe(chain.params.coinDecimals);
      // And the snapshot now carries it.
      const snap = JSON.parse(await (await mine.request("/api/panel/snapshot")).text());
      expect(snap.api["/api/wallet"].address).toBe(w.address);
    } finally {
      store.close();
    }
  });
});

// The panel: one page served by every role at GET /, its assets embedded in the binary (nothing is fetched from
// elsewhere), live over Server-Sent Events at most once a second, and the last hour's hashrate for its chart.
import type { Context, Hono } from "hono";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import pageHtml from "./panel/index.html" with { type: "text" };
import pageCss from "./panel/panel.css" with { type: "text" };
import coreJs from "./panel/core.client.js" with { type: "text" };
import rigJs from "./panel/rig.client.js" with { type: "text" };
import poolJs from "./panel/pool.client.js" with { type: "text" };
import chainJs from "./panel/chain.client.js" with { type: "text" };
import telemetryJs from "./panel/telemetry.client.js" with { type: "text" };
import mainJs from "./panel/main.client.js" with { type: "text" };

/** One embedded file: its bytes, gzip form and validator, made once at start. */
interface Asset {
  type: string;
  raw: Buffer;
  gz: Buffer;
  etag: string;
}

function asset(type: string, text: string): Asset {
  const raw = Buffer.from(text);
  return { type, raw, gz: gzipSync(raw, { level: 9 }), etag: `"${createHash("sha256").update(raw).digest("hex").slice(0, 20)}"` };
}

/** The page and its files by path; app.js is the client's parts in load order. */
export const PANEL_ASSETS: Record<string, Asset> = {
  "/": asset("text/html; charset=utf-8", pageHtml as unknown as string),
  "/panel/app.css": asset("text/css; charset=utf-8", `${uplotCss}\n${pageCss}`),
  "/panel/uplot.js": asset("text/javascript; charset=utf-8", uplotJs),
  "/panel/app.js": asset("text/javascript; charset=utf-8", [coreJs, rigJs, telemetryJs, poolJs, chainJs, mainJs].join("\n;\n")),
};

/**
 * Scripts and styles from this origin only, requests to this origin only: a page that cannot reach anything but
 * the rig (inline style attributes are allowed: the chart library sizes its canvas with them).
 */
export const PANEL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * GET paths whose answers make up a snapshot, keyed by their path without the query; those a role lacks (404) are
 * left out. The pool's workers are not in it: the page asks for the page of the table it shows (/pool/workers).
 */
export const SNAPSHOT_PATHS = [
  "/info",
  "/health",
  "/api/miner",
  "/api/miner/tuning",
  "/api/telemetry",
  "/api/worker",
  "/pool/stats?workers=none",
  "/pool/mode",
  "/pool/settings",
  "/pool/bans",
  "/pool/blocks?limit=20&summary=1",
  "/api/chain/tip",
  "/api/chain/blocks?limit=12",
  "/api/peers",
  "/api/wallet",
  "/api/mining/status",
] as const;

/** Seconds of history the chart shows, one sample a second. */
export const HISTORY_SECONDS = 3600;
/** Live clients at once; more are told to come back later (503). */
export const MAX_LIVE_CLIENTS = 32;
/** Live clients from one address. */
export const MAX_LIVE_PER_IP = 4;
/** A snapshot younger than this is handed out again instead of made anew. */
const SNAPSHOT_REUSE_MS = 900;
/** Snapshots a client may have unread before it is dropped (a reader that stopped must not grow the server). */
const MAX_BACKLOG = 8;

export interface PanelDeps {
  /** Hashrate series sampled once a second (e.g. miner, pool); null: no value this second. */
  series: () => Record<string, number | null>;
  /** The snapshot's paths (default SNAPSHOT_PATHS). */
  paths?: readonly string[];
  /** Seconds between snapshots (default 1; tests may go faster, never the page: the issue caps it at 1 Hz). */
  intervalMs?: number;
  now?: () => number;
}

/** The last hour of each series, one sample a second, in fixed rings. */
export class History {
  private readonly t = new Float64Array(HISTORY_SECONDS);
  private readonly v = new Map<string, Float64Array>();
  private n = 0;
  private at = 0;

  add(tSec: number, values: Record<string, number | null>): void {
    this.t[this.at] = tSec;
    for (const k of Object.keys(values)) if (!this.v.has(k)) this.v.set(k, new Float64Array(HISTORY_SECONDS).fill(Number.NaN));
    // Every series gets this second's slot, a missing one NaN: no value from an hour ago shows under a new time.
    for (const [k, ring] of this.v) ring[this.at] = values[k] ?? Number.NaN;
    this.at = (this.at + 1) % HISTORY_SECONDS;
    if (this.n < HISTORY_SECONDS) this.n++;
  }

  /** Oldest first; a missing value is null. */
  view(): { t: number[]; series: Record<string, (number | null)[]> } {
    const idx = Array.from({ length: this.n }, (_, i) => (this.at - this.n + i + HISTORY_SECONDS) % HISTORY_SECONDS);
    const series: Record<string, (number | null)[]> = {};
    for (const [k, ring] of this.v) series[k] = idx.map((i) => (Number.isNaN(ring[i]!) ? null : ring[i]!));
    return { t: idx.map((i) => this.t[i]!), series };
  }
}

/** The panel of one API: its routes, the history sampler and the live feed. */
export class Panel {
  readonly history = new History();
  /** Live clients and the address each came from (null: in-process). */
  private readonly clients = new Map<ReadableStreamDefaultController<Uint8Array>, string | null>();
  private readonly perIp = new Map<string, number>();
  private readonly sampler: ReturnType<typeof setInterval>;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private closed = false;
  private seq = 0;
  private app: Hono | null = null;
  private last: { t: number; values: Record<string, number | null> } | null = null;
  private readonly enc = new TextEncoder();
  private readonly now: () => number;

  constructor(private readonly d: PanelDeps) {
    this.now = d.now ?? Date.now;
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref?.();
    this.sample();
  }

  private sample(): void {
    const values = this.d.series();
    const t = Math.floor(this.now() / 1000);
    this.history.add(t, values);
    this.last = { t, values };
  }

  /** Adds GET /, the assets, GET /api/panel/history and GET /api/panel/events to `app`. */
  routes(app: Hono): void {
    this.app = app;
    for (const path of Object.keys(PANEL_ASSETS)) app.get(path, (c) => serveAsset(c, PANEL_ASSETS[path]!));
    app.get("/api/panel/history", (c) => c.json({ step_s: 1, ...this.history.view() }));
    app.get("/api/panel/snapshot", async (c) => c.body(await this.snapshot(), 200, { "content-type": "application/json" }));
    app.get("/api/panel/events", (c) => this.subscribe((c.env as { ip?: string } | undefined)?.ip ?? null));
  }

  /**
   * The current snapshot, made at most about once a second however many ask (the ticker, newcomers, GET
   * /api/panel/snapshot): reads are open beyond loopback, and asking must not cost the rig more than that.
   */
  snapshot(): Promise<string> {
    const t = this.now();
    if (this.cached && t - this.cached.at < SNAPSHOT_REUSE_MS) return this.cached.data;
    const data = this.build();
    this.cached = { at: t, data };
    data.catch(() => (this.cached = null));
    return data;
  }
  private cached: { at: number; data: Promise<string> } | null = null;

  /** Every snapshot path's answer as one JSON object (raw texts joined: no parse and re-encode of big answers). */
  private async build(): Promise<string> {
    const app = this.app!;
    const parts = await Promise.all(
      (this.d.paths ?? SNAPSHOT_PATHS).map(async (p) => {
        const r = await app.request(p);
        // A JSON body has no newline inside its strings (escaped), so dropping raw ones keeps it one SSE data line.
        return r.status === 404 ? null : `${JSON.stringify(p.split("?")[0])}:${(await r.text()).replace(/[\r\n]/g, "")}`;
      }),
    );
    const point = this.last ? JSON.stringify({ t: this.last.t, ...this.last.values }) : "null";
    return `{"t":${this.now()},"point":${point},"api":{${parts.filter((x) => x !== null).join(",")}}}`;
  }

  /** A live stream for a client at `ip` (null: in-process, no address). */
  private subscribe(ip: string | null): Response {
    if (this.closed) return Response.json({ error: "unavailable", message: "the API is stopping" }, { status: 503 });
    const busy = (message: string) => Response.json({ error: "busy", message }, { status: 503, headers: { "retry-after": "10" } });
    if (this.clients.size >= MAX_LIVE_CLIENTS) return busy(`${MAX_LIVE_CLIENTS} live panels are open already; close one or reload later`);
    // One host cannot take every place: a few tabs each, the rest for everyone else.
    if (ip !== null && (this.perIp.get(ip) ?? 0) >= MAX_LIVE_PER_IP) return busy(`${MAX_LIVE_PER_IP} live panels are open from ${ip} already; close a tab`);
    let me: ReadableStreamDefaultController<Uint8Array> | null = null;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (ctrl) => {
          me = ctrl;
          this.clients.set(ctrl, ip);
          if (ip !== null) this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
          // The browser reconnects by itself after 2 s; each snapshot is the whole state, so nothing is replayed.
          ctrl.enqueue(this.enc.encode("retry: 2000\n\n"));
          this.ensureTicker();
          void this.welcome(ctrl);
        },
        cancel: () => {
          if (me) this.drop(me);
        },
      },
      { highWaterMark: MAX_BACKLOG },
    );
    return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" } });
  }

  /** The newcomer's first frame, to it alone (a crowd reconnecting adds nothing to the others' 1 Hz). */
  private async welcome(ctrl: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const frame = this.frame(await this.snapshot());
    if (!this.clients.has(ctrl)) return;
    try {
      ctrl.enqueue(frame);
    } catch {
      this.drop(ctrl);
    }
  }

  private frame(data: string): Uint8Array {
    return this.enc.encode(`id: ${++this.seq}\nevent: snapshot\ndata: ${data}\n\n`);
  }

  private ensureTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => void this.tick(), this.d.intervalMs ?? 1000);
    this.ticker.unref?.();
  }

  private drop(ctrl: ReadableStreamDefaultController<Uint8Array>): void {
    if (!this.clients.has(ctrl)) return;
    const ip = this.clients.get(ctrl)!;
    this.clients.delete(ctrl);
    if (ip !== null) {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n > 0) this.perIp.set(ip, n);
      else this.perIp.delete(ip);
    }
    if (this.clients.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** One snapshot for every client; skipped while the last one is still being made. */
  private async tick(): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const frame = this.frame(await this.snapshot());
      for (const c of [...this.clients.keys()]) {
        if ((c.desiredSize ?? 0) <= 0) {
          // MAX_BACKLOG snapshots unread: a stalled reader. Closing ends its stream; a live browser reconnects.
          this.drop(c);
          try {
            c.close();
          } catch {}
          continue;
        }
        try {
          c.enqueue(frame);
        } catch {
          this.drop(c);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Live clients now. */
  liveClients(): number {
    return this.clients.size;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sampler);
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const c of this.clients.keys()) {
      try {
        c.close();
      } catch {}
    }
    this.clients.clear();
    this.perIp.clear();
  }
}

/** An embedded file with its validator; gzip when the client takes it; the page with its security headers. */
function serveAsset(c: Context, a: Asset): Response {
  const headers: Record<string, string> = { "content-type": a.type, "cache-control": "no-cache", "x-content-type-options": "nosniff", vary: "accept-encoding" };
  if (a.type.startsWith("text/html")) {
    headers["content-security-policy"] = PANEL_CSP;
    headers["referrer-policy"] = "no-referrer";
  }
  const gz = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
  // Each encoding has its own validator (a strong ETag names one exact body).
  headers.etag = gz ? `${a.etag.slice(0, -1)}-gz"` : a.etag;
  if (gz) headers["content-encoding"] = "gzip";
  const inm = c.req.header("if-none-match");
  if (inm !== undefined && (inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === headers.etag))) return new Response(null, { status: 304, headers });
  return new Response(gz ? a.gz : a.raw, { headers });
}

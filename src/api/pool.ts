import type { Hono } from "hono";
import { ownerOnly } from "./auth";
import { jsonBody } from "./body";
import { z } from "zod";
import { displayHexToLe, RignodeError, type MetricFamily, MetricsRegistry } from "../core";
import type { Ban, HttpWorkers, PoolServer } from "../pool";

export type PoolMode = "host" | "solo" | "join";

/** What the pool routes drive; the composition root implements mode switching. */
export interface PoolRouteDeps {
  server: PoolServer;
  http: HttpWorkers;
  mode(): { mode: PoolMode; pool?: string; user?: string };
  setMode(req: { mode: PoolMode; pool?: string; user?: string }): Promise<void>;
  /** Opens the Stratum listeners; rejects with the listen error (a port in use: "busy", 409) and stays stopped. */
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** The Stratum ports listening now (null: closed or off). */
  listening?(): { stratum: number | null; stratumJson: number | null; stratumTls?: number | null };
  /** With an upstream daemon: its -blocknotify calls POST /pool/blocknotify (fetch the new template now). */
  blocknotify?: () => void;
}

/** A ban as the API shows it (times in ms since the epoch and seconds left). */
function showBan(b: Ban) {
  return { ip: b.ip, worker: b.worker, scope: b.worker === null ? "ip" : "worker", reason: b.reason, since: b.since, until: b.until, seconds_left: Math.max(0, Math.ceil((b.until - Date.now()) / 1000)), strikes: b.strikes };
}

const hex8 = z.string().regex(/^[0-9a-fA-F]{8}$/, "8 hex digits");
const registerBody = z.object({ user: z.string().min(1).max(200), password: z.string().max(200).optional() }).strict();
const shareBody = z
  .object({
    session: z.string().regex(/^[0-9a-f]{32}$/),
    job_id: z.string().min(1).max(64),
    extranonce2: hex8,
    ntime: hex8,
    nonce: hex8,
    version_bits: hex8.optional(),
    worker: z.string().max(200).optional(),
  })
  .strict();
const configureBody = z
  .object({
    pool_fee_percent: z.number().min(0).max(10).optional(),
    share_interval_s: z.number().min(0.1).max(3600).optional(),
    shares_per_second: z.number().int().min(0).optional(),
    max_conns_per_ip: z.number().int().min(0).optional(),
    ban_seconds: z.number().int().min(0).optional(),
  })
  .strict();
const modeBody = z.object({ mode: z.enum(["host", "solo", "join"]), pool: z.string().max(300).optional(), user: z.string().max(200).optional() }).strict();

type WorkerRow = ReturnType<PoolServer["workerList"]>[number];
const WORKER_SORTS = ["user", "hashrate_hs", "difficulty", "accepted", "rejected_total", "stale", "score", "last_share", "connected_since"] as const;
const workersQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  sort: z.enum(WORKER_SORTS).default("hashrate_hs"),
  dir: z.enum(["asc", "desc"]).default("desc"),
  q: z.string().max(200).default(""),
});

function sortKey(w: WorkerRow, k: (typeof WORKER_SORTS)[number]): number | string {
  if (k === "rejected_total") return Object.values(w.rejected).reduce((a, b) => a + b, 0);
  const v = w[k];
  return v === null ? -Infinity : v;
}

/** One page of the workers, filtered by name or address (case-insensitive) and sorted (ties by name). */
export function workersPage(all: WorkerRow[], query: Record<string, string>) {
  const p = workersQuery.safeParse(query);
  if (!p.success) throw new RignodeError("input", `bad workers query: ${p.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")} (offset, limit 1-1000, sort ${WORKER_SORTS.join("|")}, dir asc|desc, q)`);
  const { offset, limit, sort, dir, q } = p.data;
  const needle = q.toLowerCase();
  const matched = needle ? all.filter((w) => w.user.toLowerCase().includes(needle) || w.address.toLowerCase().includes(needle)) : [...all];
  const sign = dir === "asc" ? 1 : -1;
  matched.sort((x, y) => {
    const a = sortKey(x, sort);
    const b = sortKey(y, sort);
    return (a < b ? -1 : a > b ? 1 : 0) * sign || (x.user < y.user ? -1 : x.user > y.user ? 1 : 0);
  });
  return { total: all.length, connected: all.filter((w) => w.connected).length, matched: matched.length, offset, limit, sort, dir, workers: matched.slice(offset, offset + limit) };
}

/** The Stratum ports listening now, as the API shows them. */
function listening(d: PoolRouteDeps): { listening?: { stratum: number | null; stratum_json: number | null; stratum_tls: number | null } } {
  const l = d.listening?.();
  return l ? { listening: { stratum: l.stratum, stratum_json: l.stratumJson, stratum_tls: l.stratumTls ?? null } } : {};
}

/**
 * The pool's HTTP surface (seed 004): stats, blocks with their payout plans, metrics, mode, start/stop/configure
 * (writes: bearer token off loopback; mode and configure, which redirect hashrate or money, always), and an HTTP
 * worker path (register, job, share) through the same checks.
 */
export function poolRoutes(app: Hono, d: PoolRouteDeps): void {
  // ?workers=none leaves the worker list out (the panel pages it through /pool/workers).
  app.get("/pool/stats", (c) => c.json({ mode: d.mode().mode, ...d.server.stats(c.req.query("workers") !== "none"), ...listening(d), http_sessions: d.http.count(), ...(d.server.cluster() ?? {}) }));
  app.get("/pool/workers", (c) => c.json(workersPage(d.server.workerList(), c.req.query())));
  // ?summary=1: without outputs, weights and carried amounts (a plan can name thousands), for lists; a block's own
  // route has all of it.
  app.get("/pool/blocks", (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? 100) || 100));
    const blocks = d.server.blocks(limit);
    if (c.req.query("summary") === undefined) return c.json({ blocks });
    return c.json({ blocks: blocks.map(({ outputs, weights: _w, carried: _c, ...b }) => ({ ...b, outputs_count: outputs.length })) });
  });
  app.get("/pool/blocks/:hash", (c) => {
    const b = d.server.block(displayHexToLe(c.req.param("hash"), "block hash"));
    if (!b) throw new RignodeError("not_found", `the pool found no block ${c.req.param("hash").slice(0, 64)}`);
    return c.json(b);
  });
  app.get("/pool/metrics", (c) => {
    const r = new MetricsRegistry();
    r.register((): MetricFamily[] => d.server.metrics());
    return c.text(r.render(), 200, { "content-type": "text/plain; version=0.0.4" });
  });
  app.get("/pool/mode", (c) => c.json(d.mode()));
  app.get("/pool/settings", (c) => c.json(d.server.settings()));
  app.get("/pool/bans", (c) => c.json({ bans: d.server.bans().map(showBan) }));
  app.delete("/pool/bans/:ip", (c) => {
    const ip = c.req.param("ip");
    const lifted = d.server.unban(ip);
    if (!lifted) throw new RignodeError("not_found", `no ban in force for ${ip.slice(0, 64)}`);
    return c.json({ ip, lifted });
  });
  if (d.blocknotify) {
    const notify = d.blocknotify;
    app.post("/pool/blocknotify", (c) => {
      notify();
      return c.json({ ok: true });
    });
  }
  app.post("/pool/mode", ownerOnly, async (c) => {
    await d.setMode(await jsonBody(c, modeBody, '{"mode": "host"|"solo"|"join", "pool"?, "user"?}'));
    return c.json(d.mode());
  });
  app.post("/pool/start", async (c) => {
    await d.start();
    return c.json({ ...d.mode(), running: d.server.isRunning(), ...listening(d) });
  });
  app.post("/pool/stop", async (c) => {
    await d.stop();
    return c.json({ ...d.mode(), running: d.server.isRunning(), ...listening(d) });
  });
  app.post("/pool/configure", ownerOnly, async (c) => {
    const b = await jsonBody(c, configureBody, "{pool_fee_percent?, share_interval_s?, shares_per_second?, max_conns_per_ip?, ban_seconds?}");
    d.server.configure({
      poolFeeBps: b.pool_fee_percent === undefined ? undefined : Math.round(b.pool_fee_percent * 100),
      shareInterval: b.share_interval_s,
      sharesPerSecond: b.shares_per_second,
      maxPerIp: b.max_conns_per_ip,
      banSeconds: b.ban_seconds,
    });
    return c.json(d.server.settings());
  });
  app.post("/pool/register", async (c) => {
    if (!d.server.isRunning()) throw new RignodeError("unavailable", "the pool is stopped (mode solo or join)");
    const b = await jsonBody(c, registerBody, '{"user": "ADDRESS[.NAME]", "password"?}');
    const ip = (c.env as { ip?: string } | undefined)?.ip ?? "unknown";
    return c.json(await d.http.register(b.user, b.password ?? "", ip));
  });
  app.get("/pool/job", (c) => {
    const session = c.req.query("session") ?? "";
    return c.json(d.http.job(session));
  });
  app.post("/pool/share", async (c) => {
    const b = await jsonBody(c, shareBody, "{session, job_id, extranonce2, ntime, nonce, version_bits?}");
    const r = await d.http.share(b.session, b);
    return c.json(r, r.accepted ? 200 : 400);
  });
}

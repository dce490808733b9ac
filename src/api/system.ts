import type { Hono } from "hono";
import type { MetricsRegistry } from "../core";

export interface SystemDeps {
  /** GET /info body: version, role, kernel, CPU, uptime. */
  info: () => Record<string, unknown>;
  /** GET /health body; `ok: false` answers 503. */
  health: () => { ok: boolean } & Record<string, unknown>;
  metrics: MetricsRegistry;
}

/** GET /health, GET /info, GET /metrics: every role has them. */
export function systemRoutes(app: Hono, deps: SystemDeps): void {
  app.get("/health", (c) => {
    const h = deps.health();
    return c.json({ status: h.ok ? "ok" : "degraded", ...h }, h.ok ? 200 : 503);
  });
  app.get("/info", (c) => c.json(deps.info()));
  app.get("/metrics", (c) => c.text(deps.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
}

import type { Hono } from "hono";

/** GET /api/peers: connected peers and banned addresses. */
export function peerRoutes(app: Hono, view: () => { peers: unknown[]; banned: unknown[] }): void {
  app.get("/api/peers", (c) => c.json(view()));
}

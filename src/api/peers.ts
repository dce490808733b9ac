import type { Hono } from "hono";

export interface PeersView {
  /** Links open now (inbound and outbound, handshake done or under way). */
  peers: unknown[];
  /** The --peer addresses: state (connecting / connected / failed), last error, next retry. */
  configured: unknown[];
  banned: unknown[];
  /** The address book: how many addresses, from how many sources. */
  addresses?: { size: number; sources: number };
}

/** GET /api/peers: open links, the configured peers with their state, banned addresses. */
export function peerRoutes(app: Hono, view: () => PeersView): void {
  app.get("/api/peers", (c) => c.json(view()));
}

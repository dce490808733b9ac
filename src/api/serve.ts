import type { Hono } from "hono";
import { RignodeError } from "../core";

/** The one place that opens the HTTP socket. */
export function serveApi(app: Hono, host: string, port: number): { port: number; stop: () => Promise<void> } {
  let server: ReturnType<typeof Bun.serve>;
  try {
    // The peer's address goes to the routes as c.env.ip (HTTP pool workers are counted and banned by it).
    server = Bun.serve({ hostname: host, port, fetch: (req, srv) => app.fetch(req, { ip: srv.requestIP(req)?.address ?? "unknown" }) });
  } catch (cause) {
    throw new RignodeError("config", `API cannot listen on ${host}:${port}: ${(cause as Error).message}`, { cause });
  }
  return { port: server.port ?? port, stop: () => server.stop(true) };
}

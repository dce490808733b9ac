import type { Hono } from "hono";
import { listenError } from "../core";

/** The one place that opens the HTTP socket. */
export function serveApi(app: Hono, host: string, port: number): { port: number; stop: () => Promise<void> } {
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: host, port, fetch: app.fetch });
  } catch (cause) {
    throw listenError("API", "api", host, port, cause);
  }
  return { port: server.port ?? port, stop: () => server.stop(true) };
}

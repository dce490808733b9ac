import type { Hono } from "hono";
import { listenError, RignodeError } from "../core";

/**
 * The one place that opens the HTTP socket. Tries `ports` in order and takes the first free one; a busy port moves
 * on only while there is another candidate, so a single port (given by the operator) fails as given.
 */
export function serveApi(app: Hono, host: string, ports: number[]): { port: number; stop: () => Promise<void> } {
  for (let i = 0; ; i++) {
    const port = ports[i]!;
    let server: ReturnType<typeof Bun.serve>;
    try {
      // The peer's address goes to the routes as c.env.ip (HTTP pool workers are counted and banned by it).
      server = Bun.serve({ hostname: host, port, fetch: (req, srv) => app.fetch(req, { ip: (srv.requestIP(req)?.address ?? "unknown").replace(/^::ffff:/, "") }) });
    } catch (cause) {
      const busy = (cause as NodeJS.ErrnoException).code === "EADDRINUSE";
      if (busy && i + 1 < ports.length) continue;
      if (busy && ports.length > 1) {
        throw new RignodeError("busy", `API ports ${host}:${ports[0]}-${ports.at(-1)} are all in use (other rignode processes?); pass --api HOST:PORT`, { cause });
      }
      throw listenError("API", "api", host, port, cause);
    }
    return { port: server.port ?? port, stop: () => server.stop(true) };
  }
}

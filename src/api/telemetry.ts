import type { Hono } from "hono";
import { RignodeError } from "../core";
import type { Advisory, Scored, TelemetryView } from "../telemetry";

/** What the telemetry routes read (the node's sampler). */
export interface TelemetrySource {
  view(): TelemetryView;
  advice(): Advisory[];
  history(n?: number): Scored[];
}

const NOT_HERE = { error: "not_found", message: "no telemetry here: it runs where a miner or a pool runs (and --telemetry=false turns it off)" };
const MAX_HISTORY = 3600;

/**
 * GET /api/telemetry (the whole view: last scored sample, advisories, actions, rate, thresholds file),
 * /api/telemetry/advice (advisories in force) and /api/telemetry/history?n= (the last n scored samples, oldest first).
 */
export function telemetryRoutes(app: Hono, source: () => TelemetrySource | null): void {
  app.get("/api/telemetry", (c) => {
    const t = source();
    return t ? c.json(t.view()) : c.json(NOT_HERE, 404);
  });
  app.get("/api/telemetry/advice", (c) => {
    const t = source();
    return t ? c.json({ advisories: t.advice() }) : c.json(NOT_HERE, 404);
  });
  app.get("/api/telemetry/history", (c) => {
    const t = source();
    if (!t) return c.json(NOT_HERE, 404);
    const raw = c.req.query("n") ?? "60";
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_HISTORY) {
      throw new RignodeError("input", `n must be a whole number 1..${MAX_HISTORY} (samples, oldest first), got '${raw}'`);
    }
    const rows = t.history(Number(raw));
    return c.json({ n: rows.length, samples: rows });
  });
}

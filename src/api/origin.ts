import type { MiddlewareHandler } from "hono";
import { isIP } from "node:net";
import { hostname } from "node:os";
import type { Logger } from "../core";
import { isLoopbackHost } from "../config";

/** Which `Host` names the API answers to. */
export interface HostPolicy {
  /** The configured listen host as given (`127.0.0.1`, `0.0.0.0`, `::`, `192.168.1.5`, `rig.lan`). */
  listenHost: string;
  /** This machine's own names, accepted on a listener beyond loopback (default: from os.hostname()). */
  machineNames?: string[];
}

/** The host name of a `Host` header (`[::1]:8420` → `::1`, `Rig:80` → `rig`), or null when it is not one. */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]! : null;
}

/** The names a host goes by: its hostname, the first label of it, and that label under mDNS's `.local`. */
function ownNames(): string[] {
  const full = hostname().toLowerCase();
  const short = full.split(".")[0]!;
  return [...new Set([full, short, `${short}.local`])].filter((n) => n !== "");
}

/**
 * Whether a request's `Host` may reach the API. DNS rebinding sends a name the attacker controls that resolves to
 * this machine, so names are what must be checked; an IP literal cannot be rebound (the page's origin is then the
 * rig itself). On a loopback listener only loopback names and addresses pass; beyond loopback also the listen
 * host as given, any IP literal and the machine's own names.
 */
export function hostAllowed(header: string, policy: HostPolicy): boolean {
  const name = hostName(header);
  if (name === null) return false;
  if (isLoopbackHost(name)) return true;
  const listen = policy.listenHost.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (isLoopbackHost(listen)) return false;
  if (name === listen || isIP(name) !== 0) return true;
  return (policy.machineNames ?? ownNames()).map((n) => n.toLowerCase()).includes(name);
}

export type RefusalReason = "host" | "origin";

const SHOWN = 200;
const clip = (s: string | undefined) => (s === undefined ? null : s.length > SHOWN ? `${s.slice(0, SHOWN)}…` : s);

/**
 * Refuses (403, `api.refused` logged) a request whose `Host` is not allowed, or that carries an `Origin` other than
 * the API's own (`http://` + its Host) — for every method: a foreign page may neither steer the rig nor read its
 * addresses and hashrate. No `Origin` (curl, rignode's CLI, a daemon's blocknotify) passes. Log lines are limited
 * to one per reason per second, with a count of those left out, so a page looping requests cannot flood the log.
 */
export function originGuard(policy: HostPolicy, log?: Logger, now: () => number = Date.now): MiddlewareHandler {
  const quiet = new Map<RefusalReason, { until: number; suppressed: number }>();
  const refuse = (reason: RefusalReason, fields: Record<string, unknown>) => {
    const q = quiet.get(reason);
    const t = now();
    if (q && t < q.until) {
      q.suppressed++;
      return;
    }
    log?.warn("api.refused", { reason, ...fields, ...(q?.suppressed ? { suppressed: q.suppressed } : {}) });
    quiet.set(reason, { until: t + 1000, suppressed: 0 });
  };
  return async (c, next) => {
    // A Request built in-process (app.request) has no Host header: its URL's host stands in, as Bun derives one.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const origin = c.req.header("origin");
    const fields = { host: clip(host), origin: clip(origin), method: c.req.method, path: clip(c.req.path), ip: (c.env as { ip?: string } | undefined)?.ip ?? null };
    // Beyond loopback a tool (curl, Prometheus, rignode wallet) may use any DNS name of the rig: a request with neither
    // Origin nor Sec-Fetch-Site comes from no browser page (browsers send Sec-Fetch-Site on every request they make),
    // so it cannot be a rebinding attack. A loopback listener keeps to loopback names.
    const tool = origin === undefined && c.req.header("sec-fetch-site") === undefined && !isLoopbackHost(policy.listenHost.replace(/^\[(.*)\]$/, "$1"));
    if (!tool && !hostAllowed(host, policy)) {
      refuse("host", fields);
      return c.json({ error: "forbidden", message: `Host '${clip(host)}' is not this API's address (use http://127.0.0.1:PORT or the listen address)` }, 403);
    }
    if (origin !== undefined && origin.toLowerCase() !== `http://${host.trim().toLowerCase()}`) {
      refuse("origin", fields);
      return c.json({ error: "forbidden", message: `requests from pages of another origin (${clip(origin)}) are refused` }, 403);
    }
    await next();
  };
}

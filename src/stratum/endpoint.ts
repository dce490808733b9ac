import { RignodeError } from "../core";
import type { StratumCodec } from "./codec";

/**
 * A pool to connect to: HOST:PORT is the native msgpack port, stratum+tcp://HOST:PORT the JSON one,
 * stratum+ssl://HOST:PORT (or stratum+tls://) the JSON one over TLS.
 */
export interface PoolEndpoint {
  host: string;
  port: number;
  codec: StratumCodec;
  tls?: boolean;
}

/** Parses one pool address: `HOST:PORT` (native frames), `stratum+tcp://HOST:PORT` (Stratum V1 JSON), `stratum+ssl://` (over TLS). */
export function parsePoolUrl(s: string): PoolEndpoint {
  const m = /^(?:(stratum\+tcp|stratum\+ssl|stratum\+tls|rignode):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim());
  if (!m || Number(m[3]) > 65535 || Number(m[3]) === 0) {
    throw new RignodeError("config", `pool address '${s}' is not HOST:PORT, stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT`);
  }
  const host = m[2]!.replace(/^\[|\]$/g, "");
  if (m[1] === "stratum+ssl" || m[1] === "stratum+tls") return { host, port: Number(m[3]), codec: "json", tls: true };
  return { host, port: Number(m[3]), codec: m[1] === "stratum+tcp" ? "json" : "native" };
}

/** HOST:PORT of an endpoint, as the logs name a pool. */
export function hostPort(ep: PoolEndpoint): string {
  return `${ep.host}:${ep.port}`;
}

/** Bun.connect's TLS options for an endpoint: its certificate checked (against `ca` when given, else the system's CAs) and its name too. */
export function tlsOptions(ep: PoolEndpoint, ca?: string): { tls?: { rejectUnauthorized: true; serverName: string; ca?: string } } {
  return ep.tls ? { tls: { rejectUnauthorized: true, serverName: ep.host, ...(ca ? { ca } : {}) } } : {};
}

/** Calls `up` if the endpoint accepts a TCP connection now (closed at once; nothing is said on it). */
export function probeEndpoint(ep: PoolEndpoint, ca: string | undefined, up: () => void): void {
  Bun.connect({
    hostname: ep.host,
    port: ep.port,
    ...tlsOptions(ep, ca),
    socket: {
      open: (s) => {
        s.end();
        up();
      },
      data: () => {},
      connectError: () => {},
    },
  }).catch(() => {});
}

/** A parsed HOST:PORT. */
export interface Listen {
  host: string;
  port: number;
}

/** Splits HOST:PORT (the schema has already checked its shape); [v6] loses its brackets. */
export function parseListen(s: string): Listen {
  const i = s.lastIndexOf(":");
  let host = s.slice(0, i);
  if (host.startsWith("[")) host = host.slice(1, -1);
  return { host, port: Number(s.slice(i + 1)) };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

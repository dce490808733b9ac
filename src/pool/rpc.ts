// JSON-RPC to a bitcoind-compatible daemon (litecoind, bitcoind): the client the upstream source speaks through.
import { RignodeError } from "../core";

/** An error the daemon answered (its JSON-RPC code and message): a RignodeError ("refused") with the daemon's code. */
export class RpcError extends RignodeError {
  constructor(
    readonly rpcCode: number,
    message: string,
  ) {
    super("refused", message, { details: { rpc_code: String(rpcCode) } });
  }
}

/** JSON-RPC 1.0 over HTTP with basic auth, as bitcoind and its forks speak it. */
export class RpcClient {
  readonly endpoint: string;
  private readonly auth: string;
  /** The URL without its password, for logs and status. */
  readonly shown: string;

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new RignodeError("usage", `--upstream must be http://USER:PASS@HOST:PORT, got '${url.slice(0, 100)}'`);
    }
    if (u.protocol !== "http:" || !u.port) throw new RignodeError("usage", `--upstream must be http://USER:PASS@HOST:PORT, got '${url.slice(0, 100)}'`);
    this.auth = "Basic " + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64");
    this.shown = `http://${u.username ? u.username + "@" : ""}${u.host}${u.pathname === "/" ? "" : u.pathname}`;
    u.username = u.password = "";
    this.endpoint = u.toString();
  }

  async call<T = unknown>(method: string, params: unknown[] = [], timeoutMs = 30_000, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await fetch(this.endpoint, {
      method: "POST",
      // No keep-alive: a daemon waits for idle HTTP connections when it shuts down.
      headers: { authorization: this.auth, "content-type": "text/plain", connection: "close" },
      body: JSON.stringify({ jsonrpc: "1.0", id: method, method, params }),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    if (res.status === 401 || res.status === 403) throw new RignodeError("config", `upstream refused the RPC credentials (HTTP ${res.status})`);
    const text = await res.text();
    let body: { result?: unknown; error?: { code: number; message: string } | null };
    try {
      body = JSON.parse(text);
    } catch {
      throw new RignodeError("unavailable", `upstream answered HTTP ${res.status} without JSON`);
    }
    if (body.error) throw new RpcError(body.error.code, body.error.message);
    return body.result as T;
  }
}

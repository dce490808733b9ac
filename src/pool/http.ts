import { randomBytes } from "node:crypto";
import { RignodeError } from "../core";
import type { Outgoing } from "../stratum";
import type { Link, PoolConn, PoolServer } from "./server";

interface HttpWorker {
  conn: PoolConn;
  replies: Map<unknown, Outgoing>;
}

/**
 * Workers over HTTP (POST /pool/register, GET /pool/job, POST /pool/share): each registration is a session of
 * the same state machine as a TCP connection, so its shares pass the same checks, ledger and vardiff.
 */
export class HttpWorkers {
  private readonly byToken = new Map<string, HttpWorker>();
  private nextId = 1;

  constructor(private readonly server: PoolServer) {}

  /** Subscribes and authorizes a new HTTP session for `user`; the token names it in later calls. */
  async register(user: string, password: string, ip: string): Promise<{ session: string; extranonce1: string; extranonce2_size: number; difficulty: number }> {
    const token = randomBytes(16).toString("hex");
    const replies = new Map<unknown, Outgoing>();
    const link: Link = {
      ip,
      codec: "http",
      encode: (m) => new TextEncoder().encode(JSON.stringify(m)),
      write: (b) => {
        const m = JSON.parse(new TextDecoder().decode(b)) as Outgoing;
        if ("result" in m) replies.set(m.id, m);
      },
      flush: () => {},
      send: (b) => link.write(b),
      close: () => {
        this.byToken.delete(token);
        this.server.closed(conn);
      },
    };
    const c = this.server.open(link);
    if (typeof c === "string") throw new RignodeError("input", `refused: ${c}`);
    const conn = c;
    this.byToken.set(token, { conn, replies });
    const sub = await this.call(token, "mining.subscribe", ["rignode-http"]);
    const auth = await this.call(token, "mining.authorize", [user, password]);
    if (auth.error) {
      link.close("unauthorized");
      throw new RignodeError("input", auth.error[1]);
    }
    const r = sub.result as [unknown, string, number];
    return { session: token, extranonce1: r[1], extranonce2_size: r[2], difficulty: conn.difficulty };
  }

  /** The current job for a session, with the difficulty it is checked at. */
  job(token: string): { job_id: string; params: unknown[]; difficulty: number; clean: boolean } {
    const w = this.get(token);
    const j = this.server.currentJob();
    if (!j) throw new RignodeError("unavailable", "the pool has no job yet");
    w.conn.noteDifficulty(j.seq, w.conn.difficulty);
    w.conn.workSent = true;
    return { job_id: String(j.params[0]), params: j.params, difficulty: w.conn.difficulty, clean: false };
  }

  /** A share through the session: the answer of mining.submit (result true, or the Stratum error). */
  async share(token: string, p: { job_id: string; extranonce2: string; ntime: string; nonce: string; version_bits?: string; worker?: string }) {
    const w = this.get(token);
    const worker = p.worker ?? [...w.conn.users.keys()][0]!;
    const params = [worker, p.job_id, p.extranonce2, p.ntime, p.nonce, ...(p.version_bits ? [p.version_bits] : [])];
    const r = await this.call(token, "mining.submit", params);
    return { accepted: r.result === true, error: r.error ? { code: r.error[0], message: r.error[1] } : null };
  }

  private get(token: string): HttpWorker {
    const w = this.byToken.get(token);
    if (!w) throw new RignodeError("not_found", "unknown or expired session; POST /pool/register first");
    return w;
  }

  private async call(token: string, method: string, params: unknown[]): Promise<{ result: unknown; error: [number, string, null] | null }> {
    const w = this.get(token);
    const id = this.nextId++;
    await w.conn.handle({ id, method, params }, this.server.now());
    const r = w.replies.get(id) as { result: unknown; error: [number, string, null] | null } | undefined;
    w.replies.delete(id);
    if (!r) throw new RignodeError("internal", `no answer to ${method}`);
    return r;
  }

  count(): number {
    return this.byToken.size;
  }
}

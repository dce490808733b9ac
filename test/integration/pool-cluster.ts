// Pool instances, workers and Stratum probes as real processes on loopback, for the cluster test and the failover
// bench: `rignode pool --ledger postgres://… --bus redis://…` members peering over P2P, `rignode worker`s, and a raw
// Stratum V1 JSON client that records what a miner is told (extranonce1, every notify).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { bin, freePort } from "../helpers";

const env = { ...process.env, RIGNODE_LOG_JSON: "true" };

export interface Proc {
  proc: ReturnType<typeof Bun.spawn>;
  /** stderr JSON log lines as they come. */
  log: string[];
  events(name: string): Record<string, any>[];
}

function spawn(args: string[]): Proc {
  const proc = Bun.spawn([bin(), ...args], { stdout: "ignore", stderr: "pipe", env });
  const p: Proc = {
    proc,
    log: [],
    events: (name) => p.log.flatMap((l) => {
      try {
        const e = JSON.parse(l);
        return e.event === name ? [e] : [];
      } catch {
        return [];
      }
    }),
  };
  void (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      const lines = (rest + dec.decode(chunk)).split("\n");
      rest = lines.pop()!;
      p.log.push(...lines.filter(Boolean));
    }
  })();
  return p;
}

export interface Instance extends Proc {
  api: string;
  native: number;
  json: number;
  p2p: number;
  instance: number;
}

/** `rignode pool` as one member: its own data dir and ports, the shared ledger and bus, peers over P2P. */
export function startInstance(o: { instance: number; ledger: string; bus: string; peers?: number[]; extra?: string[] }): Instance {
  const [api, native, json, p2p] = [freePort(), freePort(), freePort(), freePort()];
  const p = spawn([
    "pool", "--data-dir", mkdtempSync(join(tmpdir(), `rignode-member${o.instance}-`)), "--api", `127.0.0.1:${api}`, "--p2p", `127.0.0.1:${p2p}`, "--discover=false",
    ...(o.peers ?? []).flatMap((x) => ["--peer", `127.0.0.1:${x}`]),
    "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${json}`, "--ledger", o.ledger, "--bus", o.bus, "--pool-instance", String(o.instance), ...(o.extra ?? []),
  ]);
  return { ...p, api: `http://127.0.0.1:${api}`, native, json, p2p, instance: o.instance };
}

export interface Worker extends Proc {
  api: string;
  user: string;
}

export function startWorker(pool: string, user: string, extra: string[] = []): Worker {
  const api = freePort();
  const p = spawn(["worker", "--pool", pool, "--user", user, "--threads", "1", "--api", `127.0.0.1:${api}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-cw-")), ...extra]);
  return { ...p, api: `http://127.0.0.1:${api}`, user };
}

export async function json(url: string): Promise<any> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

/** Whether an instance leads now (its rignode_pool_leader gauge); null when it does not answer. */
export async function leads(i: Instance): Promise<boolean | null> {
  try {
    const r = await fetch(`${i.api}/metrics`);
    const m = /^rignode_pool_leader (\d)/m.exec(await r.text());
    return m ? m[1] === "1" : null;
  } catch {
    return null;
  }
}

/** A miner's view of a pool over Stratum V1 JSON: its extranonce1 and every notify (params) it is sent. */
export class Probe {
  extranonce1: string | null = null;
  readonly notifies: unknown[][] = [];
  private readonly sock: Socket;
  private buf = "";

  constructor(port: number, user: string) {
    this.sock = connect({ host: "127.0.0.1", port });
    this.sock.setEncoding("utf8");
    this.sock.on("data", (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          const m = JSON.parse(line);
          if (m.id === 1 && Array.isArray(m.result)) this.extranonce1 = m.result[1];
          if (m.method === "mining.notify") this.notifies.push(m.params);
        } catch {}
      }
    });
    this.sock.on("error", () => {});
    this.sock.write(JSON.stringify({ id: 1, method: "mining.subscribe", params: ["probe/1"] }) + "\n");
    this.sock.write(JSON.stringify({ id: 2, method: "mining.authorize", params: [user, "x"] }) + "\n");
  }

  get jobs(): string[] {
    return this.notifies.map((n) => n[0] as string);
  }

  close(): void {
    this.sock.destroy();
  }
}

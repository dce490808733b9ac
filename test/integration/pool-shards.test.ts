// `rignode pool --stratum-threads 2` as a real process: connections spread over both shards (SO_REUSEPORT), shares of
// rignode workers (native and V1 JSON) acknowledged and in the ledger, the per-IP caps (connections, distinct workers)
// and a ban holding across shards.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { bin, freePort, waitFor } from "../helpers";
import { encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";

const env = { ...process.env, RIGNODE_LOG_JSON: "true" };
const address = () => encodeAddress(generateKeyPair().publicKey, NETWORKS.devnet!.addressVersion);

async function json(url: string): Promise<any> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

function startPool(extra: string[]) {
  const data = mkdtempSync(join(tmpdir(), "rignode-shards-"));
  const [api, native, jsonPort] = [freePort(), freePort(), freePort()];
  const proc = Bun.spawn(
    [bin(), "pool", "--data-dir", data, "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`, "--stratum-threads", "2", ...extra],
    { stdout: "ignore", stderr: "pipe", env },
  );
  return { proc, data, api: `http://127.0.0.1:${api}`, native, jsonPort };
}

/** A raw Stratum V1 JSON-line client: admitted (answers the subscribe) or refused (told why, closed). */
class Line {
  socket!: Socket<unknown>;
  lines: any[] = [];
  closed = false;
  private text = "";
  private wake: (() => void) | null = null;
  static async open(port: number): Promise<Line> {
    const l = new Line();
    l.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, chunk) => {
          l.text += chunk.toString();
          let nl: number;
          while ((nl = l.text.indexOf("\n")) >= 0) {
            l.lines.push(JSON.parse(l.text.slice(0, nl)));
            l.text = l.text.slice(nl + 1);
          }
          l.wake?.();
        },
        close: () => {
          l.closed = true;
          l.wake?.();
        },
        error: () => {},
      },
    });
    return l;
  }
  /** Subscribes (and authorizes `user`): true once answered, false when refused and closed. */
  async hello(user: string): Promise<boolean> {
    this.socket.write(`{"id":1,"method":"mining.subscribe","params":["test"]}\n{"id":2,"method":"mining.authorize","params":["${user}","x"]}\n`);
    while (!this.closed && !this.lines.some((m) => m.id === 2)) await new Promise<void>((r) => (this.wake = r));
    return !this.closed && this.lines.some((m) => m.id === 1 && Array.isArray(m.result));
  }
  /** Authorizes `user` (after hello or subscribe): the pool's answer. */
  async authorize(user: string, id: number): Promise<{ result: unknown; error: unknown }> {
    this.socket.write(`{"id":${id},"method":"mining.authorize","params":["${user}","x"]}\n`);
    while (!this.closed && !this.lines.some((m) => m.id === id)) await new Promise<void>((r) => (this.wake = r));
    return this.lines.find((m) => m.id === id) ?? { result: null, error: "closed" };
  }
  said(): string {
    return this.lines.filter((m) => m.method === "client.show_message").map((m) => m.params[0]).join(" ");
  }
}

const perShard = (s: any) => (s?.shards ?? []).map((x: any) => x.connections as number);

describe("rignode pool --stratum-threads 2", () => {
  test("connections spread over both shards; shares of native and JSON workers acknowledged and in the ledger", async () => {
    const pool = startPool(["--max-conns-per-ip", "0", "--payout-scheme", "prop", "--start-difficulty", "0.0005", "--share-interval", "0.5"]);
    const procs: Bun.Subprocess[] = [pool.proc];
    const lines: Line[] = [];
    try {
      await waitFor(() => json(`${pool.api}/health`));
      const user = address();
      for (let i = 0; i < 200; i++) lines.push(await Line.open(pool.jsonPort));
      expect((await Promise.all(lines.map((l) => l.hello(`${user}.c${lines.indexOf(l)}`)))).every(Boolean)).toBe(true);
      // Every connection got a distinct extranonce1 (the shard's index keeps their spaces apart).
      const en1 = lines.map((l) => l.lines.find((m) => m.id === 1).result[1]);
      expect(new Set(en1).size).toBe(200);
      const st = await waitFor(async () => {
        const s = await json(`${pool.api}/pool/stats?workers=none`);
        return s?.connections === 200 && perShard(s).reduce((a: number, b: number) => a + b, 0) === 200 ? s : undefined;
      });
      expect(st.shards.length).toBe(2);
      // The kernel spreads connections over both shards' listeners.
      for (const n of perShard(st)) expect(n).toBeGreaterThan(20);
      for (const l of lines) l.socket.end();

      const [a, b] = [address(), address()];
      const w = (pool_: string, u: string) => {
        const api = freePort();
        const proc = Bun.spawn([bin(), "worker", "--pool", pool_, "--user", u, "--threads", "1", "--api", `127.0.0.1:${api}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-w-"))], { stdout: "ignore", stderr: "ignore", env });
        procs.push(proc);
        return { proc, api: `http://127.0.0.1:${api}` };
      };
      const w1 = w(`127.0.0.1:${pool.native}`, `${a}.n`);
      const w2 = w(`stratum+tcp://127.0.0.1:${pool.jsonPort}`, `${b}.j`);
      for (const x of [w1, w2]) await waitFor(async () => ((await json(`${x.api}/api/worker`))?.shares?.accepted >= 10 ? true : undefined), 90_000);
      // A block found on a shard goes to the main thread's chain and is recorded with its plan.
      await waitFor(async () => ((await json(`${pool.api}/pool/blocks`))?.blocks?.length ? true : undefined), 90_000);
      w1.proc.kill("SIGTERM");
      w2.proc.kill("SIGTERM");
      await Promise.all([w1.proc.exited, w2.proc.exited]);
      const stats = await waitFor(async () => {
        const s = await json(`${pool.api}/pool/stats`);
        return s?.workers?.length === 2 ? s : undefined;
      });
      const acked = Object.fromEntries(stats.workers.map((x: any) => [x.user, x.accepted]));
      expect(acked[`${a}.n`]).toBeGreaterThanOrEqual(10);
      expect(acked[`${b}.j`]).toBeGreaterThanOrEqual(10);
      pool.proc.kill("SIGTERM");
      await pool.proc.exited;
      // Every share a shard acknowledged went through the main thread's commit into the one ledger.
      const db = new Database(join(pool.data, "rignode.sqlite"), { readonly: true });
      const rows = db.query<{ worker: string; n: number }, []>("SELECT worker, count(*) AS n FROM shares GROUP BY worker").all();
      const inLedger = Object.fromEntries(rows.map((r) => [r.worker, r.n]));
      expect(inLedger[`${a}.n`]).toBeGreaterThanOrEqual(acked[`${a}.n`]);
      expect(inLedger[`${b}.j`]).toBeGreaterThanOrEqual(acked[`${b}.j`]);
      const blocks = db.query<{ n: number }, []>("SELECT count(*) AS n FROM pool_blocks").get()!.n;
      expect(blocks).toBeGreaterThan(0);
      db.close();
    } finally {
      for (const l of lines) l.socket.end();
      for (const p of procs) p.kill("SIGKILL");
    }
  }, 150_000);

  test("the per-IP cap holds across shards (exactly the cap admitted); a ban decided on one shard holds on the other", async () => {
    const pool = startPool(["--max-conns-per-ip", "20"]);
    const lines: Line[] = [];
    try {
      await waitFor(() => json(`${pool.api}/health`));
      const user = address();
      // 100 at once from 127.0.0.1: each shard alone would take up to 20 of its ~50.
      const opened = await Promise.all(Array.from({ length: 100 }, () => Line.open(pool.jsonPort)));
      lines.push(...opened);
      const admitted = await Promise.all(opened.map((l) => l.hello(`${user}.x`)));
      expect(admitted.filter(Boolean).length).toBe(20);
      const refused = opened.filter((_, i) => !admitted[i]);
      expect(refused.every((l) => l.said().includes("more than 20 connections from 127.0.0.1"))).toBe(true);
      const st = await waitFor(async () => {
        const s = await json(`${pool.api}/pool/stats?workers=none`);
        return s?.connections === 20 && perShard(s).reduce((a: number, b: number) => a + b, 0) === 20 ? s : undefined;
      });
      expect(st.shards.length).toBe(2);
      const held = opened.filter((_, i) => admitted[i]);
      // A slot given back is free again, on whichever shard the next connection lands.
      for (const l of held.slice(0, 5)) l.socket.end();
      await waitFor(async () => ((await json(`${pool.api}/pool/stats?workers=none`))?.connections === 15 ? true : undefined));
      const again = await Promise.all(Array.from({ length: 10 }, () => Line.open(pool.jsonPort)));
      lines.push(...again);
      expect((await Promise.all(again.map((l) => l.hello(`${user}.y`)))).filter(Boolean).length).toBe(5);

      // Malformed connections until one shard bans 127.0.0.1 (10 strikes on that shard), with room under the cap.
      const open = [...held.slice(5), ...again.filter((l) => !l.closed)];
      expect(open.length).toBe(20);
      const survivors = open.slice(0, 10);
      for (const l of open.slice(10)) l.socket.end();
      await waitFor(async () => ((await json(`${pool.api}/pool/stats?workers=none`))?.connections === 10 ? true : undefined));
      let banned = "";
      for (let i = 0; i < 60 && !banned; i++) {
        const bad = await Line.open(pool.jsonPort);
        lines.push(bad);
        bad.socket.write("x".repeat(100_000));
        await waitFor(() => (bad.closed ? true : undefined));
        if (/banned/i.test(bad.said())) banned = bad.said();
      }
      // Whichever shard decided it, the connections on both are closed, and a new one is refused.
      const closedAll = await waitFor(() => (survivors.every((l) => l.closed) ? true : undefined));
      expect(closedAll).toBe(true);
      const after = await Promise.all(Array.from({ length: 10 }, () => Line.open(pool.jsonPort)));
      lines.push(...after);
      expect((await Promise.all(after.map((l) => l.hello(`${user}.z`)))).some(Boolean)).toBe(false);
      expect(after.every((l) => /banned/i.test(l.said()))).toBe(true);
      const bans = await json(`${pool.api}/pool/bans`);
      expect(bans.bans.some((b: any) => b.ip === "127.0.0.1" && b.worker === null)).toBe(true);
    } finally {
      for (const l of lines) l.socket.end();
      pool.proc.kill("SIGKILL");
    }
  }, 150_000);

  test("distinct workers per IP hold across shards: exactly the cap admitted wherever they land; a closed one's slot is free again", async () => {
    const pool = startPool(["--max-conns-per-ip", "0", "--max-workers-per-ip", "8"]);
    const lines: Line[] = [];
    try {
      await waitFor(() => json(`${pool.api}/health`));
      const user = address();
      // 20 connections from 127.0.0.1 (spread over both shards), one new worker name on each, all at once: each shard
      // alone would admit up to 8 of its ~10.
      const opened = await Promise.all(Array.from({ length: 20 }, () => Line.open(pool.jsonPort)));
      lines.push(...opened);
      expect((await Promise.all(opened.map((l) => l.hello(`${user}.first`)))).every(Boolean)).toBe(true);
      const st = await waitFor(async () => {
        const s = await json(`${pool.api}/pool/stats?workers=none`);
        return s?.connections === 20 && perShard(s).reduce((a: number, b: number) => a + b, 0) === 20 ? s : undefined;
      });
      // Both shards hold connections (more than the two closed below): the cap is over both.
      for (const n of perShard(st)) expect(n).toBeGreaterThan(2);
      // "first" is on both shards: it counts once per shard (2 of the 8).
      const answers = await Promise.all(opened.map((l, i) => l.authorize(`${user}.w${i}`, 3)));
      const ok = opened.filter((_, i) => answers[i]!.result === true);
      expect(ok.length).toBe(6);
      for (const a of answers.filter((x) => x.result !== true)) expect(a.error).toEqual([24, "too many workers from 127.0.0.1 (8)", null]);
      // Close two of the admitted connections: their names (only on them) are given back; "first" stays open elsewhere.
      for (const l of ok.slice(0, 2)) l.socket.end();
      await waitFor(async () => ((await json(`${pool.api}/pool/stats?workers=none`))?.connections === 18 ? true : undefined));
      const rest = opened.filter((l) => !l.closed);
      const again = await Promise.all(rest.map((l, i) => l.authorize(`${user}.again${i}`, 4)));
      expect(again.filter((a) => a.result === true).length).toBe(2);
      for (const a of again.filter((x) => x.result !== true)) expect(a.error).toEqual([24, "too many workers from 127.0.0.1 (8)", null]);
    } finally {
      for (const l of lines) l.socket.end();
      pool.proc.kill("SIGKILL");
    }
  }, 150_000);
});

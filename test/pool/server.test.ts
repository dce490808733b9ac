// The pool server over real TCP on loopback (in process): a scripted Stratum V1 client replays a whole session on
// the JSON port, the native port speaks the same session in msgpack frames, and the anti-abuse limits hold.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, MetricsRegistry, decodeLoose, encodeLoose, fromHex, leToBigInt } from "../../src/core";
import { createApp, poolRoutes, serveApi } from "../../src/api";
import { request as httpRequest } from "node:http";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, difficultyToTarget, HttpWorkers, Ledger, listenStratum, PoolConn, PoolServer, shareHeader, swapWords, workerScore, type PoolJob } from "../../src/pool";
import { newWorkerStats } from "../../src/pool/stats";
import { Store } from "../../src/store";
import { kernel, mineOn } from "../chain/helpers";

// devnet with its old easy limit (block target about 2^240): a block is found in-process in a moment.
const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const DIFF = 0.000001; // share target about 2^244: 1 share in 16 is also a block
const log = createLogger({ json: true, level: "error" });
const payee = generateKeyPair();
const userA = encodeAddress(payee.publicKey, params.addressVersion);
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

function startPool(limits: Partial<typeof DEFAULT_LIMITS> = {}, now?: () => number) {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-srv-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 100,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, ...limits }, jobRefreshSeconds: 30, instanceId: 7, now,
  });
  server.start();
  const json = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: 16 * 1024, log });
  const native = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "native", maxBytes: 16 * 1024, log });
  stops.push(() => (json.stop(), native.stop(), server.stop()));
  return { server, chain, store, json: json.port, native: native.port };
}

/** A raw client: JSON lines or msgpack frames; collects every message; `closed` resolves when the pool hangs up. */
async function client(port: number, codec: "json" | "native" = "json") {
  const got: any[] = [];
  let buf = new Uint8Array(0);
  let text = "";
  let onClose!: () => void;
  const closed = new Promise<void>((r) => (onClose = r));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        if (codec === "json") {
          text += chunk.toString();
          const lines = text.split("\n");
          text = lines.pop()!;
          for (const l of lines) if (l.trim()) got.push(JSON.parse(l));
        } else {
          const j = new Uint8Array(buf.length + chunk.length);
          j.set(buf);
          j.set(chunk, buf.length);
          let at = 0;
          while (j.length - at >= 4) {
            const len = new DataView(j.buffer, at, 4).getUint32(0);
            if (j.length - at - 4 < len) break;
            got.push(decodeLoose(j.subarray(at + 4, at + 4 + len)));
            at += 4 + len;
          }
          buf = j.slice(at);
        }
      },
      close: () => onClose(),
      error: () => onClose(),
    },
  });
  const sendRaw = (b: Uint8Array | string) => socket.write(b);
  const send = (m: unknown) => {
    if (codec === "json") return sendRaw(JSON.stringify(m) + "\n");
    const body = encodeLoose(m as any);
    const f = new Uint8Array(4 + body.length);
    new DataView(f.buffer).setUint32(0, body.length);
    f.set(body, 4);
    return sendRaw(f);
  };
  const wait = async (pred: (m: any) => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = got.find(pred);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no matching message; got ${JSON.stringify(got).slice(0, 500)}`);
      await Bun.sleep(5);
    }
  };
  let nextId = 100;
  const ask = async (method: string, params: unknown[], id: unknown = nextId++) => {
    const before = got.length;
    send({ id, method, params });
    return wait((m) => got.indexOf(m) >= before && "result" in m && JSON.stringify(m.id) === JSON.stringify(id));
  };
  return { socket, got, send, sendRaw, wait, ask, closed };
}

/** The job a notify describes, enough to build share headers the way a miner does. */
function jobFromNotify(p: any[]): PoolJob {
  return {
    id: p[0], coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: (p[4] as string[]).map((b) => fromHex(b)),
    work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } },
    notify: { ntime: p[7] },
  } as unknown as PoolJob;
}

const hex = (n: number) => n.toString(16).padStart(8, "0");

/** The first nonce from `from` whose share hash falls in (lo, hi]. */
function findNonce(job: PoolJob, en1: string, lo: bigint, hi: bigint, vbits: string | undefined, mask: number, from = 0): number {
  for (let n = from; ; n++) {
    const h = leToBigInt(kernel.hash("sha256d", shareHeader(job, fromHex(en1), { extranonce2: "00000001", ntime: job.notify.ntime, nonce: hex(n), versionBits: vbits }, mask).bytes));
    if (h > lo && h <= hi) return n;
  }
}

describe("pool server over TCP", () => {
  test("a scripted Stratum V1 session: configure, subscribe, authorize, rolled shares, stale, duplicate, low difficulty, unauthorized, unsubscribed: 21-25", async () => {
    const { server, chain, store, json } = startPool();
    const c = await client(json);
    // A submit before subscribe: 25; unknown methods answered, never a disconnect; ids echoed verbatim.
    expect((await c.ask("mining.submit", [userA, "1", "00000001", "00000000", "00000000"])).error[0]).toBe(25);
    expect((await c.ask("mining.nonsense", [], { odd: [1] })).error[0]).toBe(20);
    const conf = await c.ask("mining.configure", [["version-rolling"], { "version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2 }]);
    expect(conf.result).toEqual({ "version-rolling": true, "version-rolling.mask": "1fffe000" });
    const sub = await c.ask("mining.subscribe", ["scripted/1.0"]);
    const en1 = sub.result[1] as string;
    expect(en1).toMatch(/^07[0-9a-f]{6}$/); // the instance id leads
    expect(sub.result[2]).toBe(4);
    expect((await c.ask("mining.authorize", ["not-an-address", "x"])).error[0]).toBe(24);
    expect((await c.ask("mining.authorize", [`${userA}.rig`, `d=${DIFF}`])).result).toBe(true);
    const diff = await c.wait((m) => m.method === "mining.set_difficulty");
    expect(diff.params[0]).toBe(DIFF);
    const notify = await c.wait((m) => m.method === "mining.notify");
    const job = jobFromNotify(notify.params);
    const share = difficultyToTarget(DIFF, "sha256d");
    const net = bitsToTarget(parseInt(notify.params[6], 16));
    const submit = (nonce: number, worker = `${userA}.rig`, jobId = job.id, vbits = "00004000") =>
      c.ask("mining.submit", [worker, jobId, "00000001", job.notify.ntime, hex(nonce), vbits]);

    const n1 = findNonce(job, en1, net, share, "00004000", 0x1fffe000);
    expect((await submit(n1)).result).toBe(true);
    expect((await submit(n1)).error[0]).toBe(22);
    const low = findNonce(job, en1, share, (1n << 256n) - 1n, "00004000", 0x1fffe000);
    expect((await submit(low)).error).toEqual([23, "Low difficulty share", null]);
    expect((await submit(n1 + 1, `${userA}.other`)).error[0]).toBe(24);
    expect((await submit(n1, undefined, undefined, "00000001")).error[0]).toBe(20); // outside the mask
    const bad = await c.ask("mining.submit", [`${userA}.rig`, job.id, "0001", job.notify.ntime, hex(n1), "00004000"]);
    expect(bad.error[0]).toBe(20); // extranonce2 of the wrong size

    // A new tip: clean_jobs = true, and a share on the old job is stale (21), an unknown job too.
    const before = c.got.length;
    mineOn(chain, generateKeyPair());
    const fresh = await c.wait((m) => c.got.indexOf(m) >= before && m.method === "mining.notify");
    expect(fresh.params[8]).toBe(true);
    expect(fresh.params[0]).not.toBe(job.id);
    const n3 = findNonce(job, en1, net, share, "00004000", 0x1fffe000, n1 + 1);
    expect((await submit(n3)).error).toEqual([21, "Stale share", null]);
    expect((await submit(n1, undefined, "ffff")).error).toEqual([21, "Job not found", null]);

    // The accepted share is in the ledger; the stats count every outcome.
    expect(store.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n).toBe(1);
    const st = server.stats();
    expect(st.shares.accepted).toBe(1);
    expect(st.shares.rejected).toMatchObject({ duplicate: 1, low_difficulty: 1, stale: 1, job_not_found: 1 });
    c.socket.end();
  }, 60_000);

  test("the native port serves the same session in msgpack frames, with its own unique extranonce1", async () => {
    const { json, native } = startPool();
    const a = await client(native, "native");
    const b = await client(json);
    const sa = await a.ask("mining.subscribe", ["native/1"]);
    const sb = await b.ask("mining.subscribe", ["json/1"]);
    expect(sa.result[1]).not.toBe(sb.result[1]);
    expect((await a.ask("mining.authorize", [userA, "d=0.000005"])).result).toBe(true);
    expect((await a.wait((m) => m.method === "mining.set_difficulty")).params[0]).toBe(0.000005); // a float survives msgpack
    const n = await a.wait((m) => m.method === "mining.notify");
    expect(n.params).toHaveLength(9);
    expect((await a.ask("mining.bogus", [])).error[0]).toBe(20);
    // A difficulty above the network's is capped at it: a share could otherwise hide a block from its miner.
    expect((await b.ask("mining.authorize", [userA, "d=5"])).result).toBe(true);
    const capped = (await b.wait((m) => m.method === "mining.set_difficulty")).params[0];
    const net = Number((0xffffn << 208n) * 1_000_000n / bitsToTarget(params.powLimitBits)) / 1e6;
    expect(capped).toBeLessThan(5);
    expect(Math.abs(capped - net) / net).toBeLessThan(1e-3);
    a.socket.end();
    b.socket.end();
  }, 30_000);

  test("bad input closes only that connection: a non-JSON line, an overlong line, a bad frame", async () => {
    const { server, json, native } = startPool();
    const good = await client(json);
    await good.ask("mining.subscribe", []);
    const x = await client(json);
    x.sendRaw("this is not json\n");
    await x.closed;
    const y = await client(json);
    y.sendRaw("{" + "a".repeat(20_000));
    await y.closed;
    const z = await client(native, "native");
    z.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await z.closed;
    expect((await good.ask("mining.extranonce.subscribe", [])).result).toBe(true);
    expect(server.conns.size).toBe(1);
    good.socket.end();
  }, 30_000);

  test("limits: connections per IP; over the rate the difficulty rises and the excess is dropped, not counted; wrong work bans the worker (told why), not the IP", async () => {
    // The pool's clock is the test's: the burst of 25 is inside one second whatever the machine's load.
    let clock = Math.floor(Date.now() / 1000) * 1000 + 100;
    const { server, json } = startPool({ maxPerIp: 3, sharesPerSecond: 20, banMinShares: 30, banSeconds: 600 }, () => clock);
    const cs = [await client(json), await client(json), await client(json)];
    await cs[0]!.ask("mining.subscribe", []);
    const fourth = await client(json);
    await fourth.closed; // over the cap: refused at once, and told why
    expect(fourth.got.some((m) => m.method === "client.show_message" && /more than 3 connections/.test(m.params[0]))).toBe(true);
    const c = cs[0]!;
    await c.ask("mining.suggest_difficulty", [0.000001]); // below the network's (about 0.000015): room to rise
    await c.ask("mining.authorize", [userA, "x"]);
    const n = await c.wait((m) => m.method === "mining.notify");
    const before = c.got.filter((m) => m.method === "mining.set_difficulty").length;
    // 25 submits in one burst for a job that was never issued (wrong work): 20 are checked, 5 are over the rate.
    for (let i = 0; i < 25; i++) c.send({ id: 1000 + i, method: "mining.submit", params: [userA, "ffff", "00000001", n.params[7], hex(i)] });
    await c.wait((m) => m.id === 1024);
    const codes = c.got.filter((m) => typeof m.id === "number" && m.id >= 1000).map((m) => m.error?.[1]);
    expect(codes.filter((s) => s === "Job not found")).toHaveLength(20);
    expect(codes.filter((s) => /^Rate limited/.test(s))).toHaveLength(5);
    // Over the rate: a harder difficulty is sent (once), and the dropped shares do not count as invalid.
    await c.wait(() => (c.got.filter((m) => m.method === "mining.set_difficulty").length > before));
    const stats = server.stats();
    expect(stats.shares.rejected).toMatchObject({ job_not_found: 20, rate_limited: 5 });
    expect([...server.conns].find((x) => x.users.has(userA))!.invalid).toBe(20);
    // Ten more wrong shares (30 of 30 invalid, past banMinShares): that worker's connection is banned, told so in the
    // answer and in client.show_message, and closed; the IP's other connections stay.
    clock += 1000; // the next second: a fresh allowance of 20
    for (let i = 0; i < 10; i++) c.send({ id: 2000 + i, method: "mining.submit", params: [userA, "ffff", "00000001", n.params[7], hex(i)] });
    await c.closed;
    const banned = c.got.find((m) => typeof m.id === "number" && m.id >= 2000 && /^Banned/.test(m.error?.[1] ?? ""));
    expect(banned?.error?.[1]).toMatch(/^Banned worker .*: 30 of 30 shares invalid \(60 s left\)$/);
    expect(c.got.some((m) => m.method === "client.show_message" && /^Banned worker/.test(m.params[0]))).toBe(true);
    expect(server.conns.size).toBe(2);
    expect(server.bannedIps()).toEqual([]);
    expect(server.bans()).toMatchObject([{ ip: "127.0.0.1", worker: userA, strikes: 1 }]);
    // The same worker cannot authorize again from that IP until the ban ends; another address can.
    const again = await client(json);
    await again.ask("mining.subscribe", []);
    const refused = await again.ask("mining.authorize", [userA, "x"]);
    expect(refused.error?.[0]).toBe(24);
    expect(refused.error?.[1]).toMatch(/^Banned worker/);
    const other = encodeAddress(generateKeyPair().publicKey, params.addressVersion);
    expect((await again.ask("mining.authorize", [other, "x"])).result).toBe(true);
    // Lifted by the operator: it may authorize again.
    expect(server.unban("127.0.0.1")).toBe(1);
    expect((await again.ask("mining.authorize", [userA, "x"])).result).toBe(true);
    again.socket.end();
  }, 30_000);

  test("a burst of wrong shares bans the worker that sent them once (one strike, no IP ban), not another worker on the connection", async () => {
    const { server, json } = startPool({ banMinShares: 10, sharesPerSecond: 0 });
    const c = await client(json);
    const en1 = (await c.ask("mining.subscribe", [])).result[1] as string;
    const good = `${userA}.good`;
    const bad = `${userA}.bad`;
    expect((await c.ask("mining.authorize", [good, `d=${DIFF}`])).result).toBe(true);
    expect((await c.ask("mining.authorize", [bad, "x"])).result).toBe(true);
    const notify = await c.wait((m) => m.method === "mining.notify");
    const job = jobFromNotify(notify.params);
    const share = difficultyToTarget(DIFF, "sha256d");
    const net = bitsToTarget(parseInt(notify.params[6], 16));
    let n = 0;
    for (let i = 0; i < 12; i++) {
      n = findNonce(job, en1, net, share, undefined, 0, n + 1);
      expect((await c.ask("mining.submit", [good, job.id, "00000001", job.notify.ntime, hex(n)])).result).toBe(true);
    }
    // 40 wrong shares in one write: the 10th crosses the line; the ones behind it in the same read are answered with
    // the ban, never counted as more strikes.
    for (let i = 0; i < 40; i++) c.send({ id: 7000 + i, method: "mining.submit", params: [bad, "ffff", "00000001", job.notify.ntime, hex(i)] });
    await c.closed;
    expect(server.bans()).toMatchObject([{ ip: "127.0.0.1", worker: bad, strikes: 1 }]);
    expect(server.bannedIps()).toEqual([]);
    expect(server.metrics().find((m) => m.name === "rignode_pool_bans_total")!.samples[0]!.value).toBe(1);
    const answers = c.got.filter((m) => typeof m.id === "number" && m.id >= 7000).map((m) => m.error?.[1] as string);
    expect(answers.filter((a) => a === "Job not found")).toHaveLength(9);
    expect(answers.slice(9).every((a) => /^Banned worker .*\.bad: 10 of 10 shares invalid/.test(a))).toBe(true);
    // The good worker may come back at once on a new connection.
    const again = await client(json);
    await again.ask("mining.subscribe", []);
    expect((await again.ask("mining.authorize", [good, "x"])).result).toBe(true);
    again.socket.end();
  }, 30_000);

  test("stale shares are not invalid: a job that expired from the cache is stale, a made-up job id is not", async () => {
    const { server, chain, json } = startPool({ banMinShares: 5 });
    const c = await client(json);
    await c.ask("mining.subscribe", []);
    await c.ask("mining.authorize", [userA, "x"]);
    const first = await c.wait((m) => m.method === "mining.notify");
    // 20 new tips, one at a time (tips within one call stack make one job): the first job leaves the 16-job cache.
    for (let i = 0; i < 20; i++) {
      const seen = c.got.filter((m) => m.method === "mining.notify").length;
      mineOn(chain, generateKeyPair());
      await c.wait(() => (c.got.filter((m) => m.method === "mining.notify").length > seen));
    }
    for (let i = 0; i < 10; i++) c.send({ id: 5000 + i, method: "mining.submit", params: [userA, first.params[0], "00000001", first.params[7], hex(i)] });
    await c.wait((m) => m.id === 5009);
    const answers = c.got.filter((m) => typeof m.id === "number" && m.id >= 5000).map((m) => m.error?.[1]);
    expect(answers.every((a) => a === "Stale share (job expired)")).toBe(true);
    expect(server.stats().shares.rejected).toMatchObject({ stale: 10 });
    expect(server.bans()).toEqual([]);
    c.socket.end();
  }, 30_000);

  test("a full ledger (SQLite: database or disk is full) is a storage fault: code 20, not invalid, no ban, /health degraded until it writes again", async () => {
    const { server, store, json } = startPool({ banMinShares: 3 });
    const c = await client(json);
    const en1 = (await c.ask("mining.subscribe", [])).result[1] as string;
    await c.ask("mining.authorize", [userA, `d=${DIFF}`]);
    const notify = await c.wait((m) => m.method === "mining.notify");
    const job = jobFromNotify(notify.params);
    const share = difficultyToTarget(DIFF, "sha256d");
    const net = bitsToTarget(parseInt(notify.params[6], 16));
    const submit = (nonce: number) => c.ask("mining.submit", [userA, job.id, "00000001", job.notify.ntime, hex(nonce)]);
    // The file may not grow past its current size: every insert fails the way a full disk makes it fail.
    store.db.exec("CREATE TABLE t_fill (v TEXT)");
    const pages = store.db.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
    store.db.exec(`PRAGMA max_page_count = ${pages}`);
    const filler = "x".repeat(3000);
    try {
      for (let i = 0; i < 1000; i++) store.db.query("INSERT INTO t_fill (v) VALUES (?)").run(filler);
    } catch {} // full now
    // The shares table's last page may still take a few rows; after that, every share fails to be recorded.
    let n = 0;
    let accepted = 0;
    for (let i = 0; i < 500; i++) {
      n = findNonce(job, en1, net, share, undefined, 0, n + 1);
      const r = await submit(n);
      if (r.result === true) accepted++;
      else break;
    }
    expect(accepted).toBeLessThan(500);
    for (let i = 0; i < 4; i++) {
      n = findNonce(job, en1, net, share, undefined, 0, n + 1);
      const r = await submit(n);
      expect(r.error?.[0]).toBe(20);
      expect(r.error?.[1]).toMatch(/^Pool storage error/);
    }
    expect(server.bans()).toEqual([]);
    expect(server.conns.size).toBe(1);
    expect(server.stats().shares.rejected).toMatchObject({ storage: 5 });
    expect(server.health().ok).toBe(false);
    expect(server.health().problems[0]).toMatch(/^storage: .*full/);
    // Room again: the next share is recorded and the pool is healthy.
    store.db.exec("DROP TABLE t_fill");
    store.db.exec("PRAGMA max_page_count = 1073741823");
    n = findNonce(job, en1, net, share, undefined, 0, n + 1);
    expect((await submit(n)).result).toBe(true);
    expect(server.health()).toEqual({ ok: true, problems: [] });
    c.socket.end();
  }, 60_000);

  test("HTTP workers are counted by their real address (through Bun.serve, from 127.0.0.2 and 127.0.0.3)", async () => {
    const { server } = startPool({ maxPerIp: 1 });
    const http = new HttpWorkers(server);
    const app = createApp({
      token: null,
      metrics: new MetricsRegistry(),
      log,
      groups: [(a) => poolRoutes(a, { server, http, mode: () => ({ mode: "host" }), setMode: async () => {}, start: () => {}, stop: () => {} })],
      health: () => ({ ok: true }),
      info: () => ({}),
    });
    const api = serveApi(app, "127.0.0.1", [0]);
    stops.push(() => void api.stop());
    // node:http lets the client pick its source address on the loopback network.
    const post = (from: string, user: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const body = JSON.stringify({ user });
        const req = httpRequest(
          { host: "127.0.0.1", port: api.port, path: "/pool/register", method: "POST", localAddress: from, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    // One connection per IP: a second registration from 127.0.0.2 is refused, one from 127.0.0.3 is not.
    expect((await post("127.0.0.2", userA)).status).toBe(200);
    expect((await post("127.0.0.3", userA)).status).toBe(200);
    const third = await post("127.0.0.2", userA);
    expect(third.status).toBe(400);
    expect(third.body.message).toMatch(/more than 1 connections from 127\.0\.0\.2/);
    expect([...server.conns].map((c) => c.link.ip).sort()).toEqual(["127.0.0.2", "127.0.0.3"]);
  }, 30_000);

  test("HTTP workers: register, job, share go through the same checks; writes need the token", async () => {
    const { server } = startPool();
    const http = new HttpWorkers(server);
    let mode: "host" | "solo" | "join" = "host";
    const app = createApp({
      token: "t".repeat(64),
      metrics: new MetricsRegistry(),
      health: () => ({ ok: true }),
      info: () => ({}),
      groups: [(a) => poolRoutes(a, { server, http, mode: () => ({ mode }), setMode: async (r) => void (mode = r.mode), start: () => {}, stop: () => {} })],
    });
    const auth = { authorization: `Bearer ${"t".repeat(64)}`, "content-type": "application/json" };
    const post = (path: string, body: unknown, headers: Record<string, string> = auth) => app.request(path, { method: "POST", headers, body: JSON.stringify(body) });
    expect((await post("/pool/register", { user: userA }, { "content-type": "application/json" })).status).toBe(401);
    expect((await post("/pool/register", { user: "nobody" })).status).toBe(400);
    const reg: any = await (await post("/pool/register", { user: `${userA}.web`, password: `d=${DIFF}` })).json();
    expect(reg).toMatchObject({ extranonce2_size: 4, difficulty: DIFF });
    const j: any = await (await app.request(`/pool/job?session=${reg.session}`)).json();
    const job = jobFromNotify(j.params);
    const net = bitsToTarget(job.work.header.bits);
    const n = findNonce(job, reg.extranonce1, net, difficultyToTarget(DIFF, "sha256d"), undefined, 0);
    const share = { session: reg.session, job_id: j.job_id, extranonce2: "00000001", ntime: job.notify.ntime, nonce: hex(n) };
    expect(await (await post("/pool/share", share)).json()).toEqual({ accepted: true, error: null });
    const dup = await post("/pool/share", share);
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as any).error.code).toBe(22);
    expect((await app.request("/pool/job?session=" + "0".repeat(32))).status).toBe(404);
    const stats: any = await (await app.request("/pool/stats")).json();
    expect(stats.workers.find((w: any) => w.user === `${userA}.web`).accepted).toBe(1);
    expect(await (await post("/pool/configure", { pool_fee_percent: 2.5 })).json()).toMatchObject({ pool_fee_percent: 2.5 });
    expect((await post("/pool/configure", { pool_fee_percent: 11 })).status).toBe(400);
    expect(await (await post("/pool/mode", { mode: "solo" })).json()).toEqual({ mode: "solo" });
    expect(await (await app.request("/pool/metrics")).text()).toMatch(/^rignode_pool_shares_total\{result="accepted"\} 1$/m);
    // Bans through the API: listed with reason and expiry; lifted with the token only; ban_seconds 0 lifts them all.
    server.ban("10.1.2.3", "operator test");
    server.guard.banWorker("10.1.2.4", `${userA}.x`, "30 of 100 shares invalid");
    const bans: any = await (await app.request("/pool/bans")).json();
    expect(bans.bans).toHaveLength(2);
    expect(bans.bans.find((b: any) => b.ip === "10.1.2.3")).toMatchObject({ scope: "ip", worker: null, reason: "operator test", strikes: 1, seconds_left: 60 });
    expect(bans.bans.find((b: any) => b.ip === "10.1.2.4")).toMatchObject({ scope: "worker", worker: `${userA}.x` });
    expect((await app.request("/pool/bans/10.1.2.3", { method: "DELETE" })).status).toBe(401);
    expect(await (await app.request("/pool/bans/10.1.2.3", { method: "DELETE", headers: auth })).json()).toEqual({ ip: "10.1.2.3", lifted: 1 });
    expect((await app.request("/pool/bans/10.1.2.3", { method: "DELETE", headers: auth })).status).toBe(404);
    expect(((await (await app.request("/pool/bans")).json()) as any).bans.map((b: any) => b.ip)).toEqual(["10.1.2.4"]);
    expect(await (await post("/pool/configure", { ban_seconds: 0 })).json()).toMatchObject({ ban_seconds: 0 });
    expect(await (await app.request("/pool/bans")).json()).toEqual({ bans: [] });
  }, 30_000);
});

describe("pool upkeep", () => {
  test("the once-a-second sweep (on the pool's clock) closes a connection never authorized after 30 s, and an authorized one silent for 15 min", async () => {
    let clock = Date.now();
    const { server, json } = startPool({}, () => clock);
    const quiet = await client(json);
    await quiet.ask("mining.subscribe", []);
    const idle = await client(json);
    await idle.ask("mining.subscribe", []);
    await idle.ask("mining.authorize", [userA, "x"]);
    expect(server.conns.size).toBe(2);
    clock += 29_000;
    await Bun.sleep(1_200); // a sweep ran: both still open
    expect(server.conns.size).toBe(2);
    clock += 2_000; // past authorizeSeconds: the one without a worker goes
    await quiet.closed;
    expect(server.conns.size).toBe(1);
    await idle.ask("mining.suggest_difficulty", [1]); // a message resets its idle time
    clock += 899_000;
    await Bun.sleep(1_200);
    expect(server.conns.size).toBe(1);
    clock += 2_000; // 901 s after its last message
    await idle.closed;
    expect(server.conns.size).toBe(0);
  }, 30_000);

  test("a share is checked and credited at the difficulty in force when its job was sent, or the current one when lower", () => {
    const conn = new PoolConn({ startDifficulty: 8 } as never, { ip: "127.0.0.1", codec: "json", encode: () => new Uint8Array(0), write() {}, flush() {}, send() {}, close() {} }, 0);
    conn.noteDifficulty(1, 8);
    conn.noteDifficulty(5, 16);
    conn.difficulty = 16;
    expect(conn.difficultyForJob(1)).toBe(8); // sent at 8, credited at 8 though the connection is at 16 now
    expect(conn.difficultyForJob(4)).toBe(8);
    expect(conn.difficultyForJob(5)).toBe(16);
    conn.noteDifficulty(7, 2);
    conn.difficulty = 2; // lowered: every job's shares are checked at the lower one, never penalised
    expect([1, 5, 7, 9].map((s) => conn.difficultyForJob(s))).toEqual([2, 2, 2, 2]);
  });

  test("worker score: 0.4 quality + 0.3 speed + 0.2 availability + 0.1 participation", () => {
    const w = newWorkerStats("A.rig", "A", 0);
    w.accepted = 8;
    w.stale = 1;
    w.rejected = { low_difficulty: 1 };
    w.latencySumMs = 500;
    w.latencyCount = 10; // mean 50 ms: speed 1 / 1.5
    w.connectedMs = 3_000; // of 6 s since first seen: availability 0.5
    const s = workerScore(w, 6_000, 16); // the best worker has 16 accepted: participation 0.5
    expect(s.quality).toBeCloseTo(0.8, 10);
    expect(s.speed).toBeCloseTo(2 / 3, 10);
    expect(s.availability).toBeCloseTo(0.5, 10);
    expect(s.participation).toBeCloseTo(0.5, 10);
    expect(s.score).toBeCloseTo(0.4 * 0.8 + 0.3 * (2 / 3) + 0.2 * 0.5 + 0.1 * 0.5, 10);
    w.openSince = [4_000]; // connected again since 4 s: 3 s + 2 s of 6 s
    expect(workerScore(w, 6_000, 16).availability).toBeCloseTo(5 / 6, 10);
  });
});

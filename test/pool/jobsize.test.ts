// Jobs never break on size: a payout plan of 1,000 payees (devnet's output cap) makes a notify of ~90 KB, which the
// pool sends on both codecs and `rignode worker`'s client reads without reconnecting; the caps on both sides come from
// one bound; and a job that cannot be built or published is logged and leaves the builder free for the next one.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, coinbaseBytesBound, decodeTx, encodeAddress, encodeHeader, generateKeyPair, NETWORKS, type Coinbase } from "../../src/chain";
import { bigIntToLe, createLogger, fromHex, toHex, type Logger } from "../../src/core";
import { ChainSource, coin, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, MAX_TAG_BYTES, PoolServer, shareHeader, swapWords, type Link, type PoolJob, type WorkSource } from "../../src/pool";
import {
  encodeStratum, MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES, notifyBytesBound, parsePoolUrl, StratumClient, stratumDecoder, type PoolWork, type StratumCodec,
} from "../../src/stratum";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";

// devnet (1,000 coinbase outputs at most) with an easy limit: a block is one hash in 65,536.
const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const PAYEES = 1000;
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

function capture(): { log: Logger; events: (name: string) => any[] } {
  const lines: any[] = [];
  return { log: createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) }), events: (name) => lines.filter((l) => l.event === name) };
}

function newPool(log: Logger, o: { source?: (chain: Chain) => WorkSource; seed?: (ledger: Ledger) => Promise<void> } = {}) {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-jobsize-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
  const ledger = new Ledger(store);
  const server = new PoolServer({
    source: o.source?.(chain) ?? new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 100,
    // A window that holds every seeded share (1 difficulty unit each).
    scheme: "pplns", pplnsWindow: 2 * PAYEES, vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 3600, instanceId: 3,
  });
  stops.push(() => server.stop());
  return { server, chain, ledger };
}

async function waitFor<T>(f: () => T | undefined | null | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
}

/** A raw miner on one codec, reading with the same decoder and cap `rignode worker` uses. */
async function rawMiner(port: number, codec: StratumCodec, user: string) {
  const got: any[] = [];
  const bytes: number[] = [];
  let closed = false;
  const decoder = stratumDecoder(codec, MAX_POOL_MESSAGE_BYTES);
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        bytes.push(chunk.length);
        got.push(...decoder.push(chunk));
      },
      close: () => void (closed = true),
      error: () => void (closed = true),
    },
  });
  stops.push(() => socket.end());
  const send = (m: unknown) => socket.write(encodeStratum(codec, m, MAX_MINER_MESSAGE_BYTES));
  send({ id: 1, method: "mining.subscribe", params: ["jobsize-test"] });
  send({ id: 2, method: "mining.authorize", params: [user, "x"] });
  const notify = await waitFor(() => got.find((m) => m.method === "mining.notify"));
  return { notify, received: bytes.reduce((a, b) => a + b, 0), closed: () => closed };
}

describe("message caps from the protocol's real maximum", () => {
  test("the largest notify of any network fits what the pool sends and workers read; requests stay capped small", () => {
    const devnet = notifyBytesBound(coinbaseBytesBound(NETWORKS.devnet!.maxCoinbaseOutputs, MAX_TAG_BYTES));
    // The schema's ceiling for maxCoinbaseOutputs is 10,000.
    const ceiling = notifyBytesBound(coinbaseBytesBound(10_000, MAX_TAG_BYTES));
    const realCoin = notifyBytesBound(coin.coinbaseBytesBound(200));
    console.log(`largest notify: devnet (1,000 outputs) ${devnet} B, 10,000 outputs ${ceiling} B, real coin (200 outputs) ${realCoin} B; cap ${MAX_POOL_MESSAGE_BYTES} B`);
    expect(devnet).toBeGreaterThan(64 * 1024); // what broke: the pool's 16 KiB and the worker's 64 KiB
    expect(ceiling).toBeLessThanOrEqual(MAX_POOL_MESSAGE_BYTES);
    expect(realCoin).toBeLessThan(devnet);
    expect(MAX_MINER_MESSAGE_BYTES).toBe(DEFAULT_LIMITS.maxMessageBytes);
  });

  test("a message of exactly the cap passes in both codecs, one byte more is refused when encoding and when decoding", () => {
    for (const codec of ["json", "native"] as const) {
      const base = encodeStratum(codec, { id: null, method: "m", params: [""] }, MAX_POOL_MESSAGE_BYTES).length;
      // The cap counts a line without its "\n", and a frame's body without its 4-byte length, whose long string has a
      // 5-byte header instead of the empty one's 1.
      const fill = MAX_POOL_MESSAGE_BYTES - (codec === "json" ? base - 1 : base);
      const fits = encodeStratum(codec, { id: null, method: "m", params: ["a".repeat(fill)] }, MAX_POOL_MESSAGE_BYTES);
      expect(stratumDecoder(codec, MAX_POOL_MESSAGE_BYTES).push(fits)).toHaveLength(1);
      expect(() => encodeStratum(codec, { id: null, method: "m", params: ["a".repeat(fill + 1)] }, MAX_POOL_MESSAGE_BYTES)).toThrow(/exceeds/);
      expect(() => stratumDecoder(codec, MAX_POOL_MESSAGE_BYTES - 1).push(fits)).toThrow();
    }
  });

  test("a network whose coinbase could not fit the cap is refused when the pool is made", () => {
    const { log } = capture();
    const big = (chain: Chain) => Object.defineProperty(new ChainSource(chain), "maxCoinbaseBytes", { value: MAX_POOL_MESSAGE_BYTES }) as WorkSource;
    expect(() => newPool(log, { source: big })).toThrow(/notify of up to \d+ bytes, over the 1048576 workers accept/);
  });
});

describe("1,000 payees", () => {
  test("the plan has devnet's 1,000 outputs (the rest carried); both codecs and StratumClient get the ~90 KB notify; a block with it is valid", async () => {
    const { log, events } = capture();
    const { server, chain, ledger } = newPool(log);
    // 1,000 addresses with one share each, in the ledger before the pool starts: the first job pays them.
    const addrs = Array.from({ length: PAYEES }, () => crypto.getRandomValues(new Uint8Array(32)));
    await Promise.all(addrs.map((address, i) => ledger.record({ worker: `w${i}`, address, job: "0", difficulty: 1, hash: toHex(crypto.getRandomValues(new Uint8Array(32))) })));
    server.start();
    const json = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: DEFAULT_LIMITS.maxMessageBytes, log });
    const native = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "native", maxBytes: DEFAULT_LIMITS.maxMessageBytes, log });
    stops.push(() => (json.stop(), native.stop()));

    const stats = server.stats();
    expect(stats.job).not.toBeNull();
    // Foundation, pool fee and 998 of the 1,000 payees: devnet's consensus cap; the 2 left out are carried.
    expect(stats.job!.outputs).toBe(params.maxCoinbaseOutputs);
    const plan = (server as unknown as { current: { plan: { carried: Record<string, string>; outputs: unknown[] } } }).current.plan;
    expect(Object.keys(plan.carried)).toHaveLength(2);

    const user = encodeAddress(addrs[0]!, params.addressVersion);
    const j = await rawMiner(json.port, "json", user);
    const n = await rawMiner(native.port, "native", user);
    const notifyBytes = encodeStratum("json", j.notify, MAX_POOL_MESSAGE_BYTES).length;
    console.log(`notify for ${stats.job!.outputs} outputs: ${notifyBytes} B as a JSON line; bound ${server.maxNotifyBytes} B`);
    expect(notifyBytes).toBeGreaterThan(80_000);
    expect(notifyBytes).toBeLessThanOrEqual(server.maxNotifyBytes);
    expect(n.notify.params).toEqual(j.notify.params);
    expect(j.closed() || n.closed()).toBe(false);

    // rignode worker's client on each codec: work arrives once, on the first connection, and stays.
    const works: { json: PoolWork[]; native: PoolWork[] } = { json: [], native: [] };
    const clients: Record<string, StratumClient> = {};
    for (const [codec, url] of [["json", `stratum+tcp://127.0.0.1:${json.port}`], ["native", `127.0.0.1:${native.port}`]] as const) {
      const c = new StratumClient({ pools: [parsePoolUrl(url)], user, password: "x", log, onWork: (w) => works[codec].push(w), backoffMinMs: 50 });
      clients[codec] = c;
      stops.push(() => c.stop());
      c.start();
    }
    const work = await waitFor(() => works.native[0]);
    await waitFor(() => works.json[0]);
    await Bun.sleep(500);
    for (const codec of ["json", "native"] as const) {
      expect(clients[codec]!.connects).toBe(1);
      expect(works[codec]![0]!.coinb1).toBe(j.notify.params[2]);
    }
    expect(events("worker.bad_message")).toEqual([]);

    // A block from that work: the 1,000-output coinbase passes the chain's rules.
    const job = {
      id: work.jobId, coinb1: fromHex(work.coinb1), coinb2: fromHex(work.coinb2), branch: work.merkleBranch.map((b) => fromHex(b)),
      work: { header: { version: parseInt(work.version, 16), prevHash: swapWords(fromHex(work.prevHash)), bits: parseInt(work.nbits, 16) } },
    } as unknown as PoolJob;
    const share = shareHeader(job, fromHex(work.extranonce1), { extranonce2: "00000001", ntime: work.ntime, nonce: "00000000" }, 0);
    const header = encodeHeader(share.header);
    let nonce = -1;
    for (let start = 0; nonce < 0 && start < 1 << 24; start += 4096) nonce = kernel.scan("sha256d", header, start, 4096, bigIntToLe(bitsToTarget(share.header.bits)))[0] ?? -1;
    const r = await clients.native!.submit(work.jobId, "00000001", work.ntime, nonce.toString(16).padStart(8, "0"));
    expect(r.status).toBe("accepted");
    await waitFor(() => chain.tip().height === 1);
    const block = chain.block(chain.hashAt(1)!)!.block;
    expect(block.txs[0]).toEqual(decodeTx(share.coinbase));
    expect((block.txs[0] as Coinbase).outputs).toHaveLength(params.maxCoinbaseOutputs);
    expect(events("pool.publish_failed")).toEqual([]);
  }, 120_000);
});

describe("a job that cannot be built or published", () => {
  /** A connection whose codec can be made to fail: everything it is sent is kept. */
  function fakeLink(): { link: Link; sent: any[]; broken: { on: boolean } } {
    const sent: any[] = [];
    const broken = { on: false };
    const link: Link = {
      ip: "127.0.0.9",
      codec: "test",
      encode: (m) => {
        if (broken.on && (m as { method?: string }).method === "mining.notify") throw new Error("encoder broke");
        return new TextEncoder().encode(JSON.stringify(m));
      },
      write: (b) => void sent.push(JSON.parse(new TextDecoder().decode(b))),
      flush: () => {},
      send: (b) => void sent.push(JSON.parse(new TextDecoder().decode(b))),
      close: () => {},
    };
    return { link, sent, broken };
  }

  async function connected(server: PoolServer) {
    const f = fakeLink();
    const c = server.open(f.link);
    if (typeof c === "string") throw new Error(c);
    await c.handle({ id: 1, method: "mining.subscribe", params: [] }, Date.now());
    await c.handle({ id: 2, method: "mining.authorize", params: [encodeAddress(generateKeyPair().publicKey, params.addressVersion), "x"] }, Date.now());
    await waitFor(() => f.sent.find((m) => m.method === "mining.notify"));
    return f;
  }

  const notifies = (sent: any[]) => sent.filter((m) => m.method === "mining.notify").map((m) => m.params[0]);

  test("an encoder that throws: logged, the last job stays, the builder is free and the next refresh publishes", async () => {
    const { log, events } = capture();
    const { server } = newPool(log);
    server.start();
    const f = await connected(server);
    const first = server.currentJob()!.seq;

    f.broken.on = true;
    server.refresh(true);
    const failed = events("pool.publish_failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: "error", reason: "encoder broke", serving: first.toString(16) });
    expect(server.currentJob()!.seq).toBe(first); // the last good job
    expect(server.stats().job_problem).toBe("not published: encoder broke");
    expect(server.health().ok).toBe(true); // miners still have work

    f.broken.on = false;
    server.refresh(false);
    const next = server.currentJob()!.seq;
    expect(next).toBeGreaterThan(first);
    expect(notifies(f.sent)).toEqual([first.toString(16), next.toString(16)]);
    // The failed refresh was clean (a new tip would be): the job that finally goes out is clean.
    expect(f.sent.findLast((m) => m.method === "mining.notify").params[8]).toBe(true);
    expect(server.stats().job_problem).toBeNull();
  });

  test("a source whose check throws, or a job that cannot be built: logged, the next refresh publishes", async () => {
    const { log, events } = capture();
    const fail = { verify: 0, work: 0 };
    const source = (chain: Chain) => {
      const s = new ChainSource(chain);
      const work = s.work.bind(s);
      return Object.assign(s, {
        // Throws synchronously (not a rejected promise): the builder used to stay busy for good.
        verify: () => {
          if (fail.verify-- > 0) throw new Error("daemon went away");
          return Promise.resolve();
        },
        work: (...a: Parameters<typeof work>) => {
          if (fail.work-- > 0) throw new Error("template failed");
          return work(...a);
        },
      }) as WorkSource;
    };
    const { server } = newPool(log, { source });
    server.start();
    const f = await connected(server);
    const first = server.currentJob()!.seq;

    fail.verify = 1;
    server.refresh(false);
    expect(events("pool.job_not_built").map((e) => e.reason)).toEqual(["daemon went away"]);
    fail.work = 1;
    server.refresh(false);
    expect(events("pool.job_not_built").map((e) => e.reason)).toEqual(["daemon went away", "template failed"]);
    expect(server.currentJob()!.seq).toBe(first);

    server.refresh(false);
    await waitFor(() => server.currentJob()!.seq > first);
    await waitFor(() => notifies(f.sent).length === 2);
    expect(server.stats().job_problem).toBeNull();
  });
});

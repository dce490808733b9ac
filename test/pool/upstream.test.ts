// The upstream work source against a scripted JSON-RPC daemon (no litecoind needed): what the pool does when the
// daemon refuses an assembled block in proposal mode, goes away, comes back, and when it is not there at start.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/core";
import { coinbaseRoot } from "../../src/chain";
import { DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, PoolServer, UpstreamSource } from "../../src/pool";
import { Store } from "../../src/store";
import { freePort, waitFor } from "../helpers";
import { kernel } from "../chain/helpers";

const log = createLogger({ json: true, level: "error" });
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

/** A daemon that answers like litecoind 0.21 in regtest; `proposal` is what it says of the next proposals. */
function fakeDaemon() {
  const state = { prev: "11".repeat(32), height: 200, proposal: null as string | null, calls: [] as string[], up: true, proposals: 0, chain: new Map<number, string>(), gbtError: null as { code: number; message: string } | null, submitDown: 0, submitAnswer: null as unknown, confirmations: 1 };
  const template = () => ({
    version: 0x20000000, previousblockhash: state.prev, transactions: [], coinbasevalue: 5000000000, longpollid: state.prev + state.height,
    target: "7fffff0000000000000000000000000000000000000000000000000000000000", mintime: 1795309851, curtime: 1795309900, bits: "207fffff", height: state.height,
    default_witness_commitment: "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (!state.up) return new Response("", { status: 503 });
      const { method, params } = (await req.json()) as { method: string; params: any[] };
      state.calls.push(method);
      const ok = (result: unknown) => Response.json({ result, error: null, id: method });
      switch (method) {
        case "getblockchaininfo":
          return ok({ chain: "regtest" });
        case "getnetworkinfo":
          return ok({ subversion: "/LitecoinCore:0.21.2.1/" });
        case "getbestblockhash":
          return ok(state.prev);
        case "submitblock":
          if (state.submitDown > 0) {
            state.submitDown--;
            return new Response("", { status: 503 });
          }
          if (typeof state.submitAnswer === "object" && state.submitAnswer) return Response.json({ result: null, error: state.submitAnswer, id: method }, { status: 500 });
          return ok(state.submitAnswer);
        case "getblockheader":
          return ok({ confirmations: state.confirmations, height: state.height });
        case "getblockhash":
          return state.chain.has(params[0]) ? ok(state.chain.get(params[0])) : Response.json({ result: null, error: { code: -8, message: "Block height out of range" }, id: method }, { status: 500 });
        case "getblocktemplate":
          if (state.gbtError) return Response.json({ result: null, error: state.gbtError, id: method }, { status: 500 });
          if (params[0]?.mode === "proposal") {
            state.proposals++;
            return ok(state.proposal);
          }
          if (params[0]?.longpollid) await Bun.sleep(60_000);
          return ok(template());
        default:
          return Response.json({ result: null, error: { code: -32601, message: "Method not found" }, id: method }, { status: 500 });
      }
    },
  });
  stops.push(() => server.stop(true));
  return { state, url: `http://u:p@127.0.0.1:${server.port}` };
}

async function startPool(url: string) {
  const source = new UpstreamSource({ url, algo: "auto", foundationAddress: "", log, pollMs: 50, templateMs: 60_000 });
  await source.start();
  stops.push(() => source.stop());
  const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-up-"))));
  const server = new PoolServer({
    source, powHash: (h) => kernel.hash("scrypt", h), ledger, log, poolAddress: new Uint8Array(0),
    poolFeeBps: 0, scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 0,
  });
  server.start();
  stops.push(() => server.stop());
  return { source, server, ledger };
}

describe("upstream work source", () => {
  test("a block the daemon refuses in proposal mode is never sent; the last good job stays; a good one goes out", async () => {
    const d = fakeDaemon();
    d.state.proposal = "bad-txnmrklroot";
    const { source, server } = await startPool(d.url);
    expect(source.algo).toBe("scrypt");
    await waitFor(() => (d.state.proposals > 0 ? true : undefined));
    await waitFor(() => (server.stats().job_problem ? true : undefined));
    expect(server.currentJob()).toBeNull();
    expect(server.stats().job_problem).toContain("bad-txnmrklroot");
    expect(source.status()).toMatchObject({ proposals_rejected: 1, last_proposal_rejection: "bad-txnmrklroot" });
    // The daemon accepts the next one (a new tip): the job goes out, clean.
    d.state.proposal = null;
    d.state.prev = "22".repeat(32);
    d.state.height++;
    const job = await waitFor(() => server.currentJob() ?? undefined);
    expect(server.stats().job).toMatchObject({ clean: true });
    expect(server.stats().job).toMatchObject({ height: 201 });
    // Refused again on the next tip: the job of height 201 is still the one served.
    d.state.proposal = "bad-cb-height";
    d.state.prev = "33".repeat(32);
    d.state.height++;
    await waitFor(() => (server.stats().job_problem?.includes("bad-cb-height") ? true : undefined));
    expect(server.currentJob()!.seq).toBe(job.seq);
  });

  test("the daemon away: status down with the error, the job kept; back: up, and clean work at once", async () => {
    const d = fakeDaemon();
    const { source, server } = await startPool(d.url);
    const first = await waitFor(() => server.currentJob() ?? undefined);
    d.state.up = false;
    await waitFor(() => (source.isUp() ? undefined : true));
    expect(source.status()).toMatchObject({ up: false });
    expect(source.status().last_error).toBeTruthy();
    expect(server.currentJob()!.seq).toBe(first.seq);
    d.state.up = true;
    await waitFor(() => (source.isUp() ? true : undefined));
    await waitFor(() => (server.currentJob()!.seq > first.seq ? true : undefined));
    expect(server.stats().job_problem).toBeNull();
    expect(server.stats().job).toMatchObject({ clean: true }); // same tip, but the miners' work is fresh
  });

  test("a pool block the daemon reorganises away is orphaned on the next tip, and main again when it comes back", async () => {
    const d = fakeDaemon();
    const { server, ledger } = await startPool(d.url);
    await waitFor(() => server.currentJob() ?? undefined);
    const ours = "ab".repeat(32); // display order, as the daemon shows it
    const plan = { scheme: "pplns" as const, total: "100", foundation: "1", poolFee: "0", poolFeeBps: 0, outputs: [], weights: {}, carried: {}, lastShare: 0 };
    ledger.recordBlock({ hash: Buffer.from(ours, "hex").reverse(), height: 200, plan });
    const status = () => server.blocks()[0]!.status;
    const tip = (prev: string) => {
      d.state.prev = prev;
      d.state.height++;
    };
    d.state.chain.set(200, "cd".repeat(32)); // another block won height 200
    tip("44".repeat(32));
    await waitFor(() => (status() === "orphaned" ? true : undefined));
    d.state.chain.set(200, ours); // a reorg brings ours back
    tip("55".repeat(32));
    await waitFor(() => (status() === "main" ? true : undefined));
    expect(server.blocks()[0]!.hash).toBe(ours);
  });

  test("a daemon that answers but gives no template (no peers): down with its reason, steadily; work once it does", async () => {
    const d = fakeDaemon();
    d.state.gbtError = { code: -9, message: "Litecoin Core is not connected!" };
    const { source, server } = await startPool(d.url);
    expect(source.isUp()).toBe(false);
    expect(source.status().last_error).toContain("not connected");
    const since = source.status().down_since;
    // Several polls while it is down: each asks for a template again, and each refusal keeps the same down_since.
    const gbts = () => d.state.calls.filter((m) => m === "getblocktemplate").length;
    const asked = gbts();
    await waitFor(() => (gbts() >= asked + 3 ? true : undefined));
    expect(source.status()).toMatchObject({ up: false, down_since: since });
    expect(server.currentJob()).toBeNull();
    d.state.gbtError = null;
    await waitFor(() => server.currentJob() ?? undefined);
    expect(source.isUp()).toBe(true);
  });

  test("no daemon at start: a clear error naming the upstream", async () => {
    const s = new UpstreamSource({ url: `http://u:secret@127.0.0.1:${freePort()}`, algo: "auto", foundationAddress: "", log });
    await expect(s.start()).rejects.toThrow(/upstream http:\/\/u@127\.0\.0\.1:\d+ did not answer/);
    expect(() => new UpstreamSource({ url: "ftp://x", algo: "auto", foundationAddress: "", log })).toThrow(/--upstream must be http:\/\/USER:PASS@HOST:PORT/);
  });

  test("submitblock: retried while the daemon is unreachable, then confirmed; refusals and side branches answered as such", async () => {
    const d = fakeDaemon();
    const { source, server } = await startPool(d.url);
    await waitFor(() => server.currentJob() ?? undefined);
    const work = source.work((total) => [{ to: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7)), amount: total }], "test");
    const { coinbase } = coinbaseRoot(work.coinb1, new Uint8Array(8), work.coinb2, work.branch);
    const submits = () => d.state.calls.filter((m) => m === "submitblock").length;

    // Unreachable twice (HTTP 503), then accepted and found on the daemon's best chain.
    d.state.submitDown = 2;
    expect(await source.submit(work, { ...work.header, nonce: 1 }, coinbase)).toMatchObject({ status: "accepted", height: 200 });
    expect(submits()).toBe(3);
    expect(source.status()).toMatchObject({ blocks_submitted: 1, blocks_accepted: 1 });

    // A second block on the same previous block is never sent.
    expect(await source.submit(work, { ...work.header, nonce: 2 }, coinbase)).toMatchObject({ status: "not_best", reason: "a block on this previous block was already submitted" });
    expect(submits()).toBe(3);
  });

  test("submitblock refused (an answer or an RPC error): rejected with the daemon's reason, and the previous block free again", async () => {
    const d = fakeDaemon();
    const { source, server } = await startPool(d.url);
    await waitFor(() => server.currentJob() ?? undefined);
    const work = source.work((total) => [{ to: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7)), amount: total }], "test");
    const { coinbase } = coinbaseRoot(work.coinb1, new Uint8Array(8), work.coinb2, work.branch);
    d.state.submitAnswer = "high-hash";
    expect(await source.submit(work, { ...work.header, nonce: 1 }, coinbase)).toMatchObject({ status: "rejected", reason: "high-hash" });
    d.state.submitAnswer = { code: -22, message: "Block decode failed" };
    expect(await source.submit(work, { ...work.header, nonce: 2 }, coinbase)).toMatchObject({ status: "rejected", reason: expect.stringContaining("Block decode failed") });
    // Taken, but not on the daemon's best chain (0 confirmations): a side branch.
    d.state.submitAnswer = null;
    d.state.confirmations = 0;
    expect(await source.submit(work, { ...work.header, nonce: 3 }, coinbase)).toMatchObject({ status: "not_best", reason: "side branch" });
    expect(d.state.calls.filter((m) => m === "submitblock").length).toBe(3);
    expect(source.status()).toMatchObject({ blocks_submitted: 3, blocks_accepted: 0 });
  });

  test("submitblock answered prev-blk-not-found (the daemon lacks the parent yet): held and sent again on the daemon's new tips; in once it has the parent; given up after 8 tips without", async () => {
    const d = fakeDaemon();
    const { source, server } = await startPool(d.url);
    await waitFor(() => server.currentJob() ?? undefined);
    const payTo = (total: bigint) => [{ to: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7)), amount: total }];
    const submits = () => d.state.calls.filter((m) => m === "submitblock").length;
    const tip = (n: number) => ((d.state.prev = n.toString(16).padStart(64, "0")), (d.state.height = n));
    let work = source.work(payTo, "test");
    let { coinbase } = coinbaseRoot(work.coinb1, new Uint8Array(8), work.coinb2, work.branch);

    d.state.submitAnswer = "prev-blk-not-found";
    const held = source.submit(work, { ...work.header, nonce: 1 }, coinbase);
    await waitFor(() => (source.status().blocks_held === 1 ? true : undefined));
    // While it is held, no second block on its previous block goes to the daemon.
    expect(await source.submit(work, { ...work.header, nonce: 2 }, coinbase)).toMatchObject({ status: "not_best" });
    // A new tip: sent again (still no parent); the daemon gets the parent: in.
    let n = submits();
    tip(0x300);
    await waitFor(() => (submits() > n ? true : undefined));
    d.state.submitAnswer = null;
    tip(0x301);
    expect(await held).toMatchObject({ status: "accepted", height: 0x301 });
    expect(source.status()).toMatchObject({ blocks_submitted: 1, blocks_accepted: 1, blocks_held: 1 });

    // Never a parent: given up after 8 new tips, and its previous block free again.
    await waitFor(() => (source.status().previous_block === d.state.prev ? true : undefined));
    work = source.work(payTo, "test");
    ({ coinbase } = coinbaseRoot(work.coinb1, new Uint8Array(8), work.coinb2, work.branch));
    d.state.submitAnswer = "prev-blk-not-found";
    const first = submits();
    let done = false;
    const lost = source.submit(work, { ...work.header, nonce: 3 }, coinbase).finally(() => (done = true));
    for (let h = 0x400; !done; h++) {
      n = submits();
      await waitFor(() => (done || submits() > n ? true : undefined));
      tip(h);
    }
    expect(await lost).toMatchObject({ status: "rejected", reason: "parent still unknown after 8 new tips" });
    expect(submits() - first).toBeGreaterThanOrEqual(9); // the first try, one per tip (and a try each second besides)
    d.state.submitAnswer = null;
    expect(await source.submit(work, { ...work.header, nonce: 4 }, coinbase)).toMatchObject({ status: "accepted" });
  });

  test("a block held for its parent P: when the daemon moves on to P, a second block on P is still not sent (one per previous block)", async () => {
    const d = fakeDaemon();
    const { source, server } = await startPool(d.url);
    await waitFor(() => server.currentJob() ?? undefined);
    const payTo = (total: bigint) => [{ to: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7)), amount: total }];
    const work = source.work(payTo, "test");
    const { coinbase } = coinbaseRoot(work.coinb1, new Uint8Array(8), work.coinb2, work.branch);
    // A job adopted from the leader: on P, the leader's newest block, one above this daemon's tip.
    const P = "ab".repeat(32);
    const t = work.data as { prevHashHex: string; height: number };
    const onP = { ...work, data: { ...t, prevHashHex: P, height: t.height + 1 } };
    d.state.submitAnswer = "prev-blk-not-found";
    const held = source.submit(onP, { ...work.header, nonce: 1 }, coinbase);
    await waitFor(() => (source.status().blocks_held === 1 ? true : undefined));
    // The daemon gets P (a step forward, not a reorganisation back to it): the held block is tried, nothing else on P.
    d.state.prev = P;
    d.state.height += 1;
    await waitFor(() => (source.status().previous_block === P ? true : undefined));
    expect(await source.submit(onP, { ...work.header, nonce: 2 }, coinbase)).toMatchObject({ status: "not_best", reason: "a block on this previous block was already submitted" });
    d.state.submitAnswer = null;
    expect(await held).toMatchObject({ status: "accepted" });
  });
});

// A block the pool found that a reorganisation takes off the main chain: marked orphaned, not counted as paid, and the
// carry and the PROP round go back to what the main chain says.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeAddress, generateKeyPair } from "../../src/chain";
import { createLogger, fromHex, leToBigInt } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, shareHeader, swapWords, type PoolJob } from "../../src/pool";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn } from "../chain/helpers";

describe("pool blocks and reorganisations", () => {
  test("a pool block reorganised away is orphaned; stats and the next plan follow the main chain", async () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-reorg-")));
    const chain = new Chain({ store, params: EASY, powHash: (h) => kernel.hash("sha256d", h) });
    const ledger = new Ledger(store);
    const server = new PoolServer({
      source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress: generateKeyPair().publicKey,
      poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 0,
    });
    server.start();
    const http = new HttpWorkers(server);
    const user = encodeAddress(generateKeyPair().publicKey, EASY.addressVersion);
    const reg = await http.register(user, "d=0.000001", "127.0.0.1");
    const j = http.job(reg.session);
    const p = j.params as any[];
    const job = { coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: [], work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
    const net = bitsToTarget(parseInt(p[6], 16));
    let nonce = 0;
    while (leToBigInt(kernel.hash("sha256d", shareHeader(job, fromHex(reg.extranonce1), { extranonce2: "00000001", ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") }, 0).bytes)) > net) nonce++;
    const r = await http.share(reg.session, { job_id: j.job_id, extranonce2: "00000001", ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") });
    expect(r.accepted).toBe(true);
    expect(chain.tip().height).toBe(1);
    expect(ledger.blocks().map((b) => b.status)).toEqual(["main"]);
    expect(server.stats().blocks_found).toBe(1);

    // Two blocks on genesis from elsewhere: more work, the pool's block leaves the main chain.
    const other = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-reorg-"))), params: EASY, powHash: (h) => kernel.hash("sha256d", h) });
    const miner = generateKeyPair();
    const b1 = mineOn(other, miner).block;
    const b2 = mineOn(other, miner).block;
    chain.acceptBlock(b1);
    expect(chain.acceptBlock(b2).status).toBe("reorg");
    expect(ledger.blocks().map((b) => b.status)).toEqual(["orphaned"]);
    expect(server.blocks()[0]!.status).toBe("orphaned");
    expect(server.stats().blocks_found).toBe(0);
    expect(server.stats().payouts).toEqual([]);
    // The share itself stays in the ledger (it is paid by the next block the pool finds).
    expect(ledger.count()).toBe(1);
    server.stop();
  }, 60_000);
});

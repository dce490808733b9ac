// The mempool's cap and the template's limits: what a node holds and what goes into a block when there is more
// waiting than fits.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeBlock, encodeTx, generateKeyPair, signTransfer, type KeyPair, type NetworkParams } from "../../src/chain";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn, solve } from "./helpers";

function chainWith(params: NetworkParams, mempoolLimit?: number) {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-mempool-")));
  return new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h), mempoolLimit });
}

const send = (from: KeyPair, to: KeyPair, nonce: bigint, fee: bigint, params = EASY) =>
  signTransfer({ from: from.publicKey, to: to.publicKey, amount: 1000n, fee, nonce }, from.seed, params.chainId);

describe("mempool and template limits", () => {
  test("a full mempool refuses the next transfer with mempool-full; a block that takes them makes room", () => {
    const chain = chainWith(EASY, 3);
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    mineOn(chain, alice);
    for (let n = 0n; n < 3n; n++) chain.addToMempool(send(alice, bob, n, 100n));
    expect(chain.mempoolSize()).toBe(3);
    expect(() => chain.addToMempool(send(alice, bob, 3n, 100n))).toThrow(expect.objectContaining({ rule: "mempool-full" }));
    expect(chain.mempoolSize()).toBe(3);
    const mined = mineOn(chain, bob);
    expect(mined.block.txs.length).toBe(4);
    expect(chain.mempoolSize()).toBe(0);
    chain.addToMempool(send(alice, bob, 3n, 100n));
    expect(chain.mempoolSize()).toBe(1);
  });

  test("more than fits: the template takes the highest fees within maxBlockBytes, and the block is valid", () => {
    const senders = Array.from({ length: 5 }, () => generateKeyPair());
    const sink = generateKeyPair();
    const probe = send(senders[0]!, sink, 0n, 1n);
    const per = encodeTx(probe).length + 5;
    // Room for the coinbase reserve and exactly three transfers.
    const params: NetworkParams = { ...EASY, maxBlockBytes: 200 + EASY.maxCoinbaseOutputs * 50 + 3 * per + per - 1 };
    const chain = chainWith(params);
    for (const s of senders) mineOn(chain, s);
    const fees = [10n, 50n, 20n, 40n, 30n];
    senders.forEach((s, i) => chain.addToMempool(send(s, sink, 0n, fees[i]!, params)));
    const t = chain.template((total) => [{ to: sink.publicKey, amount: total }], new Uint8Array(8));
    const taken = t.txs.slice(1).map((x) => (x.type === "transfer" ? x.fee : -1n));
    expect(taken).toEqual([50n, 40n, 30n]);
    expect(encodeBlock(t).length).toBeLessThanOrEqual(params.maxBlockBytes);
    expect(chain.acceptBlock(solve(t, params)).status).toBe("connected");
    expect(chain.mempoolSize()).toBe(2);
  });

  test("a sender's nonces go in order even when the later one pays more", () => {
    const chain = chainWith(EASY);
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    mineOn(chain, alice);
    chain.addToMempool(send(alice, bob, 0n, 1n));
    chain.addToMempool(send(alice, bob, 1n, 1000n));
    const t = chain.template((total) => [{ to: bob.publicKey, amount: total }], new Uint8Array(8));
    expect(t.txs.slice(1).map((x) => (x.type === "transfer" ? x.nonce : -1n))).toEqual([0n, 1n]);
    expect(chain.acceptBlock(solve(t)).status).toBe("connected");
  });
});

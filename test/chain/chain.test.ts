import { describe, expect, test } from "bun:test";
import {
  bitsToTarget, blockHash, decodeBlock, encodeBlock, encodeHeader, generateKeyPair, merkleRoot, rewardAt, signTransfer, txId, type Block,
} from "../../src/chain";
import { leToBigInt } from "../../src/core";
import { EASY, kernel, mineOn, openChain, solve } from "./helpers";

const alice = generateKeyPair();
const bob = generateKeyPair();
const carol = generateKeyPair();
const R = rewardAt(EASY, 1);

function transfer(from: typeof alice, to: typeof bob, amount: bigint, nonce: bigint, fee = 100n) {
  return signTransfer({ from: from.publicKey, to: to.publicKey, amount, fee, nonce }, from.seed, EASY.chainId);
}

describe("chain", () => {
  test("starts at the network's genesis and refuses a data dir of another network", () => {
    const { chain, dir, store } = openChain();
    expect(chain.tip().height).toBe(0);
    store.close();
    expect(() => openChain(dir, { ...EASY, genesis: { ...EASY.genesis, memo: "other" } })).toThrow("another network's chain");
  });

  test("mined blocks connect, pay the coinbase, and state survives a reopen", () => {
    const { chain, dir, store } = openChain();
    for (let i = 0; i < 3; i++) expect(mineOn(chain, alice).result.status).toBe("connected");
    expect(chain.tip().height).toBe(3);
    expect(chain.account(alice.publicKey).balance).toBe(3n * R);
    store.close();
    const again = openChain(dir).chain;
    expect(again.tip().height).toBe(3);
    expect(again.account(alice.publicKey).balance).toBe(3n * R);
  });

  test("transfers: mempool checks, mined with their fee, nonces in order, balances exact", () => {
    const { chain } = openChain();
    mineOn(chain, alice);
    const t0 = transfer(alice, bob, 1_000_000n, 0n);
    const t1 = transfer(alice, carol, 2_000_000n, 1n, 300n);
    chain.addToMempool(t0);
    chain.addToMempool(t1);
    expect(() => chain.addToMempool(t0)).toThrow("duplicate");
    expect(() => chain.addToMempool(transfer(alice, bob, 1000n, 5n))).toThrow("bad-nonce");
    expect(() => chain.addToMempool(transfer(bob, alice, 1000n, 0n))).toThrow("insufficient-funds");
    expect(() => chain.addToMempool({ ...transfer(alice, bob, 5000n, 2n), amount: 6000n })).toThrow("bad-signature");
    expect(() => chain.addToMempool(transfer(alice, bob, 10n, 2n))).toThrow("dust");
    const { block } = mineOn(chain, carol);
    expect(block.txs.length).toBe(3);
    expect(chain.mempool()).toEqual([]);
    expect(chain.account(alice.publicKey)).toEqual({ balance: R - 3_000_400n, nonce: 2n });
    expect(chain.account(bob.publicKey).balance).toBe(1_000_000n);
    expect(chain.account(carol.publicKey).balance).toBe(2_000_000n + R + 400n);
  });

  describe("invalid blocks are refused with the rule they break, and nothing changes", () => {
    const base = () => {
      const c = openChain();
      mineOn(c.chain, alice);
      return c;
    };
    const tmpl = (c: ReturnType<typeof openChain>) => c.chain.template((t) => [{ to: bob.publicKey, amount: t }], new Uint8Array(8));
    const cases: [string, (c: ReturnType<typeof openChain>) => Block, string][] = [
      ["proof of work", (c) => {
        const b = tmpl(c);
        const target = bitsToTarget(b.header.bits);
        for (let n = 0; ; n++) {
          const h = { ...b.header, nonce: n };
          if (leToBigInt(kernel.hash(EASY.algo, encodeHeader(h))) > target) return { ...b, header: h };
        }
      }, "high-hash"],
      ["coinbase amount", (c) => solve(c.chain.template((t) => [{ to: bob.publicKey, amount: t + 1n }], new Uint8Array(8))), "coinbase-amount"],
      ["merkle root", (c) => { const b = tmpl(c); return solve({ ...b, header: { ...b.header, merkleRoot: new Uint8Array(32) } }); }, "merkle-root"],
      ["bits", (c) => { const b = tmpl(c); return solve({ ...b, header: { ...b.header, bits: 0x1f00ffff } }); }, "bad-bits"],
      ["time before median time past", (c) => { const b = tmpl(c); return solve({ ...b, header: { ...b.header, time: EASY.genesis.time } }); }, "time-too-old"],
      ["time too far ahead", (c) => { const b = tmpl(c); return solve({ ...b, header: { ...b.header, time: b.header.time + 3600 } }); }, "time-too-new"],
      ["unknown parent", (c) => { const b = tmpl(c); return solve({ ...b, header: { ...b.header, prevHash: new Uint8Array(32).fill(7) } }); }, "orphan"],
      ["double spend of a nonce", (c) => {
        const t = transfer(alice, bob, 5000n, 0n);
        const b = tmpl(c);
        const txs = [b.txs[0]!, t, { ...t, amount: 6000n, sig: transfer(alice, bob, 6000n, 0n).sig }];
        const fixed = c.chain.template((x) => [{ to: bob.publicKey, amount: x }], new Uint8Array(8));
        const blk = { header: { ...fixed.header }, txs };
        return withRoot(blk, 200n);
      }, "bad-nonce"],
      ["spending more than the balance", (c) => withRoot({ header: tmpl(c).header, txs: [tmpl(c).txs[0]!, transfer(bob, alice, 5000n, 0n)] }, 100n), "insufficient-funds"],
    ];
    for (const [name, make, rule] of cases) {
      test(name, () => {
        const c = base();
        const before = c.chain.tip();
        const b = make(c);
        expect(() => c.chain.acceptBlock(b)).toThrow(rule);
        expect(c.chain.tip().hash).toEqual(before.hash);
        expect(c.chain.account(alice.publicKey).balance).toBe(R);
      });
    }
  });

  test("reorganisation to the branch with more work: state rolled back and forward, abandoned transfers back in the mempool", () => {
    const a = openChain();
    const b = openChain();
    // A common prefix of 2 blocks on both.
    for (let i = 0; i < 2; i++) {
      const { block } = mineOn(a.chain, alice);
      b.chain.acceptBlock(decodeBlock(encodeBlock(block)));
    }
    // Side A: a transfer alice -> bob mined in one block.
    a.chain.addToMempool(transfer(alice, bob, 7_000_000n, 0n));
    mineOn(a.chain, carol);
    expect(a.chain.account(bob.publicKey).balance).toBe(7_000_000n);
    // Side B: three blocks without it: more work.
    const bBlocks = [0, 1, 2].map(() => mineOn(b.chain, bob).block);
    const results = bBlocks.map((blk) => a.chain.acceptBlock(blk));
    // B's first block ties A's work (kept as a side branch); its second has more: one block undone.
    expect(results.map((r) => r.status)).toEqual(["side", "reorg", "connected"]);
    expect(results[1]!.disconnected).toBe(1);
    expect(a.chain.tip().hash).toEqual(b.chain.tip().hash);
    expect(a.chain.account(bob.publicKey).balance).toBe(3n * R); // mined rewards only; the transfer is undone
    expect(a.chain.account(carol.publicKey).balance).toBe(0n);
    expect(a.chain.account(alice.publicKey)).toEqual({ balance: 2n * R, nonce: 0n });
    expect(a.chain.mempool().map((t) => t.amount)).toEqual([7_000_000n]);
    // Mining on: the transfer from the abandoned branch is mined again.
    mineOn(a.chain, carol);
    expect(a.chain.account(bob.publicKey).balance).toBe(3n * R + 7_000_000n);
  });

  test("a block that fails when its branch is applied is marked invalid and never retried", () => {
    const a = openChain();
    mineOn(a.chain, alice);
    const bad = solve(a.chain.template((t) => [{ to: bob.publicKey, amount: t + 5n }], new Uint8Array(8)));
    expect(() => a.chain.acceptBlock(bad)).toThrow("coinbase-amount");
    expect(() => a.chain.acceptBlock(bad)).toThrow("known-invalid");
    expect(a.chain.block(blockHash(bad.header))?.status).toBe("invalid");
  });
});

/** A hand-made transaction list: recompute the merkle root, then solve. */
function withRoot(b: Block, _fees: bigint): Block {
  return solve({ ...b, header: { ...b.header, merkleRoot: merkleRoot(b.txs.map((t) => txId(t))) } });
}

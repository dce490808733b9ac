// A proof-of-sync chain: blocks named by their producer and slot, signed, checked against the branch's winners,
// the slot's opening time, and fork choice by blocks, then slots, then hash.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockHash, Chain, keyPairFromSeed, NETWORKS, sealBytes, signMessage, syncMemo, type Block, type KeyPair } from "../../src/chain";
import { producerRules } from "../../src/consensus";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";

const params = NETWORKS["devnet-sync"]!;
const keys: KeyPair[] = [0, 1, 2].map((i) => keyPairFromSeed(new Uint8Array(new Bun.CryptoHasher("sha256").update(`rignode devnet-sync producer ${i}`).digest())));
const idOf = (k: KeyPair) => Buffer.from(k.publicKey).toString("hex");
const keyOf = (id: string) => keys.find((k) => idOf(k) === id)!;
const T0 = params.genesis.time * 1000;

function open(dir = mkdtempSync(join(tmpdir(), "rignode-sync-chain-"))) {
  const store = Store.open(dir);
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash("sha256d", h), producers: producerRules(params.chainId, params.producers), now: () => Math.floor(Date.now() / 1000) });
  return { chain, store, dir };
}

/** A block on `parent` (default: the tip) by `producer` in `slot`, stamped `timeMs`, signed by `signer`. */
function make(chain: Chain, o: { producer: string; slot: number; timeMs: number; signer?: KeyPair; pay?: Uint8Array }): Block {
  const en = new Uint8Array(8);
  crypto.getRandomValues(en);
  const t = chain.template((total) => [{ to: o.pay ?? keys[0]!.publicKey, amount: total }], en, syncMemo(o.producer, o.timeMs));
  const header = { ...t.header, nonce: o.slot, time: Math.floor(o.timeMs / 1000) };
  const sig = signMessage((o.signer ?? keyOf(o.producer)).seed, sealBytes(params.chainId, blockHash(header)));
  return { header, txs: t.txs, sig };
}

describe("proof-of-sync chain", () => {
  test("the slot's producer, signed, after the slot opens: accepted; anything else refused with its rule", () => {
    const { chain } = open();
    const w = chain.syncWinners(chain.tip().hash);
    expect(w.winners).toHaveLength(3);
    expect(w.parentTimeMs).toBe(T0);
    const t = T0 + 500;
    expect(() => chain.acceptBlock(make(chain, { producer: w.winners[1]!, slot: 0, timeMs: t }))).toThrow(/wrong-producer/);
    expect(() => chain.acceptBlock(make(chain, { producer: w.winners[1]!, slot: 1, timeMs: T0 + 1199 }))).toThrow(/slot-not-open/);
    expect(() => chain.acceptBlock(make(chain, { producer: w.winners[0]!, slot: 0, timeMs: t, signer: keyOf(w.winners[1]!) }))).toThrow(/bad-signature/);
    expect(() => chain.acceptBlock(make(chain, { producer: w.winners[0]!, slot: 3, timeMs: T0 + 9000 }))).toThrow(/bad-slot/);
    const unsigned = make(chain, { producer: w.winners[0]!, slot: 0, timeMs: t });
    delete unsigned.sig;
    expect(() => chain.acceptBlock(unsigned)).toThrow(/bad-signature/);
    expect(() => chain.acceptBlock(make(chain, { producer: w.winners[0]!, slot: 0, timeMs: Date.now() + 60_000 }))).toThrow(/time-too-new/);
    expect(chain.acceptBlock(make(chain, { producer: w.winners[0]!, slot: 0, timeMs: t })).status).toBe("connected");
    expect(chain.tip().height).toBe(1);
  });

  test("fork choice: a primary's block beats a backup's at the same height; more blocks beat both", () => {
    const { chain, dir } = open();
    const w = chain.syncWinners(chain.tip().hash);
    const backup = make(chain, { producer: w.winners[1]!, slot: 1, timeMs: T0 + 1300 });
    const primary = make(chain, { producer: w.winners[0]!, slot: 0, timeMs: T0 + 300 });
    expect(chain.acceptBlock(backup).status).toBe("connected");
    expect(chain.acceptBlock(primary).status).toBe("reorg"); // lower slot at the same height
    expect(Buffer.compare(chain.tip().hash, blockHash(primary.header))).toBe(0);
    // Two blocks on the backup's branch outweigh the primary's one.
    const other = open();
    other.chain.acceptBlock(backup);
    const w2 = other.chain.syncWinners(other.chain.tip().hash);
    const next = make(other.chain, { producer: w2.winners[0]!, slot: 0, timeMs: T0 + 1600 });
    other.chain.acceptBlock(next);
    expect(chain.acceptBlock(next).status).toBe("reorg");
    expect(chain.tip().height).toBe(2);
    // A restarted chain (nothing cached) goes on validating the same branch.
    const again = open(dir).chain;
    const w3 = again.syncWinners(again.tip().hash);
    expect(w3.winners).toEqual(other.chain.syncWinners(other.chain.tip().hash).winners);
    expect(again.acceptBlock(make(again, { producer: w3.winners[0]!, slot: 0, timeMs: T0 + 2000 })).status).toBe("connected");
  });

  test("a proof-of-work network refuses a signed block", () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-sync-chain-")));
    const chain = new Chain({ store, params: { ...NETWORKS.devnet!, powLimitBits: 0x207fffff }, powHash: (h) => kernel.hash("sha256d", h) });
    const t = chain.template((total) => [{ to: keys[0]!.publicKey, amount: total }], new Uint8Array(8));
    expect(() => chain.acceptBlock({ ...t, sig: new Uint8Array(64) })).toThrow(/unexpected-signature/);
  });
});

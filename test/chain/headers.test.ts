// What a peer's headers prove: a run that builds on a block we hold, links up and passes the header-only checks
// counts up to its last good header; a run that builds on nothing we hold proves nothing.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockHash, Chain, genesisBlock, generateKeyPair, NETWORKS, type Header } from "../../src/chain";
import { producerRules } from "../../src/consensus";
import { Store } from "../../src/store";
import { EASY, kernel, mineOn, openChain, solve } from "./helpers";

const SYNC = NETWORKS["devnet-sync"]!;
const NOW = SYNC.genesis.time + 3600;

function syncChain() {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-headers-")));
  return new Chain({ store, params: SYNC, powHash: (h) => kernel.hash("sha256d", h), producers: producerRules(SYNC.chainId, SYNC.producers), now: () => NOW });
}

/** `n` headers on `parent`, one second apart from `time`, each linking to the one before. */
function run(parent: Uint8Array, n: number, time: number, bits = SYNC.powLimitBits): Header[] {
  const out: Header[] = [];
  for (let i = 0; i < n; i++) {
    const merkleRoot = new Uint8Array(32).fill(i + 1);
    const h: Header = { version: 1, prevHash: out.length ? blockHash(out[out.length - 1]!) : parent, merkleRoot, time: time + i, bits, nonce: 0 };
    out.push(h);
  }
  return out;
}

describe("proven height of a run of headers", () => {
  const chain = syncChain();
  const g = blockHash(genesisBlock(SYNC).header);
  const t0 = SYNC.genesis.time;

  test("a run on a block we hold proves its last header's height", () => {
    expect(chain.provenHeight(run(g, 5, t0 + 1))).toBe(5);
  });

  test("a run on a block we do not hold proves nothing", () => {
    expect(chain.provenHeight(run(new Uint8Array(32).fill(7), 5, t0 + 1))).toBeNull();
    expect(chain.provenHeight([])).toBeNull();
  });

  test("the run counts up to its first header that does not link, or fails a check", () => {
    const broken = run(g, 6, t0 + 1);
    broken[3] = { ...broken[3]!, prevHash: new Uint8Array(32).fill(9) };
    expect(chain.provenHeight(broken)).toBe(3);
    const future = run(g, 6, t0 + 1);
    future[4] = { ...future[4]!, time: NOW + 60 }; // a minute ahead of this node's clock
    expect(chain.provenHeight(future)).toBe(4);
    const early = run(g, 6, t0 + 10);
    early[2] = { ...early[2]!, time: t0 + 5 }; // before its parent
    expect(chain.provenHeight(early)).toBe(2);
    const bits = run(g, 6, t0 + 1);
    bits[0] = { ...bits[0]!, bits: 0x1d00ffff }; // proof-of-sync blocks carry the network's fixed bits
    expect(chain.provenHeight(bits)).toBeNull();
  });

  test("proof of work: a header whose hash does not meet its bits, or bits above the limit, ends the run", () => {
    const { chain: pow } = openChain();
    const kp = generateKeyPair();
    mineOn(pow, kp);
    const tip = pow.tip();
    const solved = (prev: Uint8Array, time: number): Header =>
      solve({ header: { version: 1, prevHash: prev, merkleRoot: new Uint8Array(32).fill(time & 0xff), time, bits: EASY.powLimitBits, nonce: 0 }, txs: [] }).header;
    const a = solved(tip.hash, tip.header.time + 1);
    const b = solved(blockHash(a), tip.header.time + 2);
    expect(pow.provenHeight([a, b])).toBe(tip.height + 2);
    // A nonce whose hash misses the target (about one in two meets the easy limit: find one that misses).
    let miss = { ...b };
    for (let n = 0; ; n++) {
      miss = { ...b, nonce: n };
      if (pow.provenHeight([a, miss]) === tip.height + 1) break;
      expect(n).toBeLessThan(64);
    }
    expect(pow.provenHeight([a, { ...b, bits: 0x2100ffff }])).toBe(tip.height + 1);
  });
});

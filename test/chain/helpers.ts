// A chain on a throwaway data dir with an easy network, mined with the real kernel.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, NETWORKS, blockHash, encodeHeader, type Block, type KeyPair, type NetworkParams } from "../../src/chain";
import { leToBigInt } from "../../src/core";
import { loadKernel } from "../../src/kernel";
import { Store } from "../../src/store";
import { bitsToTarget } from "../../src/chain";

export const { lib: kernel } = await loadKernel("auto");

/** devnet with a regtest-like limit: about one hash in two meets it. */
export const EASY: NetworkParams = { ...NETWORKS.devnet!, name: "test", chainId: "rignode-test", powLimitBits: 0x207fffff };

export function openChain(dir = mkdtempSync(join(tmpdir(), "rignode-chain-")), params = EASY, now?: () => number) {
  const store = Store.open(dir);
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h), now });
  return { chain, store, dir };
}

/** Finds a nonce for the block's header with the kernel and returns the solved block. */
export function solve(b: Block, params = EASY): Block {
  const header = encodeHeader(b.header);
  const target = bitsToTarget(b.header.bits);
  const t = new Uint8Array(32);
  let x = target;
  for (let i = 0; i < 32; i++) (t[i] = Number(x & 0xffn)), (x >>= 8n);
  let nonce = -1;
  for (let start = 0; nonce < 0 && start < 1 << 24; start += 256) {
    const found = kernel.scan(params.algo, header, start, 256, t);
    if (found.length) nonce = found[0]!;
  }
  if (nonce < 0) throw new Error("no nonce found");
  const solved = { ...b, header: { ...b.header, nonce } };
  if (leToBigInt(kernel.hash(params.algo, encodeHeader(solved.header))) > target) throw new Error("bad solve");
  return solved;
}

let en = 0;
/** Mines one block paying `to` on the chain's tip (optionally with a timestamp offset) and accepts it. */
export function mineOn(chain: Chain, to: KeyPair, opts: { time?: number } = {}) {
  const extranonce = new Uint8Array(8);
  new DataView(extranonce.buffer).setUint32(4, ++en);
  let t = chain.template((total) => [{ to: to.publicKey, amount: total }], extranonce);
  if (opts.time !== undefined) t = { ...t, header: { ...t.header, time: opts.time } };
  const b = solve(t, chain.params);
  return { block: b, result: chain.acceptBlock(b), hash: blockHash(b.header) };
}

import { describe, expect, test } from "bun:test";
import { chainWork, difficultyToTarget, DIFF1, hashDifficulty, makeJob, shareHeader, swapWords } from "../../src/pool";
import { decodeTx, encodeHeader, generateKeyPair, sha256d, type Block } from "../../src/chain";
import { fromHex, leToBigInt, reversed, toHex } from "../../src/core";
import { kernel, mineOn, openChain } from "../chain/helpers";
import { HashSet96 } from "../../src/pool/shares";

describe("stratum difficulty", () => {
  test("difficulty 1 is 0xFFFF·2^208 for sha256d and 65536 times that for scrypt", () => {
    expect(difficultyToTarget(1, "sha256d")).toBe(0xffffn << 208n);
    expect(difficultyToTarget(1, "scrypt")).toBe(DIFF1.sha256d * 65536n);
  });
  test("whole and fractional difficulties are exact: floor(DIFF1 / D)", () => {
    expect(difficultyToTarget(512, "sha256d")).toBe(DIFF1.sha256d / 512n);
    expect(difficultyToTarget(0.5, "sha256d")).toBe(DIFF1.sha256d * 2n);
    expect(difficultyToTarget(0.00015, "sha256d")).toBeGreaterThan(DIFF1.sha256d * 6000n);
    expect(difficultyToTarget(1e-80, "sha256d")).toBe((1n << 256n) - 1n); // clamped
    expect(() => difficultyToTarget(0, "sha256d")).toThrow("positive");
    expect(hashDifficulty(DIFF1.sha256d / 1000n, "sha256d")).toBeCloseTo(1000, 3);
  });
});

describe("notify byte orders", () => {
  test("prevhash is the internal bytes with every 4-byte word swapped (public-pool's recorded session)", () => {
    const rpc = "00000000000000022246451e9af7ac4f8bff2527d223f6e623740e92171592f2";
    const internal = reversed(fromHex(rpc, 32));
    expect(toHex(swapWords(internal))).toBe("171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000");
    expect(swapWords(swapWords(internal))).toEqual(internal);
  });

  test("a miner that knows only the notify fields builds the header the pool checks, and the block connects", () => {
    const { chain } = openChain();
    const alice = generateKeyPair();
    mineOn(chain, alice); // a parent with a normal coinbase
    const template = chain.template((total) => [{ to: alice.publicKey, amount: total }], new Uint8Array(8), "pool");
    const job = makeJob("1", "sha256d", chainWork(template, chain.medianTimePast(chain.tip().hash) + 1, 1), true);
    const n = job.notify;
    // Miner side, from the strings alone: coinbase, merkle root, header fields in their byte orders.
    const en1 = fromHex("57a6f098", 4);
    const en2 = "c7080000";
    const coinbase = fromHex(n.coinb1 + toHex(en1) + en2 + n.coinb2);
    let root = sha256d(coinbase);
    for (const b of n.merkleBranch) root = sha256d(new Uint8Array([...root, ...fromHex(b, 32)]));
    const le = (hex: string) => fromHex(hex, 4).reverse();
    const minerHeader = new Uint8Array([...le(n.version), ...swapWords(fromHex(n.prevHash, 32)), ...root, ...le(n.ntime), ...le(n.nbits), ...le("00000000")]);
    // Find a nonce that meets the block target, then submit it as the miner would.
    const target = new Uint8Array(32).fill(0xff);
    target[31] = 0x7f;
    const nonce = kernel.scan("sha256d", minerHeader, 0, 64, target)[0]!;
    const nonceHex = nonce.toString(16).padStart(8, "0");
    const { header, bytes, coinbase: cb } = shareHeader(job, en1, { extranonce2: en2, ntime: n.ntime, nonce: nonceHex }, 0);
    minerHeader.set(le(nonceHex), 76);
    expect(bytes).toEqual(minerHeader);
    // The same share as a block: the coinbase with the extranonces filled in, the template's other transactions.
    const block: Block = { header, txs: [decodeTx(cb), ...template.txs.slice(1)] };
    expect(chain.acceptBlock(block).status).toBe("connected");
    expect(leToBigInt(kernel.hash("sha256d", encodeHeader(header)))).toBeLessThan(1n << 255n);
  });

  test("version rolling: (version & ~mask) | (bits & mask); bits outside the mask are refused", () => {
    const { chain } = openChain();
    const t = chain.template((total) => [{ to: generateKeyPair().publicKey, amount: total }], new Uint8Array(8));
    const job = makeJob("2", "sha256d", chainWork({ ...t, header: { ...t.header, version: 0x20000000 } }, 0, 1), false);
    const sub = { extranonce2: "00000000", ntime: job.notify.ntime, nonce: "00000000" };
    expect(shareHeader(job, new Uint8Array(4), { ...sub, versionBits: "00002000" }, 0x1fffe000).header.version).toBe(0x20002000);
    expect(() => shareHeader(job, new Uint8Array(4), { ...sub, versionBits: "00000001" }, 0x1fffe000)).toThrow("outside the negotiated mask");
    expect(() => shareHeader(job, new Uint8Array(4), { ...sub, nonce: "xyz" }, 0)).toThrow("8 hex digits");
    expect(() => shareHeader(job, new Uint8Array(4), { ...sub, extranonce2: "00" }, 0)).toThrow("extranonce2");
  });
});

describe("duplicate set", () => {
  test("a hash is seen once; hashes that share their first 48 bits are still told apart", () => {
    const s = new HashSet96();
    const h = (first: number, second: number) => {
      const b = new Uint8Array(32);
      b[0] = first;
      b[6] = second;
      return b;
    };
    expect(s.add(h(1, 1))).toBe(true);
    expect(s.add(h(1, 1))).toBe(false);
    expect(s.add(h(1, 2))).toBe(true); // same first 48 bits, different next 48
    expect(s.add(h(1, 3))).toBe(true);
    expect(s.add(h(1, 2))).toBe(false);
    expect(s.add(h(1, 3))).toBe(false);
    expect(s.add(h(2, 1))).toBe(true);
    expect(s.size).toBe(2);
  });
});

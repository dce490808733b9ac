import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  bitsToTarget, blockHash, encodeHeader, coinbaseBranch, decode, decodeAddress, decodeBlock, decodeTx, encode, encodeAddress, encodeBlock,
  encodeTx, generateKeyPair, merkleRoot, rootFromBranch, sha256d, signTransfer, splitCoinbase, targetToBits, txId, verifyTransfer,
  type Coinbase, type Value,
} from "../../src/chain";
import { fromHex, leToDisplayHex } from "../../src/core";
import vectors from "../fixtures/pow-vectors.json";

describe("canonical msgpack", () => {
  test("round trip of every value kind, shortest encodings", () => {
    const v: Value = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, 2n ** 64n - 1n, new Uint8Array([1, 2]), "hé", true, false, null, [[1]]];
    expect(decode(encode(v))).toEqual(v);
    expect(encode(127)).toEqual(new Uint8Array([0x7f]));
    expect(encode(128)).toEqual(new Uint8Array([0xcc, 0x80]));
  });
  test("non-canonical, truncated or trailing input is refused", () => {
    expect(() => decode(new Uint8Array([0xcc, 0x05]))).toThrow("shortest form"); // 5 fits in a fixint
    expect(() => decode(new Uint8Array([0xcd, 0x00, 0x05]))).toThrow("shortest form");
    expect(() => decode(new Uint8Array([0xc4, 0x05, 1]))).toThrow("truncated");
    expect(() => decode(new Uint8Array([0x01, 0x02]))).toThrow("trailing");
    expect(() => decode(new Uint8Array([0xca, 0, 0, 0, 0]))).toThrow("not allowed"); // float
    expect(() => decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(); // huge array, no bytes
    expect(() => encode(-1)).toThrow("not an unsigned");
  });
  test("deep nesting is refused, not a stack overflow", () => {
    const deep = new Uint8Array(10_000).fill(0x91);
    expect(() => decode(deep)).toThrow("nested too deeply");
  });
});

describe("compact bits", () => {
  test("targets of real headers", () => {
    expect(bitsToTarget(0x1d00ffff)).toBe(BigInt("0x" + vectors.real_headers[0]!.target));
    expect(bitsToTarget(0x1a44b9f2)).toBe(BigInt("0x" + vectors.real_headers[1]!.target));
    expect(targetToBits(bitsToTarget(0x1d00ffff))).toBe(0x1d00ffff);
    expect(targetToBits(bitsToTarget(0x1e0ffff0))).toBe(0x1e0ffff0);
    expect(() => bitsToTarget(0x1d80ffff)).toThrow("negative");
  });
});

describe("keys, addresses, transfers", () => {
  const kp = generateKeyPair();
  const other = generateKeyPair();
  test("an address round-trips; a typo, a truncation or another network is refused", () => {
    const a = encodeAddress(kp.publicKey, 0x3c);
    expect(decodeAddress(a, 0x3c)).toEqual(kp.publicKey);
    const typo = a.slice(0, 10) + (a[10] === "x" ? "y" : "x") + a.slice(11);
    expect(() => decodeAddress(typo, 0x3c)).toThrow("bad checksum");
    expect(() => decodeAddress(a.slice(0, -1), 0x3c)).toThrow();
    expect(() => decodeAddress(a, 0x3d)).toThrow("another network");
    expect(() => decodeAddress("0OIl", 0x3c)).toThrow("not base58");
  });
  test("a signed transfer verifies on its chain only, and any change breaks it", () => {
    const t = signTransfer({ from: kp.publicKey, to: other.publicKey, amount: 5000n, fee: 10n, nonce: 0n }, kp.seed, "net-a");
    expect(verifyTransfer(t, "net-a")).toBe(true);
    expect(verifyTransfer(t, "net-b")).toBe(false);
    expect(verifyTransfer({ ...t, amount: 5001n }, "net-a")).toBe(false);
    expect(decodeTx(encodeTx(t))).toEqual(t);
  });
  test("the coinbase splits around its 8-byte extranonce as Stratum expects", () => {
    const cb: Coinbase = { type: "coinbase", height: 7, outputs: [{ to: kp.publicKey, amount: 123n }], extranonce: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), memo: "pool" };
    const { coinb1, coinb2 } = splitCoinbase(cb);
    const joined = new Uint8Array([...coinb1, 1, 2, 3, 4, 5, 6, 7, 8, ...coinb2]);
    expect(Array.from(joined)).toEqual(Array.from(encodeTx(cb)));
    expect(decodeTx(joined)).toEqual(cb);
  });
});

describe("blocks and merkle trees", () => {
  test("merkle root as Bitcoin: block 125552's four transactions give its header's root", () => {
    // The header of block 125552 and its four txids (display hex), from Bitcoin mainnet.
    const header = fromHex(vectors.real_headers[1]!.header, 80);
    const ids = [
      "51d37bdd871c9e1f4d5541be67a6ab625e32028744d7d4609d0c37747b40cd2d",
      "60c25dda8d41f8d3d7d5c6249e2ea1b05a25bf7ae2ad6d904b512b31f997e1a1",
      "01f314cdd8566d3e5dbdd97de2d9fbfbfd6873e916a00d48758282cbb81a45b9",
      "b519286a1040da6ad83c783eb2872659eaf57b1bec088e614776ffe7dc8f6d01",
    ].map((h) => fromHex(h, 32).reverse());
    expect(leToDisplayHex(merkleRoot(ids))).toBe(leToDisplayHex(header.slice(36, 68)));
    expect(rootFromBranch(ids[0]!, coinbaseBranch(ids))).toEqual(merkleRoot(ids));
  });
  test("branches work for odd counts", () => {
    for (let n = 1; n <= 9; n++) {
      const ids = Array.from({ length: n }, (_, i) => sha256d(new Uint8Array([i])));
      expect(rootFromBranch(ids[0]!, coinbaseBranch(ids))).toEqual(merkleRoot(ids));
    }
  });
  test("block encoding round-trips and the id is sha256d of the header", () => {
    const kp = generateKeyPair();
    const cb: Coinbase = { type: "coinbase", height: 1, outputs: [{ to: kp.publicKey, amount: 1n }], extranonce: new Uint8Array(8), memo: "" };
    const b = { header: { version: 1, prevHash: new Uint8Array(32), merkleRoot: txId(cb), time: 5, bits: 0x207fffff, nonce: 9 }, txs: [cb] };
    expect(decodeBlock(encodeBlock(b))).toEqual(b);
    // The id is sha256d of the 80 header bytes, computed here with OpenSSL (node:crypto), not with the code under test.
    const bytes = encodeHeader(b.header);
    expect(bytes.length).toBe(80);
    const once = createHash("sha256").update(bytes).digest();
    expect(Buffer.from(blockHash(b.header)).toString("hex")).toBe(createHash("sha256").update(once).digest("hex"));
    expect(Buffer.from(blockHash({ ...b.header, nonce: 10 })).toString("hex")).not.toBe(Buffer.from(blockHash(b.header)).toString("hex"));
  });
});

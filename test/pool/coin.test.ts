// Real-coin block assembly (the upstream pool): every byte-order pitfall of Stratum V1 on a Bitcoin-family coin, from a
// getblocktemplate answer to the notify fields, the coinbase and the block submitted. The daemon itself judges the
// same bytes in test/upstream/litecoind.test.ts.
import { describe, expect, test } from "bun:test";
import { fromHex, toHex } from "../../src/core";
import { base58CheckEncode, rootFromBranch, sha256d } from "../../src/chain";
import { coin, makeJob, ShareChecker, type Work } from "../../src/pool";
import { kernel } from "../chain/helpers";

const { addressToScript, scriptToAddress, bip34HeightPush, buildCoinbase, templateBranch, serializeBlock, computeWitnessCommitment, parseTemplate, encodeSegwit } = coin;
const LTC_REG = coin.COIN_NETWORKS["litecoin-regtest"]!;
const d = (s: string) => toHex(sha256d(new TextEncoder().encode(s)).slice().reverse()); // an id in RPC (display) order

/** A getblocktemplate answer as litecoind gives it at height 102 (sample from the regtest notes), with `txs`. */
function gbt(txs: { data: string; txid: string; hash: string }[] = [], extra: Record<string, unknown> = {}) {
  return {
    capabilities: ["proposal"], version: 0x20000000, rules: ["csv", "!segwit", "taproot"], vbavailable: {}, vbrequired: 0,
    previousblockhash: "c957f6c2e3b1b8a5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a190d6f87f",
    transactions: txs, coinbaseaux: {}, coinbasevalue: 5000000000, longpollid: "x104",
    target: "7fffff0000000000000000000000000000000000000000000000000000000000", mintime: 1795309851, curtime: 1795309900,
    bits: "207fffff", height: 102,
    default_witness_commitment: "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
    ...extra,
  };
}

function work(t: coin.CoinTemplate, outputs: coin.CoinOutput[] = [{ script: addressToScript(encodeSegwit("rltc", 0, new Uint8Array(20).fill(1)), LTC_REG), amount: t.coinbaseValue }]): Work {
  const { coinb1, coinb2 } = buildCoinbase(t, outputs, "rignode pool");
  return { height: t.height, header: { version: t.version, prevHash: t.prevHash, merkleRoot: new Uint8Array(32), time: t.curtime, bits: t.bits, nonce: 0 }, minTime: t.mintime, coinb1, coinb2, branch: templateBranch(t), data: t };
}

describe("real-coin block assembly", () => {
  test("BIP34 height: exactly CScript() << height (OP_0..OP_16, minimal pushes, a sign byte at 128)", () => {
    const cases: [number, string][] = [
      [0, "00"], [1, "51"], [16, "60"], [17, "0111"], [127, "017f"], [128, "028000"], [255, "02ff00"], [256, "020001"],
      [499, "02f301"], [500, "02f401"], [501, "02f501"], [2035, "02f307"], [32767, "02ff7f"], [32768, "03008000"], [65535, "03ffff00"], [8388608, "0400008000"],
    ];
    for (const [h, hex] of cases) expect([h, toHex(bip34HeightPush(h))]).toEqual([h, hex]);
  });

  test("addresses: legacy and bech32/bech32m to scriptPubKeys and back; other networks and bad checksums refused", () => {
    // Bitcoin's genesis coinbase address and its key hash.
    const btc = coin.COIN_NETWORKS["bitcoin-main"]!;
    expect(toHex(addressToScript("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", btc))).toBe("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac");
    expect(scriptToAddress(fromHex("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"), btc)).toBe("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    const p20 = new Uint8Array(20).map((_, i) => i * 7);
    const p32 = new Uint8Array(32).map((_, i) => 255 - i);
    const v0 = encodeSegwit("rltc", 0, p20);
    const v0s = encodeSegwit("rltc", 0, p32);
    const v1 = encodeSegwit("rltc", 1, p32);
    const pkh = base58CheckEncode(0x6f, p20);
    const sh = base58CheckEncode(0x3a, p20);
    expect(toHex(addressToScript(v0, LTC_REG))).toBe("0014" + toHex(p20));
    expect(toHex(addressToScript(v0s, LTC_REG))).toBe("0020" + toHex(p32));
    expect(toHex(addressToScript(v1, LTC_REG))).toBe("5120" + toHex(p32));
    expect(toHex(addressToScript(pkh, LTC_REG))).toBe("76a914" + toHex(p20) + "88ac");
    expect(toHex(addressToScript(sh, LTC_REG))).toBe("a914" + toHex(p20) + "87");
    for (const a of [v0, v0s, v1, pkh, sh]) expect(scriptToAddress(addressToScript(a, LTC_REG), LTC_REG)).toBe(a);
    expect(toHex(addressToScript(v0.toUpperCase(), LTC_REG))).toBe("0014" + toHex(p20));
    // A v1 program with the v0 checksum (bech32 instead of bech32m) is refused, as are typos, mixed case, other networks.
    const wrongConst = "rltc1p" + v0.slice(6);
    const typo = v0.slice(0, -1) + (v0.endsWith("q") ? "p" : "q");
    const bad = [wrongConst, typo, v0.slice(0, 8) + v0.slice(8).toUpperCase(), encodeSegwit("ltc", 0, p20), encodeSegwit("tmweb", 0, p20), base58CheckEncode(0x30, p20), pkh.slice(0, -1) + "1", ""];
    for (const a of bad) expect(() => addressToScript(a, LTC_REG)).toThrow(/not a litecoin-regtest address/);
  });

  test("notify fields: prevhash as internal bytes with each 4-byte word swapped; version, nbits and ntime as big-endian hex", () => {
    const g = gbt();
    const t = parseTemplate(g);
    const job = makeJob("1", "scrypt", work(t), true);
    // The RPC hex is the internal order reversed, so the notify field is the RPC hex's 8-digit words in reverse order.
    const words = g.previousblockhash.match(/.{8}/g)!;
    expect(job.notify.prevHash).toBe(words.reverse().join(""));
    expect(job.notify.version).toBe("20000000");
    expect(job.notify.nbits).toBe("207fffff");
    expect(job.notify.ntime).toBe((1795309900).toString(16));
    expect(t.target).toBe(0x7fffffn << 232n);
  });

  test("merkle branch from txids, not wtxids: the miner's root equals the merkle root of [coinbase txid, txids...]", () => {
    const txs = [1, 2, 3].map((i) => ({ data: "00", txid: d(`tx${i}`), hash: d(`wtx${i}`) }));
    const t = parseTemplate(gbt(txs));
    const w = work(t);
    const cb = new Uint8Array([...w.coinb1, 1, 2, 3, 4, 5, 6, 7, 8, ...w.coinb2]);
    const cbid = sha256d(cb);
    const pair = (a: Uint8Array, b: Uint8Array) => sha256d(new Uint8Array([...a, ...b]));
    const ids = t.txs.map((x) => x.txid);
    const expected = pair(pair(cbid, ids[0]!), pair(ids[1]!, ids[2]!));
    expect(toHex(rootFromBranch(cbid, w.branch))).toBe(toHex(expected));
    const wids = t.txs.map((x) => x.wtxid);
    expect(toHex(rootFromBranch(cbid, w.branch))).not.toBe(toHex(pair(pair(cbid, wids[0]!), pair(wids[1]!, wids[2]!))));
    // The branch is in internal order (what miners hash), the reverse of the RPC's txid hex.
    expect(toHex(w.branch[0]!)).toBe(toHex(fromHex(txs[0]!.txid).reverse()));
  });

  test("segwit coinbase: txid form for miners, witness form (marker, flag, 32-byte reserved value) in the block; none without a commitment", () => {
    const t = parseTemplate(gbt());
    expect(toHex(computeWitnessCommitment(t))).toBe(toHex(t.witnessCommitment!)); // the constant of a coinbase-only block
    const w = work(t);
    const cb = new Uint8Array([...w.coinb1, 0, 0, 0, 1, 0, 0, 0, 2, ...w.coinb2]);
    // scriptSig: length byte after version, input count, null prevout; then the BIP34 push, then the 8-byte push.
    const scriptLen = cb[4 + 1 + 36]!;
    expect(scriptLen).toBeLessThanOrEqual(100);
    expect(toHex(cb.subarray(42, 44))).toBe("0166"); // height 102 = 01 66, then the extranonce push
    expect(cb[44]).toBe(8);
    // Outputs: the payout, then the commitment with value 0, last.
    expect(toHex(cb.subarray(cb.length - 4 - 38 - 9, cb.length - 4))).toBe("0000000000000000" + "26" + toHex(t.witnessCommitment!));
    const header = new Uint8Array(80);
    const block = serializeBlock(t, header, cb);
    expect(block[80]).toBe(1); // one transaction
    expect(toHex(block.subarray(81, 87))).toBe(toHex(cb.subarray(0, 4)) + "0001");
    expect(toHex(block.subarray(block.length - 4 - 34, block.length - 4))).toBe("0120" + "00".repeat(32));
    expect(block.length).toBe(81 + cb.length + 2 + 34);
    // Without a commitment (a daemon without segwit): the coinbase as miners hashed it, no witness.
    const legacy = parseTemplate(gbt([], { default_witness_commitment: undefined }));
    const lw = work(legacy);
    const lcb = new Uint8Array([...lw.coinb1, 0, 0, 0, 1, 0, 0, 0, 2, ...lw.coinb2]);
    expect(toHex(serializeBlock(legacy, header, lcb))).toBe(toHex(header) + "01" + toHex(lcb));
  });

  test("MWEB: template transactions pass through in order (HogEx last) and the extension block follows its 0x01 byte", () => {
    const hogex = "020000000008" + "00".repeat(8);
    const t = parseTemplate(gbt([{ data: "aa", txid: d("peg"), hash: d("peg") }, { data: hogex, txid: d("hog"), hash: d("hog") }], { mweb: "beef" }));
    const w = work(t);
    const cb = new Uint8Array([...w.coinb1, ...new Uint8Array(8), ...w.coinb2]);
    const hex = toHex(serializeBlock(t, new Uint8Array(80), cb));
    expect(hex.slice(160, 162)).toBe("03");
    expect(hex.endsWith("aa" + hogex + "01" + "beef")).toBe(true);
  });

  test("ntime bounds: from the template's mintime to two hours past the pool's clock", () => {
    const t = parseTemplate(gbt());
    const job = makeJob("1", "scrypt", work(t), true);
    const now = 1795309900;
    const checker = new ShareChecker("scrypt", (h) => kernel.hash("scrypt", h), () => now);
    checker.addJob(job, true);
    const submit = (ntime: number) => checker.prepare({ worker: "w", jobId: "1", extranonce2: "00000001", ntime: ntime.toString(16).padStart(8, "0"), nonce: "00000000" }, fromHex("01020304"), 0);
    expect(() => submit(t.mintime - 1)).toThrow(/ntime out of range/);
    expect(submit(t.mintime).header.time).toBe(t.mintime);
    expect(submit(now + 7200).header.time).toBe(now + 7200);
    expect(() => submit(now + 7201)).toThrow(/ntime out of range/);
  });

  test("a template with a bad field is refused with the field named", () => {
    expect(() => parseTemplate({ ...gbt(), bits: "xyz" })).toThrow(/'bits'/);
    expect(() => parseTemplate({ ...gbt(), previousblockhash: "00" })).toThrow(/previousblockhash/);
    expect(() => parseTemplate({ ...gbt(), coinbasevalue: -1 })).toThrow(/coinbasevalue/);
    expect(() => parseTemplate(null)).toThrow(/result/);
  });
});

// The address codecs against the published vectors, not only round trips through themselves: Bitcoin Core's
// base58_encode_decode.json (test/fixtures), and BIP350's valid and invalid v0-v16 segwit addresses.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { base58, base58CheckDecode, base58CheckEncode, unbase58 } from "../../src/chain";
import { decodeSegwit, encodeSegwit } from "../../src/pool/coin";
import { fromHex, toHex } from "../../src/core";
import vectors from "../fixtures/base58_encode_decode.json";

describe("Base58 (Bitcoin Core's vectors)", () => {
  for (const [hex, text] of vectors as [string, string][]) {
    test(`${hex.slice(0, 24) || "(empty)"}… ⇄ ${text.slice(0, 24) || "(empty)"}`, () => {
      expect(base58(fromHex(hex.toLowerCase()))).toBe(text);
      expect(toHex(unbase58(text)!)).toBe(hex.toLowerCase());
    });
  }
  test("a character outside the alphabet (0, O, I, l) is refused", () => {
    for (const bad of ["0", "O", "I", "l", "3SEo3LWLoPn0C"]) expect(unbase58(bad)).toBeNull();
  });
  test("Base58Check: the P2PKH address of the compressed generator point (key 1), hash160 computed with OpenSSL", () => {
    const g = fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    const h160 = createHash("ripemd160").update(createHash("sha256").update(g).digest()).digest();
    expect(h160.toString("hex")).toBe("751e76e8199196d454941c45d1b3a323f1433bd6");
    expect(base58CheckEncode(0, h160)).toBe("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
    expect(toHex(base58CheckDecode("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH")!.payload)).toBe(h160.toString("hex"));
    expect(base58CheckDecode("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh")).toBeNull(); // one letter's case: bad checksum
  });
});

/** The scriptPubKey of a witness program: OP_n (0 or 0x50+n), then the program pushed. */
const witnessScript = (version: number, program: Uint8Array) => toHex(Uint8Array.of(version ? 0x50 + version : 0, program.length, ...program));

describe("segwit addresses (BIP350 vectors: bech32 for v0, bech32m for v1-v16)", () => {
  const valid: [string, string][] = [
    ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
    ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"],
    ["bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"],
    ["BC1SW50QGDZ25J", "6002751e"],
    ["bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"],
    ["tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"],
    ["tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"],
    ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"],
  ];
  for (const [addr, script] of valid) {
    test(`valid: ${addr.slice(0, 20)}…`, () => {
      const hrp = addr.toLowerCase().slice(0, 2);
      const d = decodeSegwit(hrp, addr);
      expect(d).not.toBeNull();
      expect(witnessScript(d!.version, d!.program)).toBe(script);
      expect(encodeSegwit(hrp, d!.version, d!.program)).toBe(addr.toLowerCase());
    });
  }
  const invalid: [string, string][] = [
    ["tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "invalid human-readable part"],
    ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bech32 instead of bech32m"],
    ["tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "bech32 instead of bech32m"],
    ["BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "bech32 instead of bech32m"],
    ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "bech32m instead of bech32"],
    ["tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "bech32m instead of bech32"],
    ["bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "invalid character in checksum"],
    ["BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "invalid witness version"],
    ["bc1pw5dgrnzv", "program of 1 byte"],
    ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "program of 41 bytes"],
    ["BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "v0 program length other than 20 or 32"],
    ["tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixed case"],
    ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "zero padding of more than 4 bits"],
    ["tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "non-zero padding in 8-to-5 conversion"],
    ["bc1gmk9yu", "empty data section"],
  ];
  for (const [addr, why] of invalid) {
    test(`invalid (${why}): ${addr.slice(0, 20)}…`, () => {
      for (const hrp of ["bc", "tb"]) expect(decodeSegwit(hrp, addr)).toBeNull();
    });
  }
});

// The byte formats of a real Bitcoin-family coin (Bitcoin, Litecoin): scripts, addresses, the coinbase a pool builds
// from a getblocktemplate answer, and the block it submits. Hashes are kept in internal (wire) order throughout; the
// RPC's display order (byte-reversed hex) is converted once, at parseTemplate.
import { RignodeError, fromHex, toHex, concatBytes } from "../core";
import { base58CheckDecode, base58CheckEncode, coinbaseBranch, sha256d } from "../chain";

// ---- serialisation primitives ----

export function varint(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >>> 8);
  return Uint8Array.of(0xfe, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function i64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, n, true);
  return b;
}

/** A script data push of b (direct, PUSHDATA1 or PUSHDATA2). */
export function pushData(b: Uint8Array): Uint8Array {
  if (b.length < 0x4c) return concatBytes(Uint8Array.of(b.length), b);
  if (b.length <= 0xff) return concatBytes(Uint8Array.of(0x4c, b.length), b);
  return concatBytes(Uint8Array.of(0x4d, b.length & 0xff, b.length >>> 8), b);
}

/** CScriptNum: minimal little-endian, the sign in the top bit of the last byte. */
export function scriptNum(n: number): Uint8Array {
  if (n === 0) return new Uint8Array(0);
  const neg = n < 0;
  let v = Math.abs(n);
  const out: number[] = [];
  while (v > 0) {
    out.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (out[out.length - 1]! & 0x80) out.push(neg ? 0x80 : 0);
  else if (neg) out[out.length - 1]! |= 0x80;
  return Uint8Array.from(out);
}

/** BIP34: the height exactly as `CScript() << height` writes it (OP_0, OP_1..OP_16, or a minimal number push). */
export function bip34HeightPush(height: number): Uint8Array {
  if (!Number.isInteger(height) || height < 0) throw new RignodeError("input", `bad block height ${height}`);
  if (height === 0) return Uint8Array.of(0x00);
  if (height <= 16) return Uint8Array.of(0x50 + height);
  return pushData(scriptNum(height));
}

// ---- addresses ----

/** A coin network's address prefixes. */
export interface CoinNetwork {
  name: string;
  /** bech32 human-readable part of segwit addresses. */
  hrp: string;
  /** Base58Check version bytes: pay-to-pubkey-hash, and pay-to-script-hash (the first is the one shown). */
  p2pkh: number;
  p2sh: number[];
}

export const COIN_NETWORKS: Record<string, CoinNetwork> = {
  "litecoin-main": { name: "litecoin-main", hrp: "ltc", p2pkh: 0x30, p2sh: [0x32, 0x05] },
  "litecoin-test": { name: "litecoin-test", hrp: "tltc", p2pkh: 0x6f, p2sh: [0x3a, 0xc4] },
  "litecoin-regtest": { name: "litecoin-regtest", hrp: "rltc", p2pkh: 0x6f, p2sh: [0x3a, 0xc4] },
  "bitcoin-main": { name: "bitcoin-main", hrp: "bc", p2pkh: 0x00, p2sh: [0x05] },
  "bitcoin-test": { name: "bitcoin-test", hrp: "tb", p2pkh: 0x6f, p2sh: [0xc4] },
  "bitcoin-testnet4": { name: "bitcoin-testnet4", hrp: "tb", p2pkh: 0x6f, p2sh: [0xc4] },
  "bitcoin-signet": { name: "bitcoin-signet", hrp: "tb", p2pkh: 0x6f, p2sh: [0xc4] },
  "bitcoin-regtest": { name: "bitcoin-regtest", hrp: "bcrt", p2pkh: 0x6f, p2sh: [0xc4] },
};

const BECH32_CHARS = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

function polymod(values: number[]): number {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >>> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v >>> from) return null;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
  }
  if (pad) {
    if (bits) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || (acc << (to - bits)) & maxv) return null;
  return out;
}

/** A segwit address (BIP173 bech32 for v0, BIP350 bech32m for v1+). */
export function encodeSegwit(hrp: string, version: number, program: Uint8Array): string {
  const data = [version, ...convertBits(program, 8, 5, true)!];
  const c = version === 0 ? BECH32_CONST : BECH32M_CONST;
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ c;
  const check = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...check].map((d) => BECH32_CHARS[d]).join("");
}

/** Decodes a segwit address of this hrp; null when it is not one (any checksum, case or length error). */
export function decodeSegwit(hrp: string, addr: string): { version: number; program: Uint8Array } | null {
  if (addr.length > 90 || (addr !== addr.toLowerCase() && addr !== addr.toUpperCase())) return null;
  const a = addr.toLowerCase();
  const sep = a.lastIndexOf("1");
  if (sep < 1 || a.slice(0, sep) !== hrp || a.length - sep - 1 < 6) return null;
  const data: number[] = [];
  for (const ch of a.slice(sep + 1)) {
    const v = BECH32_CHARS.indexOf(ch);
    if (v < 0) return null;
    data.push(v);
  }
  const mod = polymod([...hrpExpand(hrp), ...data]);
  const version = data[0]!;
  if (mod !== (version === 0 ? BECH32_CONST : BECH32M_CONST)) return null;
  const prog = convertBits(data.slice(1, -6), 5, 8, false);
  if (!prog || prog.length < 2 || prog.length > 40 || version > 16) return null;
  if (version === 0 && prog.length !== 20 && prog.length !== 32) return null;
  return { version, program: Uint8Array.from(prog) };
}

/** The scriptPubKey an address pays to on this network; throws a clear error for anything else. */
export function addressToScript(addr: string, net: CoinNetwork): Uint8Array {
  const sw = decodeSegwit(net.hrp, addr);
  if (sw) return concatBytes(Uint8Array.of(sw.version === 0 ? 0 : 0x50 + sw.version, sw.program.length), sw.program);
  const b = base58CheckDecode(addr);
  if (b && b.payload.length === 20) {
    if (b.version === net.p2pkh) return concatBytes(Uint8Array.of(0x76, 0xa9, 0x14), b.payload, Uint8Array.of(0x88, 0xac));
    if (net.p2sh.includes(b.version)) return concatBytes(Uint8Array.of(0xa9, 0x14), b.payload, Uint8Array.of(0x87));
  }
  throw new RignodeError("input", `'${addr.slice(0, 100)}' is not a ${net.name} address (bech32 ${net.hrp}1…, or Base58 P2PKH/P2SH)`);
}

/** The address a scriptPubKey pays, in this network's form (the script's hex when it has none). */
export function scriptToAddress(script: Uint8Array, net: CoinNetwork): string {
  const s = script;
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) return base58CheckEncode(net.p2pkh, s.subarray(3, 23));
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return base58CheckEncode(net.p2sh[0]!, s.subarray(2, 22));
  const v = s[0]!;
  if (s.length >= 4 && (v === 0 || (v >= 0x51 && v <= 0x60)) && s[1] === s.length - 2) return encodeSegwit(net.hrp, v === 0 ? 0 : v - 0x50, s.subarray(2));
  return toHex(s);
}

// ---- templates, coinbase, block ----

/** A getblocktemplate answer, checked and converted to internal byte order. */
export interface CoinTemplate {
  version: number;
  prevHash: Uint8Array;
  bits: number;
  target: bigint;
  curtime: number;
  mintime: number;
  height: number;
  coinbaseValue: bigint;
  txs: { data: Uint8Array; txid: Uint8Array; wtxid: Uint8Array }[];
  /** The witness commitment output's script (6a24aa21a9ed…), when the template has one. */
  witnessCommitment: Uint8Array | null;
  /** The serialised MWEB extension block (Litecoin), when the template carries one. */
  mweb: Uint8Array | null;
  longpollId: string | null;
  /** The template's previousblockhash as the RPC shows it. */
  prevHashHex: string;
}

/** Display-order hex (as RPC shows hashes) to internal bytes. */
export function rpcHashToBytes(hex: string, what: string): Uint8Array {
  return fromHex(hex, 32, what).reverse();
}

/** Checks a getblocktemplate result; throws a clear error naming the bad field. */
export function parseTemplate(g: unknown): CoinTemplate {
  const t = g as Record<string, unknown>;
  const bad = (f: string) => new RignodeError("input", `getblocktemplate answer: bad or missing '${f}'`);
  if (!t || typeof t !== "object") throw bad("result");
  const int = (f: string) => {
    const v = t[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(f);
    return v;
  };
  const str = (f: string) => {
    const v = t[f];
    if (typeof v !== "string") throw bad(f);
    return v;
  };
  const bitsHex = str("bits");
  if (!/^[0-9a-f]{8}$/i.test(bitsHex)) throw bad("bits");
  if (!Array.isArray(t.transactions)) throw bad("transactions");
  const txs = (t.transactions as Record<string, unknown>[]).map((x, i) => {
    if (typeof x?.data !== "string" || typeof x.txid !== "string") throw bad(`transactions[${i}]`);
    return { data: fromHex(x.data, undefined, "tx data"), txid: rpcHashToBytes(x.txid, "txid"), wtxid: rpcHashToBytes(typeof x.hash === "string" ? x.hash : x.txid, "wtxid") };
  });
  const wc = t.default_witness_commitment;
  const cbv = t.coinbasevalue;
  if (typeof cbv !== "number" || !Number.isSafeInteger(cbv) || cbv < 0) throw bad("coinbasevalue");
  const target = str("target");
  if (!/^[0-9a-f]{64}$/i.test(target)) throw bad("target");
  const version = t.version;
  if (typeof version !== "number" || !Number.isInteger(version)) throw bad("version");
  return {
    version: version >>> 0,
    prevHash: rpcHashToBytes(str("previousblockhash"), "previousblockhash"),
    prevHashHex: str("previousblockhash"),
    bits: parseInt(bitsHex, 16) >>> 0,
    target: BigInt("0x" + target),
    curtime: int("curtime"),
    mintime: int("mintime"),
    height: int("height"),
    coinbaseValue: BigInt(cbv),
    txs,
    witnessCommitment: typeof wc === "string" ? fromHex(wc, undefined, "default_witness_commitment") : null,
    mweb: typeof t.mweb === "string" ? fromHex(t.mweb, undefined, "mweb") : null,
    longpollId: typeof t.longpollid === "string" ? t.longpollid : null,
  };
}

/** A template back in getblocktemplate's form (parseTemplate reads it again, with all its checks): for other pool members. */
export function templateToGbt(t: CoinTemplate): Record<string, unknown> {
  const display = (b: Uint8Array) => toHex(b.slice().reverse());
  return {
    version: t.version,
    previousblockhash: t.prevHashHex,
    bits: t.bits.toString(16).padStart(8, "0"),
    target: t.target.toString(16).padStart(64, "0"),
    curtime: t.curtime,
    mintime: t.mintime,
    height: t.height,
    coinbasevalue: Number(t.coinbaseValue),
    transactions: t.txs.map((x) => ({ data: toHex(x.data), txid: display(x.txid), hash: display(x.wtxid) })),
    ...(t.witnessCommitment ? { default_witness_commitment: toHex(t.witnessCommitment) } : {}),
    ...(t.mweb ? { mweb: toHex(t.mweb) } : {}),
    ...(t.longpollId !== null ? { longpollid: t.longpollId } : {}),
  };
}

/** Extranonce bytes inside the coinbase scriptSig: 4 of extranonce1 (per connection) + 4 of extranonce2. */
export const COIN_EXTRANONCE = 8;
const MAX_SCRIPTSIG = 100;

export interface CoinOutput {
  script: Uint8Array;
  amount: bigint;
}

/**
 * The coinbase around the extranonce (txid form, no witness): version 1, one null-prevout input whose scriptSig is
 * the BIP34 height, an 8-byte push holding extranonce1 ‖ extranonce2, and the tag; the payout outputs and, when the
 * template has one, the witness commitment output last.
 */
export function buildCoinbase(t: CoinTemplate, outputs: CoinOutput[], tag: string): { coinb1: Uint8Array; coinb2: Uint8Array } {
  const height = bip34HeightPush(t.height);
  const room = MAX_SCRIPTSIG - height.length - 1 - COIN_EXTRANONCE - 1;
  const tagBytes = new TextEncoder().encode(tag).slice(0, Math.min(room, 0x4b));
  const scriptLen = height.length + 1 + COIN_EXTRANONCE + (tagBytes.length ? 1 + tagBytes.length : 0);
  const outs: Uint8Array[] = outputs.map((o) => {
    if (o.amount < 0n) throw new RignodeError("internal", "negative coinbase output");
    return concatBytes(i64le(o.amount), varint(o.script.length), o.script);
  });
  if (t.witnessCommitment) outs.push(concatBytes(i64le(0n), varint(t.witnessCommitment.length), t.witnessCommitment));
  const coinb1 = concatBytes(
    u32le(1),
    varint(1),
    new Uint8Array(32),
    u32le(0xffffffff),
    varint(scriptLen),
    height,
    Uint8Array.of(COIN_EXTRANONCE),
  );
  const coinb2 = concatBytes(tagBytes.length ? pushData(tagBytes) : new Uint8Array(0), u32le(0xffffffff), varint(outs.length), ...outs, u32le(0));
  return { coinb1, coinb2 };
}

/** Longest scriptPubKey addressToScript makes: a segwit program of 40 bytes behind its version and push. */
const MAX_OUTPUT_SCRIPT = 42;
/** BIP141's witness commitment script: OP_RETURN, a 36-byte push (4-byte header + 32-byte hash). */
const WITNESS_COMMITMENT_SCRIPT = 38;

/**
 * The most bytes buildCoinbase can make for `maxOutputs` payout outputs: a full 100-byte scriptSig, every output
 * paying the longest script, and the witness commitment output. Sizes what a pool's notify can be on this coin.
 */
export function coinbaseBytesBound(maxOutputs: number): number {
  const input = 32 + 4 + varint(MAX_SCRIPTSIG).length + MAX_SCRIPTSIG + 4;
  const outputs = maxOutputs * (8 + varint(MAX_OUTPUT_SCRIPT).length + MAX_OUTPUT_SCRIPT) + 8 + 1 + WITNESS_COMMITMENT_SCRIPT;
  return 4 + 1 + input + varint(maxOutputs + 1).length + outputs + 4;
}

/** The merkle branch of the coinbase (position 0) from the template's txids (not wtxids). */
export function templateBranch(t: CoinTemplate): Uint8Array[] {
  return coinbaseBranch([new Uint8Array(32), ...t.txs.map((x) => x.txid)]);
}

/** The coinbase in witness form (BIP144): marker, flag, and one 32-byte zero item (the witness reserved value). */
export function withCoinbaseWitness(cb: Uint8Array): Uint8Array {
  return concatBytes(cb.subarray(0, 4), Uint8Array.of(0x00, 0x01), cb.subarray(4, cb.length - 4), Uint8Array.of(0x01, 0x20), new Uint8Array(32), cb.subarray(cb.length - 4));
}

/** The whole block: header, the transaction count, the coinbase (with its witness when committed), the template's
 * transactions in order (a Litecoin HogEx last), and the MWEB extension block behind its 0x01 presence byte. */
export function serializeBlock(t: CoinTemplate, header80: Uint8Array, coinbase: Uint8Array): Uint8Array {
  if (header80.length !== 80) throw new RignodeError("internal", "a header is 80 bytes");
  return concatBytes(
    header80,
    varint(1 + t.txs.length),
    t.witnessCommitment ? withCoinbaseWitness(coinbase) : coinbase,
    ...t.txs.map((x) => x.data),
    ...(t.mweb ? [Uint8Array.of(0x01), t.mweb] : []),
  );
}

/** BIP141's commitment script computed from the template's wtxids (coinbase as zero, reserved value zero). */
export function computeWitnessCommitment(t: CoinTemplate): Uint8Array {
  const ids = [new Uint8Array(32), ...t.txs.map((x) => x.wtxid)];
  let level = ids;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(concatBytes(level[i]!, level[i + 1] ?? level[i]!)));
    level = next;
  }
  return concatBytes(Uint8Array.of(0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed), sha256d(concatBytes(level[0]!, new Uint8Array(32))));
}

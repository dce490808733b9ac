import { RignodeError, toHex, fromHex, type Algo } from "../core";
import type { NotifyFields } from "../stratum";
import { coinbaseRoot, encodeHeader, type Header } from "../chain";
import type { Work } from "./source";

/** The notify fields of a job and whether it voids the jobs before it. */
export interface NotifyParams extends NotifyFields {
  cleanJobs: boolean;
}

/** A job as the pool keeps it: the work and what it sent. */
export interface PoolJob {
  id: string;
  algo: Algo;
  work: Work;
  coinb1: Uint8Array;
  coinb2: Uint8Array;
  branch: Uint8Array[];
  /** Lowest ntime a share may carry (median time past + 1, or the template's mintime). */
  minTime: number;
  notify: NotifyParams;
}

const u32be = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** Every 4-byte word of 32 bytes byte-swapped: internal order <-> Stratum's prevhash order (its own inverse). */
export function swapWords(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) for (let j = 0; j < 4; j++) out[i + j] = b[i + 3 - j]!;
  return out;
}

/** The job for work whose coinbase leaves room for en1 (4 bytes) + en2 (4 bytes): notify fields in Stratum's byte orders. */
export function makeJob(id: string, algo: Algo, work: Work, cleanJobs: boolean): PoolJob {
  const { coinb1, coinb2, branch, minTime } = work;
  const h = work.header;
  return {
    id, algo, work, coinb1, coinb2, branch, minTime,
    notify: {
      jobId: id,
      prevHash: toHex(swapWords(h.prevHash)),
      coinb1: toHex(coinb1),
      coinb2: toHex(coinb2),
      merkleBranch: branch.map(toHex),
      version: u32be(h.version),
      nbits: u32be(h.bits),
      ntime: u32be(h.time),
      cleanJobs,
    },
  };
}

/** A share's submitted fields, as hex strings from the wire. */
export interface Submission {
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string;
}

/**
 * The 80-byte header a share describes: coinbase = coinb1 ‖ en1 ‖ en2 ‖ coinb2, its id up the branch to the root,
 * version rolled within the mask, ntime and nonce from their big-endian hex.
 */
export function shareHeader(job: PoolJob, en1: Uint8Array, s: Submission, versionMask: number): { header: Header; bytes: Uint8Array; coinbase: Uint8Array } {
  const extranonce = new Uint8Array(8);
  extranonce.set(en1);
  extranonce.set(fromHex(s.extranonce2, 4, "extranonce2"), 4);
  const { coinbase, merkleRoot: root } = coinbaseRoot(job.coinb1, extranonce, job.coinb2, job.branch);
  const t = job.work.header;
  let version = t.version;
  if (s.versionBits !== undefined) {
    const bits = parseU32(s.versionBits, "version bits");
    if ((bits & ~versionMask) >>> 0 !== 0) throw new RignodeError("input", "version bits outside the negotiated mask");
    version = ((t.version & ~versionMask) | (bits & versionMask)) >>> 0;
  }
  const header: Header = { version, prevHash: t.prevHash, merkleRoot: root, time: parseU32(s.ntime, "ntime"), bits: t.bits, nonce: parseU32(s.nonce, "nonce") };
  return { header, bytes: encodeHeader(header), coinbase };
}

/** A u32 from exactly 8 hex digits, big-endian (Stratum's form for ntime, nonce, version). */
export function parseU32(hex: string, what: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new RignodeError("input", `${what} must be 8 hex digits, got '${hex.slice(0, 16)}'`);
  return parseInt(hex, 16) >>> 0;
}

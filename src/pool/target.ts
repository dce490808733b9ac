import { RignodeError, type Algo } from "../core";

/** Stratum difficulty 1: 0xFFFF·2^208 for sha256d (bdiff), 65536 times that for scrypt (as Litecoin pools use). */
export const DIFF1: Record<Algo, bigint> = {
  sha256d: 0xffffn << 208n,
  scrypt: 0xffffn << 224n,
};

const MAX = (1n << 256n) - 1n;

/** The share target of a difficulty, floor(DIFF1 / D), exact for any finite D > 0 (fractional ones too). */
export function difficultyToTarget(d: number, algo: Algo): bigint {
  if (!Number.isFinite(d) || d <= 0) throw new RignodeError("input", `difficulty must be a positive number, got ${d}`);
  // A double is n / 2^k exactly: scale until it is an integer, then divide in integers.
  let k = 0;
  let x = d;
  while (!Number.isInteger(x) && k < 1100) {
    x *= 2;
    k++;
  }
  const t = (DIFF1[algo] << BigInt(k)) / BigInt(x);
  return t > MAX ? MAX : t;
}

/** The difficulty a hash (as a number) represents: DIFF1 / hash, as a float for display and stats. */
export function hashDifficulty(hash: bigint, algo: Algo): number {
  if (hash === 0n) return Infinity;
  const scale = 1_000_000n;
  return Number((DIFF1[algo] * scale) / hash) / Number(scale);
}

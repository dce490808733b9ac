import { bitsToTarget, targetToBits } from "./header";

/** Time and target of one block, oldest first, as the difficulty algorithm reads them. */
export interface DifficultyPoint {
  time: number;
  target: bigint;
}

/**
 * LWMA (linearly weighted moving average, Zawy's LWMA-1): the next target from the last `window` solve times,
 * recent blocks weighing most. Each solve time is clamped to [1, 6T] so a skewed timestamp cannot swing it.
 * `points` are the last window+1 blocks (fewer at the start of a chain: then the limit applies).
 */
export function nextTarget(points: DifficultyPoint[], blockTime: number, window: number, powLimit: bigint): bigint {
  const n = Math.min(window, points.length - 1);
  if (n < 1) return powLimit;
  const recent = points.slice(points.length - n - 1);
  let weighted = 0n;
  let sumTarget = 0n;
  for (let i = 1; i <= n; i++) {
    const solve = Math.max(1, Math.min(6 * blockTime, recent[i]!.time - recent[i - 1]!.time));
    weighted += BigInt(i * solve);
    sumTarget += recent[i]!.target;
  }
  const k = BigInt((n * (n + 1)) / 2) * BigInt(blockTime);
  let next = (sumTarget / BigInt(n)) * weighted / k;
  if (next > powLimit) next = powLimit;
  if (next < 1n) next = 1n;
  return next;
}

/** The same, in compact bits (what a header carries). */
export function nextBits(points: DifficultyPoint[], blockTime: number, window: number, powLimitBits: number): number {
  return targetToBits(nextTarget(points, blockTime, window, bitsToTarget(powLimitBits)));
}

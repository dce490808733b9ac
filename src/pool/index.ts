export { planPayout, FOUNDATION_PERCENT, MAX_POOL_FEE_BPS, type PayoutInput, type PayoutPlan } from "./payout";
export { DIFF1, difficultyToTarget, hashDifficulty } from "./target";
export { makeJob, shareHeader, swapWords, parseU32, type PoolJob, type NotifyParams, type Submission } from "./job";
export { ShareChecker, type ShareOutcome } from "./shares";
export { Ledger, shareWeight, type ShareRecord } from "./ledger";
export { Vardiff, DEFAULT_VARDIFF, roundDifficulty, type VardiffOptions } from "./vardiff";

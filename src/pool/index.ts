export { planPayout, FOUNDATION_PERCENT, MAX_POOL_FEE_BPS, type PayoutInput, type PayoutPlan } from "./payout";

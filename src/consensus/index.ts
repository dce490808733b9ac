export {
  SYNC, u64, epochSalt, slotSeed, winners, jitterMs, slotOpensAt, Eligibility, compareBranches, compareBytes, checkClaim, producerPool, producerRules,
  type SyncState, type Observation, type SyncBlockInfo, type Claim,
} from "./sync";

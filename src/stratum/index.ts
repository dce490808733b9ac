export { StratumSession, StratumError, STRATUM_ERROR, type SessionHandler, type SubmitParams, type Outgoing } from "./session";
export { LineDecoder, encodeLine } from "./jsonline";
export { frame, FrameDecoder, FrameWriter, type FrameCodec, type WritableSocket } from "./framing";
export { encodeStratum, stratumDecoder, LOOSE_CODEC, type StratumCodec } from "./codec";
export { StratumClient, parsePoolUrl, parseBan, stratumErrorText, type PoolEndpoint, type PoolWork, type NotifyFields, type SubmitResult, type ClientOptions } from "./client";
export { MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES, MAX_BRANCH_LENGTH, notifyBytesBound } from "./limits";

export { StratumSession, StratumError, STRATUM_ERROR, type SessionHandler, type SubmitParams, type Outgoing } from "./session";
export { LineDecoder, encodeLine } from "./jsonline";

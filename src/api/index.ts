export { createApp, type ApiDeps } from "./app";
export { ensureApiToken, writeAuth, tokenRequired, TOKEN_FILE } from "./auth";
export { serveApi } from "./serve";
export { chainRoutes, txJson, type ChainRouteDeps } from "./chain";
export { minerRoutes, type MinerView, type MinerControl } from "./miner";
export { peerRoutes } from "./peers";
export type { SystemDeps } from "./system";
export { poolRoutes, type PoolRouteDeps, type PoolMode } from "./pool";

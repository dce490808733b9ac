export { createApp, type ApiDeps } from "./app";
export { ensureApiToken, writeAuth, tokenRequired, TOKEN_FILE } from "./auth";
export { serveApi } from "./serve";
export type { SystemDeps } from "./system";

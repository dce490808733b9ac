export { configSchema, DEFAULTS, listenAddress, type Config } from "./schema";
export { OPTIONS, TUNING_FLAGS, TELEMETRY_FLAGS, type OptionSpec } from "./options";
export { loadConfig, loadConfigWithOrigin, type ConfigInput, type LoadedConfig } from "./load";
export { parseListen, isLoopbackHost, type Listen } from "./listen";

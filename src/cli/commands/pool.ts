import { startRole } from "../../node";
import { TELEMETRY_FLAGS, TUNING_FLAGS } from "../../config";
import type { Command } from "../command";
import { untilSignal } from "./serve";

export const poolCommand: Command = {
  name: "pool",
  summary: "run a chain node with a mining pool: Stratum (native and V1 JSON), shares, coinbase payouts",
  usage: "rignode pool [--stratum HOST:PORT] [--stratum-json HOST:PORT] [--stratum-tls HOST:PORT --tls-cert FILE --tls-key FILE] [--pool-fee PERCENT] [--pool-address ADDR] [--payout-scheme pplns|prop] [--ledger sqlite|postgres://USER@HOST:PORT/DB] [--bus redis://HOST:PORT[/DB] --pool-instance N] [--mine] [--upstream http://USER:PASS@HOST:PORT] [node options]",
  options: [
    "network", "data-dir", "p2p", "peer", "discover", "api", "api-auth", "kernel", "mine", "address", "threads", "batch", "pin", ...TUNING_FLAGS, ...TELEMETRY_FLAGS,
    "stratum", "stratum-json", "stratum-tls", "tls-cert", "tls-key", "pool-fee", "pool-address", "payout-scheme", "pplns-window", "share-interval", "start-difficulty", "min-difficulty",
    "max-conns-per-ip", "max-workers-per-conn", "max-workers-per-ip", "shares-per-second", "ban-seconds", "pool-instance", "stratum-threads", "ledger", "bus", "upstream", "upstream-algo", "foundation-address",
  ],
  flags: {},
  positionals: [],
  async run({ config, origin, log }) {
    const role = await startRole("pool", config, log, { apiExplicit: origin.has("api.listen") });
    return untilSignal(log, () => role.stop());
  },
};

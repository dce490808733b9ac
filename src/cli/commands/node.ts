import { startRole } from "../../node";
import { TELEMETRY_FLAGS, TUNING_FLAGS } from "../../config";
import type { Command } from "../command";
import { untilSignal } from "./serve";

export const nodeCommand: Command = {
  name: "node",
  summary: "run a chain node with its HTTP API; --mine mines blocks on it",
  usage: "rignode node [--mine] [--threads N] [--address ADDR] [--network NAME|FILE] [--data-dir DIR] [--p2p HOST:PORT|off] [--peer HOST:PORT]... [--api HOST:PORT]",
  options: ["network", "data-dir", "p2p", "peer", "discover", "api", "api-auth", "kernel", "mine", "address", "threads", "batch", "pin", ...TUNING_FLAGS, ...TELEMETRY_FLAGS],
  flags: {},
  positionals: [],
  async run({ config, origin, log }) {
    const role = await startRole("node", config, log, { apiExplicit: origin.has("api.listen") });
    return untilSignal(log, () => role.stop());
  },
};

import { startWorkerRole } from "../../node";
import { TELEMETRY_FLAGS, TUNING_FLAGS } from "../../config";
import type { Command } from "../command";
import { untilSignal } from "./serve";

export const workerCommand: Command = {
  name: "worker",
  summary: "mine for a pool: --pool HOST:PORT[,HOST:PORT...] --user ADDRESS[.NAME]; reconnects and fails over",
  usage: "rignode worker --pool HOST:PORT[,stratum+tcp://HOST:PORT,stratum+ssl://HOST:PORT...] --user ADDRESS[.NAME] [--tls-ca FILE] [--threads N] [--algo sha256d|scrypt] [--print-time S] [--retry-forever]",
  options: ["pool", "user", "password", "tls-ca", "print-time", "retry-forever", "algo", "threads", "batch", "pin", "kernel", "api", "api-auth", "data-dir", ...TUNING_FLAGS, ...TELEMETRY_FLAGS],
  flags: {},
  // The flags every CPU miner takes, so that a rig's existing command line works with `rignode worker`.
  aliases: { "-o": "pool", "--url": "pool", "-u": "user", "-p": "password", "--pass": "password", "-t": "threads", "-a": "algo", "--cert": "tls-ca" },
  positionals: [],
  async run({ config, origin, log }) {
    const role = await startWorkerRole(config, log, { apiExplicit: origin.has("api.listen") });
    return untilSignal(log, () => role.stop(), role.failed);
  },
};

import { startRole } from "../../node";
import type { Command } from "../command";

export const serveCommand: Command = {
  name: "serve",
  summary: "run the HTTP API (health, info, metrics) until stopped with Ctrl-C or SIGTERM",
  usage: "rignode serve [--api HOST:PORT] [--data-dir DIR]",
  options: ["api", "api-auth", "data-dir", "kernel"],
  flags: {},
  positionals: [],
  async run({ config, log }) {
    const role = await startRole("serve", config, log);
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log.info("signal", { signal: sig });
        resolve();
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    await role.stop();
    return 0;
  },
};

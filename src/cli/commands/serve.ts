import type { Logger } from "../../core";

/** Runs until SIGINT or SIGTERM, then stops the role. */
export async function untilSignal(log: Logger, stop: () => Promise<void>): Promise<number> {
  await new Promise<void>((resolve) => {
    const on = (sig: string) => {
      log.info("signal", { signal: sig });
      resolve();
    };
    process.once("SIGINT", () => on("SIGINT"));
    process.once("SIGTERM", () => on("SIGTERM"));
  });
  await stop();
  return 0;
}

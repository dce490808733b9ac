import type { Logger } from "../../core";

/**
 * Runs until SIGINT or SIGTERM, then stops the role and returns 0. When the role fails first (`failed` settles), it
 * is stopped and its error thrown: the CLI prints it and exits 1.
 */
export async function untilSignal(log: Logger, stop: () => Promise<void>, failed?: Promise<Error>): Promise<number> {
  const handlers: [NodeJS.Signals, () => void][] = [];
  const why = await new Promise<Error | null>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      const on = () => {
        log.info("signal", { signal: sig });
        resolve(null);
      };
      handlers.push([sig, on]);
      process.once(sig, on);
    }
    failed?.then(resolve);
  });
  for (const [sig, on] of handlers) process.off(sig, on);
  await stop();
  if (why) throw why;
  return 0;
}

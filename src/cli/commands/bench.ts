import { runBench, threadPlacement } from "../../node";
import { loadKernel } from "../../kernel";
import { defaultBatch } from "../../miner";
import { autoThreads, cpuInfo } from "../../tuning";
import { COMMIT, VERSION } from "../../core";
import type { Command } from "../command";

export const benchCommand: Command = {
  name: "bench",
  summary: "measure hashrate through the mining engine (worker threads calling the kernel)",
  usage: "rignode bench --algo sha256d|scrypt [--threads N] [--seconds S] [--batch N] [--pin] [--json]",
  options: ["algo", "threads", "batch", "pin", "kernel"],
  flags: {
    seconds: { kind: "number", arg: "S", help: "how long to measure (default 10)", min: 0.1, max: 86400 },
    json: { kind: "boolean", help: "print the result as one JSON object on the last line of stdout" },
  },
  positionals: [],
  async run({ config, flags, log, out }) {
    const { info: kernel } = await loadKernel(config.kernel.variant);
    const algo = config.miner.algo;
    const threads = config.miner.threads === "auto" ? autoThreads() : config.miner.threads;
    const batch = config.miner.batch === "auto" ? defaultBatch(algo) : config.miner.batch;
    const seconds = (flags.seconds as number | undefined) ?? 10;
    const tty = process.stderr.isTTY === true;
    log.info("bench.start", { algo, threads, batch, seconds, kernel: kernel.variant });
    const result = await runBench({
      kernel,
      algo,
      threads,
      batch,
      seconds,
      pin: config.miner.pin,
      cpuOrder: threadPlacement(config).order,
      log,
      onProgress: tty
        ? (s, t) => process.stderr.write(`\r${algo} ${threads}T ${kernel.variant}: ${formatRate(s.hashrate["10s"])}  ${t.toFixed(0)}/${seconds}s   `)
        : undefined,
    });
    if (tty) process.stderr.write("\n");
    const cpu = await cpuInfo();
    if (flags.json) {
      out(JSON.stringify({ ...result, cpu_model: cpu.model, version: VERSION, commit: COMMIT }));
    } else {
      out(`${algo}: ${formatRate(result.hashrate_hs)} with ${threads} thread(s), kernel ${kernel.variant} (${result.impl === "simd" ? `${kernel.lanes} lanes` : result.impl}), batch ${batch}`);
      out(`  ${result.hashes} hashes in ${result.seconds} s; per thread: ${result.per_thread_hs.map(formatRate).join(", ")}`);
    }
    return 0;
  },
};

/** H/s with a unit. */
export function formatRate(hs: number): string {
  if (hs >= 1e9) return `${(hs / 1e9).toFixed(2)} GH/s`;
  if (hs >= 1e6) return `${(hs / 1e6).toFixed(2)} MH/s`;
  if (hs >= 1e3) return `${(hs / 1e3).toFixed(2)} kH/s`;
  return `${hs.toFixed(1)} H/s`;
}

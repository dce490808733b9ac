import { runTune } from "../../node";
import { loadKernel } from "../../kernel";
import type { Command } from "../command";
import { formatRate } from "./bench";

export const tuneCommand: Command = {
  name: "tune",
  summary: "find the fastest threads x batch for this CPU and algorithm, and remember it (the miner starts from it)",
  usage: "rignode tune --algo sha256d|scrypt [--minutes N] [--tune-window S] [--profile NAME] [--json]",
  options: ["algo", "kernel", "pin", "data-dir", "profile", "min-threads", "max-threads", "min-batch", "max-batch", "tune-window", "numa", "sys-root"],
  flags: {
    minutes: { kind: "number", arg: "N", help: "stop after N minutes even if the search has not finished (default 30)", min: 0.1, max: 1440 },
    json: { kind: "boolean", help: "print the result as one JSON object on the last line of stdout" },
  },
  positionals: [],
  async run({ config, flags, log, out }) {
    const { info: kernel } = await loadKernel(config.kernel.variant);
    const algo = config.miner.algo;
    const minutes = (flags.minutes as number | undefined) ?? 30;
    const tty = process.stderr.isTTY === true;
    log.info("tune.start", { algo, kernel: kernel.variant, window_s: config.tuning.windowSeconds, minutes });
    const r = await runTune({
      config,
      kernel,
      algo,
      minutes,
      log,
      onProgress: tty
        ? (v, t) => {
            const best = v.best ? `best ${v.best.candidate.threads}T/b${v.best.candidate.batch} ${formatRate(v.best.mean)}` : "no result yet";
            process.stderr.write(`\r${algo}: ${v.phase} ${v.candidate.threads}T/b${v.candidate.batch} window ${v.sub_windows_done}/${v.sub_windows}, ${v.evaluated} of ~${v.planned} evaluated, ${best}, ${t.toFixed(0)} s   `);
          }
        : undefined,
    });
    if (tty) process.stderr.write("\n");
    if (flags.json) {
      out(JSON.stringify(r));
      return 0;
    }
    out(`${"threads".padStart(7)} ${"batch".padStart(5)} ${"hashrate".padStart(12)}  chosen`);
    for (const t of r.tried) out(`${String(t.threads).padStart(7)} ${String(t.batch).padStart(5)} ${formatRate(t.hashrate_hs).padStart(12)}  ${t.accepted ? "<- chosen" : ""}`);
    if (r.chosen) {
      out(`${r.settled ? "chosen" : "best so far (time ran out)"}: ${r.chosen.threads} thread(s), batch ${r.chosen.batch} (${r.chosen.batch_nonces} nonces per call), ${formatRate(r.chosen.hashrate_hs)}` + (r.rolled_back ? " (the first winner was rolled back)" : ""));
    } else out("no configuration was measured (time ran out before the first window ended)");
    out(`${r.evaluations} evaluation(s) in ${r.seconds} s; remembered for ${r.cpu} / ${r.profile} / ${algo} in ${r.memory ?? "(no memory)"}`);
    return r.chosen ? 0 : 1;
  },
};

// Does `rignode tune` find the best configuration of this machine? An exhaustive sweep of threads x batch (every
// batch unit 1..32 for every thread count up to the CPUs allowed) with `rignode bench`, then `rignode tune`; prints
// the sweep, the tuner's choice, where the choice stands in the sweep (its rate / the sweep's best) and how long
// the tuner took. The two measure at different times on a noisy machine: compare the ratio, not single numbers.
// usage: bun run build.ts && bun run bench/tune-sweep.ts [--seconds S] [--algo A] [--window S] [--max-batch N]
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { availableParallelism } from "node:os";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = opt("seconds", "10");
const algo = opt("algo", "sha256d");
const window = opt("window", "60");
const maxBatch = Number(opt("max-batch", "32"));
const BIN = join(import.meta.dir, "..", "dist", "rignode");
const unit = algo === "sha256d" ? 65_536 : 64;
const threadsMax = availableParallelism();

function run(cmd: string[]): Record<string, any> {
  const p = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${p.exitCode}: ${p.stderr.toString().slice(-500)}`);
  return JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!);
}

const sweep = new Map<string, number>();
for (let t = 1; t <= threadsMax; t++) {
  for (let b = 1; b <= maxBatch; b++) {
    const r = run([BIN, "bench", "--algo", algo, "--threads", String(t), "--batch", String(b * unit), "--seconds", seconds, "--json"]);
    sweep.set(`${t}/${b}`, r.hashrate_hs);
    console.log(`sweep ${t} thread(s) batch ${String(b).padStart(2)}: ${(r.hashrate_hs / 1e6).toFixed(3)} MH/s`);
  }
}
const [bestKey, bestRate] = [...sweep.entries()].sort((a, b) => b[1] - a[1])[0]!;
const dataDir = mkdtempSync(join(tmpdir(), "rignode-tune-"));
const tuned = run([BIN, "tune", "--algo", algo, "--tune-window", window, "--max-batch", String(maxBatch), "--data-dir", dataDir, "--json"]);
const key = `${tuned.chosen.threads}/${tuned.chosen.batch}`;
const at = sweep.get(key);
console.log(`sweep best: ${bestKey} ${(bestRate / 1e6).toFixed(3)} MH/s (${sweep.size} configurations x ${seconds} s)`);
console.log(`rignode tune chose ${key} (${(tuned.chosen.hashrate_hs / 1e6).toFixed(3)} MH/s measured by the tuner) after ${tuned.evaluations} windows of ${window} s, ${(tuned.seconds / 60).toFixed(1)} min, settled ${tuned.settled}`);
console.log(`the choice in the sweep: ${at === undefined ? "not swept" : `${(at / 1e6).toFixed(3)} MH/s = ${((at / bestRate) * 100).toFixed(1)}% of the sweep's best`}`);

// Payout plan build time (issue 13, item 3): the planner alone, and weights + plan through the Ledger on a real
// SQLite store, for 100 / 1,000 / 10,000 / 100,000 payees; the former quadratic planner (REFERENCE, kept in
// test/pool/payout-reference.ts) and the former table-scan weights (Ledger.pplnsWeights) beside the new ones.
// Inputs like devnet's: 1,000 outputs at most, minimum output 1,000, a fifth of the payees owed from earlier blocks.
// usage: nice bun run bench/plan.ts [--runs R] [--sizes 100,1000,10000,100000] [--old-max N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, planPayout, shareWeight, type PayoutInput } from "../src/pool";
import { Store } from "../src/store";
import { referencePlanPayout } from "../test/pool/payout-reference";
import { prng } from "../test/helpers";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const runs = Number(opt("runs", "5"));
const sizes = opt("sizes", "100,1000,10000,100000").split(",").map(Number);
// The former planner is quadratic: 10,000 payees take tens of seconds a run (one run there), 100,000 hours.
const oldMax = Number(opt("old-max", "10000"));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3)) + " ms";
function time(n: number, f: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return out;
}
const hexOf = (rnd: () => number) => Array.from({ length: 4 }, () => Math.floor(rnd() * 2 ** 32).toString(16).padStart(8, "0")).join("").padEnd(64, "0");

function inputs(n: number, seed: number, weights?: Map<string, bigint>): PayoutInput {
  const rnd = prng(seed);
  const w = weights ?? new Map(Array.from({ length: n }, () => [hexOf(rnd), shareWeight(0.5 + rnd() * 4)] as const));
  const carried = new Map<string, bigint>();
  for (const a of w.keys()) if (rnd() < 0.2) carried.set(a, BigInt(Math.floor(rnd() * 2_000_000)));
  return { total: 5_000_000_000n, foundation: "f".repeat(64), pool: "e".repeat(64), poolFeeBps: 100, weights: w, carried, minOutput: 1000n, maxOutputs: 1000 };
}

console.log(`median of ${runs} runs (former planner at ${oldMax.toLocaleString("en")} payees and up: 1 run; above ${oldMax.toLocaleString("en")}: not run)`);
console.log("| payees | former planner (REFERENCE) | new planner | former: table scan + planner (REFERENCE) | new: running sums + planner | new: first plan after start (one table scan) |");
console.log("|---|---|---|---|---|---|");
for (const n of sizes) {
  const i = inputs(n, n);
  const oldRuns = n > oldMax ? 0 : n >= 10_000 ? 1 : runs;
  const oldPlan = oldRuns ? median(time(oldRuns, () => referencePlanPayout(i))) : NaN;
  const newPlan = median(time(runs, () => planPayout(i)));

  // A real store: one share per payee, then n/2 more among them (difficulty 0.5-4.5); a PPLNS window of about all.
  const dir = mkdtempSync(join(tmpdir(), "rignode-bench-plan-"));
  const store = Store.open(dir);
  const ledger = new Ledger(store);
  const rnd = prng(n + 1);
  const addrs = [...i.weights.keys()].map((h) => Uint8Array.from(Buffer.from(h, "hex")));
  let hash = 0;
  const share = (address: Uint8Array) => ledger.record({ worker: "w", address, job: "1", difficulty: 0.5 + rnd() * 4, hash: `h${hash++}` });
  await Promise.all(addrs.map(share));
  await Promise.all(Array.from({ length: n >> 1 }, () => share(addrs[Math.floor(rnd() * n)]!)));
  const window = shareWeight(2.5 * (n + (n >> 1)) - 1);
  const plan = (weights: Map<string, bigint>) => planPayout({ ...i, weights });
  let t = performance.now();
  plan(ledger.weights(window).weights);
  const first = performance.now() - t;
  const steady: number[] = [];
  for (let r = 0; r < runs; r++) {
    await share(addrs[Math.floor(rnd() * n)]!); // a share between jobs: one enters, one leaves the window
    t = performance.now();
    plan(ledger.weights(window).weights);
    steady.push(performance.now() - t);
  }
  const oldLedger = oldRuns ? median(time(oldRuns, () => referencePlanPayout({ ...i, weights: ledger.pplnsWeights(window, ledger.lastShareId()) }))) : NaN;
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
  const show = (x: number) => (Number.isNaN(x) ? "not run" : ms(x));
  console.log(`| ${n.toLocaleString("en")} | ${show(oldPlan)} | ${ms(newPlan)} | ${show(oldLedger)} | ${ms(median(steady))} | ${ms(first)} |`);
}

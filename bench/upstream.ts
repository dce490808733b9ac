// The pool on a real daemon: litecoind regtest (MWEB off or on) as the upstream, two rignode workers, for a while.
// Reports blocks accepted by litecoind per second, the pool's time from a new tip to the last notify (template fetch
// + proposal check + broadcast), the time of getblocktemplate, of a proposal check and of submitblock, and the
// shares validated. Needs /usr/lib/litecoin/litecoind (apt-get install litecoind).
// usage: bun run bench/upstream.ts [--seconds 20] [--mweb] [--json]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coin, RpcClient } from "../src/pool";
import { freePort, waitFor } from "../test/helpers";
import { haveLitecoind, regtestPair } from "../test/upstream/litecoind";

const args = process.argv.slice(2);
const SECONDS = Number(args.includes("--seconds") ? args[args.indexOf("--seconds") + 1] : "20");
const MWEB = args.includes("--mweb");
const BIN = join(import.meta.dir, "..", "dist", "rignode");
if (!haveLitecoind) throw new Error("litecoind is not installed (apt-get install litecoind)");

const dir = mkdtempSync(join(tmpdir(), "rignode-bench-up-"));
const pair = await regtestPair(dir, MWEB);
const o = pair.oracle;
const procs: ReturnType<typeof Bun.spawn>[] = [];
try {
  const burn = coin.encodeSegwit("rltc", 0, new Uint8Array(20).fill(9));
  if (MWEB) {
    await o.call("createwallet", ["w"]);
    await o.call("generatetoaddress", [431, await o.call("getnewaddress", [])]);
    await o.call("sendtoaddress", [await o.call("getnewaddress", ["", "mweb"]), 1.0]);
  } else await o.call("generatetoaddress", [101, burn]);

  // The daemon's own costs, measured from here over loopback (median of 50).
  const rpc = new RpcClient(o.url);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const time = async (f: () => Promise<unknown>) => {
    const t: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await f();
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  const gbtMs = await time(() => rpc.call("getblocktemplate", [{ rules: ["mweb", "segwit"] }]));

  const api = freePort();
  const native = freePort();
  const json = freePort();
  procs.push(Bun.spawn([BIN, "pool", "--upstream", o.url, "--data-dir", join(dir, "pool"), "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${json}`, "--pool-fee", "0", "--shares-per-second", "0", "--ban-seconds", "0", "--log-level", "warn"], { stdout: "ignore", stderr: "ignore" }));
  const url = `http://127.0.0.1:${api}`;
  await waitFor(async () => ((await (await fetch(`${url}/health`)).json()) as any).ok || undefined, 30_000);
  for (const [i, pool] of [`127.0.0.1:${native}`, `stratum+tcp://127.0.0.1:${json}`].entries()) {
    procs.push(Bun.spawn([BIN, "worker", "--algo", "scrypt", "--pool", pool, "--user", coin.encodeSegwit("rltc", 0, new Uint8Array(20).fill(i + 1)), "--threads", "1", "--api", `127.0.0.1:${freePort()}`, "--data-dir", join(dir, `w${i}`)], { stdout: "ignore", stderr: "ignore" }));
  }
  const h0 = await o.call("getblockcount");
  await Bun.sleep(SECONDS * 1000);
  const h1 = await o.call("getblockcount");
  const stats: any = await (await fetch(`${url}/pool/stats`)).json();
  const out = {
    mweb: MWEB,
    seconds: SECONDS,
    blocks_accepted: h1 - h0,
    blocks_per_second: +((h1 - h0) / SECONDS).toFixed(1),
    pool_blocks_recorded: stats.blocks_found,
    tip_to_notify_ms: stats.tip_to_notify_ms,
    getblocktemplate_ms_median: +gbtMs.toFixed(2),
    shares_accepted: stats.shares.accepted,
    shares_rejected: stats.shares.rejected,
    proposals: { ok: stats.source.proposals_ok, rejected: stats.source.proposals_rejected },
  };
  if (args.includes("--json")) console.log(JSON.stringify(out));
  else console.log(out);
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  await pair.stop();
}

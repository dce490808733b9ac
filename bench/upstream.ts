// The pool on a real daemon: litecoind regtest (MWEB off or on) as the upstream, two rignode workers, for a while.
// Reports blocks accepted by litecoind per second, the pool's time from a new tip to the last notify (template fetch
// + proposal check + broadcast), the time of getblocktemplate, of a proposal check and of submitblock, and the
// shares validated. Needs /usr/lib/litecoin/litecoind (apt-get install litecoind).
// With --external there are no workers: the daemon mines a block every 250 ms itself (generatetoaddress), which
// measures the pool's path from a block it did not find (longpoll, template, proposal, notify) without share load.
// usage: bun run bench/upstream.ts [--seconds 20] [--mweb] [--external] [--json]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coin, RpcClient } from "../src/pool";
import { freePort, waitFor } from "../test/helpers";
import { haveLitecoind, regtestPair } from "../test/upstream/litecoind";

const args = process.argv.slice(2);
const SECONDS = Number(args.includes("--seconds") ? args[args.indexOf("--seconds") + 1] : "20");
const MWEB = args.includes("--mweb");
const EXTERNAL = args.includes("--external");
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
  for (const [i, pool] of EXTERNAL ? [] : [`127.0.0.1:${native}`, `stratum+tcp://127.0.0.1:${json}`].entries()) {
    // The rigs run at the lowest priority: on a real pool they are other machines, here they share its 2 cores.
    procs.push(Bun.spawn(["nice", "-n", "19", BIN, "worker", "--algo", "scrypt", "--pool", pool, "--user", coin.encodeSegwit("rltc", 0, new Uint8Array(20).fill(i + 1)), "--threads", "1", "--api", `127.0.0.1:${freePort()}`, "--data-dir", join(dir, `w${i}`)], { stdout: "ignore", stderr: "ignore" }));
  }
  // A Stratum V1 miner's view: when each clean notify arrives.
  const notifies: number[] = [];
  let text = "";
  const miner = await Bun.connect({
    hostname: "127.0.0.1",
    port: json,
    socket: {
      data(_s, chunk) {
        text += chunk.toString();
        const lines = text.split("\n");
        text = lines.pop()!;
        for (const l of lines) if (l.includes('"mining.notify"') && l.includes("true]")) notifies.push(performance.now());
      },
    },
  });
  miner.write(`{"id":1,"method":"mining.subscribe","params":[]}\n{"id":2,"method":"mining.authorize","params":["${burn}","x"]}\n`);
  await Bun.sleep(500);
  const h0 = await o.call("getblockcount");
  const end = Date.now() + SECONDS * 1000;
  const blockToNotify: number[] = [];
  if (EXTERNAL)
    while (Date.now() < end) {
      const seen = notifies.length;
      const t0 = performance.now();
      await o.call("generatetoaddress", [1, burn]);
      // From sending generatetoaddress (the block exists before it answers) to the miner holding the new job.
      await waitFor(() => (notifies.length > seen ? true : undefined), 10_000);
      blockToNotify.push(notifies[seen]! - t0);
      await Bun.sleep(250);
    }
  else await Bun.sleep(SECONDS * 1000);
  miner.end();
  blockToNotify.sort((x, y) => x - y);
  const q = (p: number) => +(blockToNotify[Math.min(blockToNotify.length - 1, Math.floor(p * blockToNotify.length))] ?? NaN).toFixed(2);
  const h1 = await o.call("getblockcount");
  const stats: any = await (await fetch(`${url}/pool/stats`)).json();
  const out = {
    mweb: MWEB,
    blocks_by: EXTERNAL ? "daemon" : "pool workers",
    seconds: SECONDS,
    blocks_accepted: h1 - h0,
    blocks_per_second: +((h1 - h0) / SECONDS).toFixed(1),
    pool_blocks_recorded: stats.blocks_found,
    tip_to_notify_ms: stats.tip_to_notify_ms,
    ...(EXTERNAL ? { daemon_block_to_miner_notify_ms: { p50: q(0.5), p99: q(0.99), samples: blockToNotify.length } } : {}),
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

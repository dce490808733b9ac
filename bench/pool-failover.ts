// Failover of `rignode pool --bus`: two instances of dist/rignode on one throwaway PostgreSQL ledger and one Redis,
// a rignode worker on the follower; kill -9 of the leader, then how long until the follower is elected (its
// pool.leader_elected log time) and until it serves a job of its own (its first job with a higher id, seen by a
// Stratum probe). RUNS runs, each with fresh instances; median and max printed.
//   bun bench/pool-failover.ts [RUNS=5]
import { encodeAddress, generateKeyPair, NETWORKS } from "../src/chain";
import { waitFor } from "../test/helpers";
import { POSTGRES_BIN, postgresServer } from "../test/integration/postgres-server";
import { REDIS_SERVER, redisServer } from "../test/integration/redis-server";
import { json, leads, Probe, startInstance, startWorker, type Proc } from "../test/integration/pool-cluster";

const RUNS = Number(process.argv[2] ?? 5);
if (!POSTGRES_BIN || !REDIS_SERVER) {
  console.error("needs PostgreSQL and redis-server installed");
  process.exit(1);
}
const pg = postgresServer();
await pg.start();
const redis = redisServer();
await redis.start();
const ledger = await pg.createDb("failover");
const address = encodeAddress(generateKeyPair().publicKey, NETWORKS.devnet!.addressVersion);
const elected: number[] = [];
const served: number[] = [];
const all: Proc[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const extra = ["--pool-fee", "0"];
    const A = startInstance({ instance: 1, ledger, bus: redis.url, extra });
    all.push(A);
    await waitFor(async () => ((await leads(A)) ? true : undefined), 30_000);
    const B = startInstance({ instance: 2, ledger, bus: redis.url, peers: [A.p2p], extra });
    all.push(B);
    await waitFor(() => json(`${B.api}/health`), 30_000);
    const w = startWorker(`127.0.0.1:${B.native}`, `${address}.w${run}`, ["--password", "d=0.0002"]);
    all.push(w);
    const probe = new Probe(B.json, `${address}.probe`);
    await waitFor(() => (probe.jobs.length ? true : undefined), 15_000);
    await Bun.sleep(1500); // shares flowing, a lease renewed or two
    const last = Math.max(...probe.jobs.map((j) => parseInt(j, 16)));
    const t0 = Date.now();
    A.proc.kill("SIGKILL");
    const e = await waitFor(() => B.events("pool.leader_elected")[0], 20_000);
    await waitFor(() => (probe.jobs.some((j) => parseInt(j, 16) > last) ? true : undefined), 20_000);
    const t2 = Date.now();
    elected.push(Date.parse(e.ts) - t0);
    served.push(t2 - t0);
    console.log(`run ${run + 1}: elected ${elected.at(-1)} ms, new job at the follower's miner ${served.at(-1)} ms after kill -9`);
    probe.close();
    for (const p of [w, B]) p.proc.kill("SIGKILL");
    await Promise.all([A, B, w].map((p) => p.proc.exited));
    // The dead members' lease and instance claims expire (3 s, 5 s) before the next run's instances start.
    await Bun.sleep(5500);
  }
} finally {
  for (const p of all) p.proc.kill("SIGKILL");
  await redis.stop();
  await pg.stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`failover over ${RUNS} kill -9 runs (lease 3 s, tries every 0.5 s): elected median ${median(elected)} ms, max ${Math.max(...elected)} ms; new job at the miner median ${median(served)} ms, max ${Math.max(...served)} ms`);

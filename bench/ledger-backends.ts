// Shares/s committed by the pool's ledger, SQLite vs PostgreSQL (a throwaway local PostgreSQL cluster, fsync on),
// through Ledger.record: TURN shares handed in per event-loop turn (one group commit each), TOTAL shares a run,
// median of 3 runs. Also the plan read (prepare: PPLNS window read back) on PostgreSQL.
//   bun bench/ledger-backends.ts [TOTAL=50000] [TURN=200]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, PostgresLedger, shareWeight, type ShareRecord } from "../src/pool";
import { Store } from "../src/store";
import { POSTGRES_BIN, postgresServer } from "../test/integration/postgres-server";

const TOTAL = Number(process.argv[2] ?? 50_000);
const TURN = Number(process.argv[3] ?? 200);
const addrs = Array.from({ length: 500 }, (_, i) => new Uint8Array(32).fill(0).map((_, j) => (j < 2 ? (i >> (8 * j)) & 0xff : 7)));
let n = 0;
const share = (): ShareRecord => ({ worker: `w${n % 500}`, address: addrs[n % 500]!, job: "1", difficulty: 1, hash: `h${n++}` });

/** Shares/s for TOTAL shares recorded TURN per turn (each turn waits for its commit, like the pool's acks). */
async function run(ledger: Ledger): Promise<number> {
  const t0 = performance.now();
  // Two turns in flight, like a busy pool: the next turn's shares gather while one commit runs.
  let inflight: Promise<unknown>[] = [];
  for (let done = 0; done < TOTAL; done += TURN) {
    const turn = Promise.all(Array.from({ length: Math.min(TURN, TOTAL - done) }, () => ledger.record(share())));
    inflight.push(turn);
    if (inflight.length >= 2) await inflight.shift();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(inflight);
  inflight = [];
  return TOTAL / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

const sqlite: number[] = [];
for (let i = 0; i < 3; i++) sqlite.push(await run(new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-bench-ledger-"))))));
console.log(`sqlite    ${fmt(median(sqlite))} shares/s committed (runs: ${sqlite.map(fmt).join(", ")}; ${TOTAL} shares, ${TURN} a turn)`);

if (!POSTGRES_BIN) {
  console.log("postgres  skipped: no PostgreSQL binaries");
} else {
  const pg = postgresServer();
  await pg.start();
  try {
    const rates: number[] = [];
    let last: Ledger | null = null;
    for (let i = 0; i < 3; i++) {
      const backend = new PostgresLedger(await pg.createDb(`bench_${i}`));
      last = await Ledger.open(backend);
      rates.push(await run(last));
    }
    console.log(`postgres  ${fmt(median(rates))} shares/s committed (runs: ${rates.map(fmt).join(", ")}; ${TOTAL} shares, ${TURN} a turn)`);
    // The plan read before each job: the first (a restart: the window read from the table), then the next ones (only
    // the shares committed since: here 1,000).
    const window = shareWeight(TOTAL / 2);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) {
      const fresh = await Ledger.open(new PostgresLedger(pg.url("bench_2")));
      let t0 = performance.now();
      await fresh.prepare(window);
      cold.push(performance.now() - t0);
      await Promise.all(Array.from({ length: 1000 }, () => last!.record(share())));
      t0 = performance.now();
      await fresh.prepare(window);
      warm.push(performance.now() - t0);
      await fresh.backend.close();
    }
    const ms = (xs: number[]) => `${median(xs).toFixed(1)} ms`;
    console.log(`postgres  plan read, PPLNS window of ${TOTAL / 2} shares, 500 payees: first ${ms(cold)}, next (1,000 new shares) ${ms(warm)} (medians of 3)`);
    await last!.backend.close();
  } finally {
    await pg.stop();
  }
}

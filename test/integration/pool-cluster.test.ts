// Two `rignode pool` instances behind one PostgreSQL ledger and one Redis bus (throwaway servers on loopback), a
// `rignode worker` on each, their nodes peering over P2P: one leader, whose jobs the other serves unchanged; shares of
// both in the ledger; a block found through B paying both workers by the ledger; kill -9 of the leader while shares
// flow — the follower leads within the 5 s and jobs continue, every acknowledged share in PostgreSQL; the
// extranonce1 split by --pool-instance, and a second live member with the same id refused.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { leToDisplayHex, toHex } from "../../src/core";
import { PostgresLedger } from "../../src/pool";
import { bin, freePort, ROOT, run, waitFor } from "../helpers";
import { POSTGRES_BIN, postgresServer } from "./postgres-server";
import { REDIS_SERVER, redisServer } from "./redis-server";
import { json, leads, Probe, startInstance, startWorker, type Instance, type Proc, type Worker } from "./pool-cluster";

const VERSION = NETWORKS.devnet!.addressVersion;
const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && existsSync(p));
const OUT = join(ROOT, ".ci", "out");
const procs: Proc[] = [];
const probes: Probe[] = [];
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const p of probes) p.close();
  for (const p of procs) p.proc.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.proc.exited));
  for (const c of cleanup.reverse()) await c();
});

function payee() {
  const k = generateKeyPair().publicKey;
  return { hex: toHex(k), address: encodeAddress(k, VERSION) };
}

describe.skipIf(!POSTGRES_BIN || !REDIS_SERVER)("two rignode pool instances on one PostgreSQL ledger and one Redis bus", () => {
  let ledgerUrl = "";
  let busUrl = "";
  let ledger: PostgresLedger;
  let A: Instance, B: Instance;
  let wa: Worker, wb: Worker;
  const pa = payee();
  const pb = payee();

  test("(a) one leader; the follower serves the leader's jobs (same ids, prevhash, coinbase); shares of both workers in the ledger", async () => {
    const pg = postgresServer();
    await pg.start();
    cleanup.push(() => pg.stop());
    const redis = redisServer();
    await redis.start();
    cleanup.push(() => redis.stop());
    ledgerUrl = await pg.createDb("cluster");
    busUrl = `${redis.url}/3`;
    ledger = new PostgresLedger(ledgerUrl, { max: 1 });
    cleanup.push(() => ledger.close());
    // PPLNS over a window far larger than every share this test makes: a plan's weights are the ledger's sums.
    const extra = ["--pplns-window", "1000", "--pool-fee", "0", "--shares-per-second", "0"];
    A = startInstance({ instance: 1, ledger: ledgerUrl, bus: busUrl, extra });
    procs.push(A);
    await waitFor(() => json(`${A.api}/health`), 30_000);
    B = startInstance({ instance: 2, ledger: ledgerUrl, bus: busUrl, peers: [A.p2p], extra });
    procs.push(B);
    await waitFor(() => json(`${B.api}/health`), 30_000);
    await waitFor(async () => ((await leads(A)) !== null && (await leads(B)) !== null ? true : undefined), 15_000);
    expect([await leads(A), await leads(B)].filter(Boolean)).toHaveLength(1);
    const stats = await waitFor(async () => {
      const s = await json(`${B.api}/pool/stats?workers=none`);
      return s?.instances?.length === 2 ? s : undefined;
    }, 15_000);
    expect(stats.instances.filter((h: any) => h.leader)).toHaveLength(1);
    expect(stats.instances.map((h: any) => h.instance).sort()).toEqual([1, 2]);
    expect(stats.pool_wide.members).toBe(2);

    // What a miner is told by either: the same jobs. Every job id seen on both carries the same notify.
    const qa = new Probe(A.json, `${pa.address}.probe`);
    const qb = new Probe(B.json, `${pb.address}.probe`);
    probes.push(qa, qb);
    const common = await waitFor(() => {
      const ids = qa.jobs.filter((j) => qb.jobs.includes(j));
      return ids.length ? ids : undefined;
    }, 15_000);
    for (const id of common) {
      const na = qa.notifies.find((n) => n[0] === id)!;
      const nb = qb.notifies.find((n) => n[0] === id)!;
      expect(nb.slice(0, 8)).toEqual(na.slice(0, 8)); // id, prevhash, coinb1, coinb2, branch, version, nbits, ntime
    }

    wa = startWorker(`127.0.0.1:${A.native}`, `${pa.address}.wa`, ["--password", "d=0.0002"]);
    wb = startWorker(`stratum+tcp://127.0.0.1:${B.json}`, `${pb.address}.wb`, ["--password", "d=0.0002"]);
    procs.push(wa, wb);
    const rows = await waitFor(async () => {
      const r = (await ledger.sql.unsafe("SELECT worker, count(*)::int AS n FROM shares GROUP BY worker")) as { worker: string; n: number }[];
      return r.some((x) => x.worker === wa.user) && r.some((x) => x.worker === wb.user) ? r : undefined;
    }, 60_000);
    expect(rows.find((x) => x.worker === wa.user)!.n).toBeGreaterThan(0);
    expect(rows.find((x) => x.worker === wb.user)!.n).toBeGreaterThan(0);
  }, 150_000);

  test("(b) a block found through instance B pays the workers of both by the ledger; its coinbase is the stored plan", async () => {
    // A block B's worker found (B's log), recorded with a plan made from the ledger (not the connected-workers start).
    const found = await waitFor(async () => {
      const blocks = await ledger.blocks(1000);
      for (const e of B.events("pool.block_found")) {
        const row = blocks.find((r) => leToDisplayHex(r.hash) === e.hash);
        if (row && row.status === "main" && !row.plan.basis && row.plan.weights[pa.hex] && row.plan.weights[pb.hex]) return { row, e };
      }
      return undefined;
    }, 120_000);
    const plan = found.row.plan;
    // The plan's weights are the ledger's: every share of each payee up to the plan's last share (window > all).
    const sums = new Map<string, bigint>();
    const shares = (await ledger.sql.unsafe("SELECT encode(address, 'hex') AS a, weight FROM shares WHERE id <= $1", [plan.lastShare])) as { a: string; weight: string }[];
    for (const s of shares) sums.set(s.a, (sums.get(s.a) ?? 0n) + BigInt(s.weight));
    expect(BigInt(plan.weights[pa.hex]!)).toBe(sums.get(pa.hex)!);
    expect(BigInt(plan.weights[pb.hex]!)).toBe(sums.get(pb.hex)!);
    // Paid in proportion: amount_a / amount_b = weight_a / weight_b (to the unit).
    const paid = new Map(plan.outputs.map((o) => [o.to, BigInt(o.amount)]));
    const [xa, xb] = [paid.get(pa.hex)!, paid.get(pb.hex)!];
    const [ya, yb] = [BigInt(plan.weights[pa.hex]!), BigInt(plan.weights[pb.hex]!)];
    const skew = xa * yb - xb * ya;
    expect((skew < 0n ? -skew : skew) <= ya + yb).toBe(true);
    // On-chain coinbase (B's node, which connected it) = the stored plan.
    const block = await json(`${B.api}/api/chain/block/${found.e.hash}`);
    const cb = block.txs[0];
    expect(cb.type).toBe("coinbase");
    expect(cb.outputs).toEqual(plan.outputs.map((o) => ({ to: encodeAddress(Buffer.from(o.to, "hex"), VERSION), amount: o.amount })));
    console.log(`block ${found.e.height} through B: ${plan.outputs.length} outputs, weights a=${ya} b=${yb}, paid a=${xa} b=${xb}`);
  }, 150_000);

  test("(d) extranonce1 carries --pool-instance: the two never hand out the same one; a second live member with an id in use is refused", async () => {
    const more = [0, 1, 2].flatMap(() => [new Probe(A.json, `${pa.address}.p`), new Probe(B.json, `${pb.address}.p`)]);
    probes.push(...more);
    const all = [...probes];
    await waitFor(() => (all.every((p) => p.extranonce1) ? true : undefined), 10_000);
    for (const p of all) expect(p.extranonce1!).toHaveLength(8);
    const onA = all.filter((_, i) => i % 2 === 0); // probes alternate: A, B, A, B, …
    const onB = all.filter((p) => !onA.includes(p));
    expect(onA.every((p) => p.extranonce1!.startsWith("01"))).toBe(true);
    expect(onB.every((p) => p.extranonce1!.startsWith("02"))).toBe(true);
    expect(new Set(all.map((p) => p.extranonce1)).size).toBe(all.length);

    const r = run([bin(), "pool", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-dup-")), "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--stratum", `127.0.0.1:${freePort()}`,
      "--stratum-json", `127.0.0.1:${freePort()}`, "--ledger", ledgerUrl, "--bus", busUrl, "--pool-instance", "2"], { env: { RIGNODE_LOG_JSON: "true" }, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--pool-instance 2 is already a live member");
    expect(r.stderr).not.toContain("pool.started");

    // A bus where no Redis answers: the start stops with where it looked (exit 2, like an unreachable ledger), no
    // Stratum port left open (it hung for ever before).
    const dead = freePort();
    const stratum = freePort();
    const down = run([bin(), "pool", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-nobus-")), "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--stratum", `127.0.0.1:${stratum}`,
      "--stratum-json", `127.0.0.1:${freePort()}`, "--ledger", ledgerUrl, "--bus", `redis://127.0.0.1:${dead}`, "--pool-instance", "9"], { env: { RIGNODE_LOG_JSON: "true" }, timeoutMs: 60_000 });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`--bus: the Redis at redis://127.0.0.1:${dead} could not be reached`);
    expect(down.stderr).not.toContain("pool.started");
    expect(await fetch(`http://127.0.0.1:${stratum}`).then(() => "open", () => "closed")).toBe("closed");
  }, 90_000);

  test.skipIf(!CHROMIUM)("the panel of either instance shows every instance's health and the pool-wide figures", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => void errors.push(e.message));
      await page.goto(B.api);
      await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
      await page.waitForSelector("#pool-members:not([hidden]) #instances tbody tr:nth-child(2)", { timeout: 20_000 });
      const rows = await page.locator("#instances tbody tr").allTextContents();
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.includes("leader"))).toHaveLength(1);
      expect(await page.locator("#pool-wide").textContent()).toMatch(/^Pool-wide \(2 instances\)/);
      mkdirSync(OUT, { recursive: true });
      await page.locator("#pool-members").screenshot({ path: join(OUT, "panel-pool-instances.png") });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  test("(c) kill -9 of the leader while shares flow: the follower leads within 5 s, jobs go on, every acknowledged share is in the ledger", async () => {
    const [L, F] = (await leads(A)) ? [A, B] : [B, A];
    const [wl, wf] = L === A ? [wa, wb] : [wb, wa];
    // Shares flowing on both.
    const before = await Promise.all([json(`${wl.api}/api/worker`), json(`${wf.api}/api/worker`)]);
    await waitFor(async () => {
      const now = await Promise.all([json(`${wl.api}/api/worker`), json(`${wf.api}/api/worker`)]);
      return now[0].shares.accepted > before[0].shares.accepted && now[1].shares.accepted > before[1].shares.accepted ? true : undefined;
    }, 30_000);
    const lastJob = (await json(`${F.api}/pool/stats?workers=none`)).job.id as string;
    const t0 = Date.now();
    L.proc.kill("SIGKILL");
    const elected = await waitFor(() => F.events("pool.leader_elected")[0], 15_000);
    const delay = Date.parse(elected.ts) - t0;
    console.log(`failover: follower elected ${delay} ms after kill -9 of the leader (epoch ${elected.epoch})`);
    expect(delay).toBeLessThan(5000);
    expect(await leads(F)).toBe(true);
    // Jobs go on: the new leader builds one, its worker mines on it (its shares on that job reach the ledger).
    const job = await waitFor(async () => {
      const s = await json(`${F.api}/pool/stats?workers=none`);
      return s?.job && s.job.id !== lastJob && parseInt(s.job.id, 16) > parseInt(lastJob, 16) ? (s.job.id as string) : undefined;
    }, 15_000);
    await waitFor(async () => {
      const r = (await ledger.sql.unsafe("SELECT count(*)::int AS n FROM shares WHERE worker = $1 AND job = $2", [wf.user, job])) as { n: number }[];
      return r[0]!.n > 0 ? true : undefined;
    }, 30_000);

    // The leader's worker lost its pool: what it had acknowledged is final. Stop the other and count.
    const lostPool = await waitFor(async () => {
      const w = await json(`${wl.api}/api/worker`);
      return w?.connected === false ? w : undefined;
    }, 30_000);
    // The follower's worker's own count of acknowledged shares (what the miner was told, not the pool's counter), read
    // just before it dies: every one of them, and any acknowledged after, is in the ledger.
    const ackedF = (await waitFor(() => json(`${wf.api}/api/worker`))).shares.accepted as number;
    expect(ackedF).toBeGreaterThan(0);
    wf.proc.kill("SIGKILL");
    await wf.proc.exited;
    const count = async (user: string) => ((await ledger.sql.unsafe("SELECT count(*)::int AS n FROM shares WHERE worker = $1", [user])) as { n: number }[])[0]!.n;
    const [nl, nf] = [await count(wl.user), await count(wf.user)];
    console.log(`acknowledged: leader's worker ${lostPool.shares.accepted} (ledger ${nl}), follower's worker ${ackedF} (ledger ${nf})`);
    expect(nl).toBeGreaterThanOrEqual(lostPool.shares.accepted);
    expect(nf).toBeGreaterThanOrEqual(ackedF);
  }, 150_000);
});

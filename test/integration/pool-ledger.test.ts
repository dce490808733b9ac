// `rignode pool --ledger postgres://…` as a real process against a throwaway PostgreSQL cluster: its own miner's
// accepted shares and found blocks land in PostgreSQL (and none in the node's SQLite ledger); a --ledger that is no
// ledger, or a PostgreSQL that does not answer, stops the start with a clear error before any port opens.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresLedger } from "../../src/pool";
import { bin, freePort, run, waitFor } from "../helpers";
import { POSTGRES_BIN, postgresServer } from "./postgres-server";

const env = { ...process.env, RIGNODE_LOG_JSON: "true" };
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function json(url: string): Promise<any> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

describe("rignode pool --ledger", () => {
  test("a --ledger that is neither sqlite nor a postgres:// URL: exit 2, what is accepted, nothing started", () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-ledger-flag-"));
    const r = run([bin(), "pool", "--data-dir", data, "--p2p", "off", "--ledger", "mysql://pool@db/ledger"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("sqlite or postgres://USER@HOST:PORT/DB");
  });

  test("a PostgreSQL that does not answer: the start stops with where it looked, no Stratum port opened", () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-ledger-down-"));
    const [dead, native] = [freePort(), freePort()];
    const r = run([bin(), "pool", "--data-dir", data, "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${freePort()}`, "--ledger", `postgres://rignode:secret@127.0.0.1:${dead}/ledger`], { env, timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`the PostgreSQL ledger at 127.0.0.1:${dead}/ledger could not be opened`);
    expect(r.stderr).not.toContain("secret");
    expect(r.stderr).not.toContain("pool.started");
  }, 90_000);

  test.skipIf(!POSTGRES_BIN)("the pool's own miner: shares and found blocks go to PostgreSQL, acknowledged ones all there", async () => {
    const pg = postgresServer();
    await pg.start();
    cleanup.push(() => pg.stop());
    const url = await pg.createDb("pool");
    const data = mkdtempSync(join(tmpdir(), "rignode-pool-pg-"));
    const api = freePort();
    const proc = Bun.spawn(
      [bin(), "pool", "--data-dir", data, "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${freePort()}`, "--stratum-json", `127.0.0.1:${freePort()}`,
        "--ledger", url, "--mine", "--threads", "1", "--start-difficulty", "0.001"],
      { stdout: "ignore", stderr: "pipe", env },
    );
    cleanup.push(() => void proc.kill("SIGKILL"));
    const ledger = new PostgresLedger(url, { max: 1 });
    cleanup.push(() => ledger.close());
    await waitFor(() => json(`http://127.0.0.1:${api}/health`), 30_000);
    const stats = await waitFor(async () => {
      const s = await json(`http://127.0.0.1:${api}/pool/stats`);
      return s?.workers?.[0]?.accepted > 0 && s.blocks_found > 0 ? s : undefined;
    }, 60_000);
    // A found block's plan is written after the block is accepted (one round trip later than the stats show it).
    const blocks = await waitFor(async () => ((await ledger.blocks(100)).length >= stats.blocks_found ? ledger.blocks(100) : undefined), 10_000);
    const acked = (await json(`http://127.0.0.1:${api}/pool/stats`)).workers[0].accepted;
    proc.kill("SIGKILL");
    await proc.exited;
    // Every acknowledged share is in PostgreSQL (kill -9 right after: nothing was only in memory).
    expect(await ledger.count()).toBeGreaterThanOrEqual(acked);
    expect(blocks.every((b) => b.plan.outputs.length > 0)).toBe(true);
    // The node's SQLite store holds the chain only: its ledger tables stay empty.
    const db = new Database(join(data, "rignode.sqlite"), { readonly: true });
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n).toBe(0);
    db.close();

    // `rignode doctor --ledger URL` reads the PostgreSQL ledger (not the empty SQLite one): schema, amounts, shares.
    const doctor = () => run([bin(), "doctor", "--data-dir", data, "--ledger", url, "--json"], { env, timeoutMs: 60_000 });
    let r = doctor();
    expect(r.code).toBe(0);
    let f = JSON.parse(r.stdout).findings as { check: string; status: string; detail: string }[];
    expect(f.find((x) => x.check === "ledger schema")?.status).toBe("ok");
    const shares = await ledger.count();
    expect(f.filter((x) => x.check === "pool ledger")).toEqual([{ check: "pool ledger", status: "ok", detail: `${shares} shares, ${blocks.length} pool blocks, amounts consistent` }]);
    // A plan that no longer pays its total (a damaged row) is a FAIL naming the block, and exit 1.
    await ledger.sql.unsafe("UPDATE pool_blocks SET plan = replace(plan, '\"total\":\"', '\"total\":\"1') WHERE height = $1", [blocks[0]!.height]);
    r = doctor();
    expect(r.code).toBe(1);
    f = JSON.parse(r.stdout).findings;
    expect(f.find((x) => x.check === "pool ledger")?.detail).toContain(`the plan of pool block ${blocks[0]!.height} pays`);
    // Settings of rignode's own in the URL are refused when out of range (exit 2), before anything is read.
    expect(run([bin(), "doctor", "--data-dir", data, "--ledger", `${url}?connections=0`], { env }).code).toBe(2);
  }, 150_000);

  test("doctor: a PostgreSQL ledger that does not answer is a FAIL saying where, without the password", () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-doctor-pg-down-"));
    const dead = freePort();
    const r = run([bin(), "doctor", "--data-dir", data, "--ledger", `postgres://rignode:secret@127.0.0.1:${dead}/ledger`, "--json"], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const f = JSON.parse(r.stdout).findings as { check: string; status: string; detail: string }[];
    expect(f.find((x) => x.check === "ledger")).toMatchObject({ status: "fail" });
    expect(f.find((x) => x.check === "ledger")!.detail).toContain(`127.0.0.1:${dead}/ledger cannot be read`);
    expect(r.stdout).not.toContain("secret");
  }, 90_000);
});

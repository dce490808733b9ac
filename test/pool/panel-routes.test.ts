// What the panel reads from the pool: one page of the workers (filtered, sorted, paged), the stats without the
// worker list, the settings, block summaries and one block's full plan, and block figures that follow the ledger
// (a recorded or orphaned block shows at once: the report's caches are keyed by the ledger's blocksVersion).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, leToDisplayHex, MetricsRegistry, RignodeError } from "../../src/core";
import { createApp, poolRoutes } from "../../src/api";
import { workersPage } from "../../src/api/pool";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, type StoredPlan } from "../../src/pool";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";

type Row = Parameters<typeof workersPage>[0][number];

/** A worker row as PoolServer.workerList() gives it; only the figures a test names differ. */
function row(user: string, address: string, f: Partial<Row> = {}): Row {
  return {
    user, address, connected: true, hashrate_hs: 0, difficulty: 1, accepted: 0, accepted_difficulty: 0, stale: 0, rejected: {},
    last_share: null, connected_since: 1_000, score: 0, quality: 0, speed: 0, availability: 0, participation: 0, ...f,
  };
}

const rows = (): Row[] => [
  row("AddrOne.rigA", "AddrOne", { hashrate_hs: 300, difficulty: 4, accepted: 10, rejected: { stale: 1, duplicate: 4 }, stale: 1, score: 0.9, last_share: 5_000, connected_since: 100 }),
  row("AddrOne.rigB", "AddrOne", { hashrate_hs: 100, difficulty: 2, accepted: 30, rejected: { low_difficulty: 2 }, score: 0.5, last_share: null, connected_since: 300 }),
  row("bob.x", "XyZbob", { hashrate_hs: 200, difficulty: 8, accepted: 20, rejected: {}, stale: 3, score: 0.7, last_share: 7_000, connected: false, connected_since: null }),
  row("carol", "QQcarolAddr", { hashrate_hs: 100, difficulty: 1, accepted: 5, rejected: { job_not_found: 1, stale: 1, low_difficulty: 1 }, score: 0.1, last_share: 1_000, connected_since: 200 }),
];

const users = (p: { workers: Row[] }) => p.workers.map((w) => w.user);

/** The RignodeError workersPage throws for a query, or null. */
function refusal(query: Record<string, string>): RignodeError | null {
  try {
    workersPage(rows(), query);
    return null;
  } catch (e) {
    if (e instanceof RignodeError) return e;
    throw e;
  }
}

describe("workersPage", () => {
  test("q matches a substring of the address, case-insensitive; total and connected count every worker, matched the filtered", () => {
    const p = workersPage(rows(), { q: "addrone" });
    expect(users(p).sort()).toEqual(["AddrOne.rigA", "AddrOne.rigB"]);
    expect(p).toMatchObject({ total: 4, connected: 3, matched: 2 });
    // The address only (the user name "carol" does not hold "CAROLADDR"): matched through the address.
    expect(users(workersPage(rows(), { q: "CAROLADDR" }))).toEqual(["carol"]);
    expect(users(workersPage(rows(), { q: "xyz" }))).toEqual(["bob.x"]); // only in bob's address
  });

  test("q matches a substring of the user name, case-insensitive", () => {
    expect(users(workersPage(rows(), { q: "RIGB" }))).toEqual(["AddrOne.rigB"]);
    expect(users(workersPage(rows(), { q: "Bob.X" }))).toEqual(["bob.x"]);
    const none = workersPage(rows(), { q: "nobody" });
    expect(none).toMatchObject({ total: 4, connected: 3, matched: 0, workers: [] });
  });

  test("defaults: hashrate descending, offset 0, limit 50, ties by user name", () => {
    const p = workersPage(rows(), {});
    expect(p).toMatchObject({ offset: 0, limit: 50, sort: "hashrate_hs", dir: "desc", matched: 4 });
    // AddrOne.rigB and carol tie at 100 H/s: by name ("A" < "c") in either direction.
    expect(users(p)).toEqual(["AddrOne.rigA", "bob.x", "AddrOne.rigB", "carol"]);
    expect(users(workersPage(rows(), { dir: "asc" }))).toEqual(["AddrOne.rigB", "carol", "bob.x", "AddrOne.rigA"]);
  });

  test("each numeric sort orders both directions", () => {
    const order = (sort: string, dir: string) => users(workersPage(rows(), { sort, dir }));
    expect(order("difficulty", "asc")).toEqual(["carol", "AddrOne.rigB", "AddrOne.rigA", "bob.x"]);
    expect(order("difficulty", "desc")).toEqual(["bob.x", "AddrOne.rigA", "AddrOne.rigB", "carol"]);
    expect(order("accepted", "desc")).toEqual(["AddrOne.rigB", "bob.x", "AddrOne.rigA", "carol"]);
    expect(order("accepted", "asc")).toEqual(["carol", "AddrOne.rigA", "bob.x", "AddrOne.rigB"]);
    expect(order("stale", "desc")).toEqual(["bob.x", "AddrOne.rigA", "AddrOne.rigB", "carol"]); // 0 ties by name
    expect(order("score", "asc")).toEqual(["carol", "AddrOne.rigB", "bob.x", "AddrOne.rigA"]);
    expect(order("user", "asc")).toEqual(["AddrOne.rigA", "AddrOne.rigB", "bob.x", "carol"]);
    expect(order("user", "desc")).toEqual(["carol", "bob.x", "AddrOne.rigB", "AddrOne.rigA"]);
  });

  test("rejected_total sorts by the sum of the rejected map", () => {
    // Sums: rigA 5, rigB 2, bob 0, carol 3.
    expect(users(workersPage(rows(), { sort: "rejected_total", dir: "desc" }))).toEqual(["AddrOne.rigA", "carol", "AddrOne.rigB", "bob.x"]);
    expect(users(workersPage(rows(), { sort: "rejected_total", dir: "asc" }))).toEqual(["bob.x", "AddrOne.rigB", "carol", "AddrOne.rigA"]);
  });

  test("a null last_share or connected_since sorts below every number: last in desc, first in asc", () => {
    expect(users(workersPage(rows(), { sort: "last_share", dir: "desc" }))).toEqual(["bob.x", "AddrOne.rigA", "carol", "AddrOne.rigB"]);
    expect(users(workersPage(rows(), { sort: "last_share", dir: "asc" }))).toEqual(["AddrOne.rigB", "carol", "AddrOne.rigA", "bob.x"]);
    expect(users(workersPage(rows(), { sort: "connected_since", dir: "desc" }))).toEqual(["AddrOne.rigB", "carol", "AddrOne.rigA", "bob.x"]);
    // Two nulls tie and fall back to the name.
    const two = [row("zed", "a", { last_share: null }), row("amy", "b", { last_share: null }), row("mid", "c", { last_share: 0 })];
    expect(users(workersPage(two, { sort: "last_share", dir: "desc" }))).toEqual(["mid", "amy", "zed"]);
  });

  test("ties are ordered by user name ascending in both directions", () => {
    const same = ["delta", "alpha", "charlie", "bravo"].map((u) => row(u, "A", { hashrate_hs: 42 }));
    expect(users(workersPage(same, { dir: "desc" }))).toEqual(["alpha", "bravo", "charlie", "delta"]);
    expect(users(workersPage(same, { dir: "asc" }))).toEqual(["alpha", "bravo", "charlie", "delta"]);
  });

  test("offset and limit page the sorted, filtered list; an offset past the end gives [] with matched intact", () => {
    const p = workersPage(rows(), { sort: "user", dir: "asc", offset: "1", limit: "2" });
    expect(p).toMatchObject({ offset: 1, limit: 2, matched: 4 });
    expect(users(p)).toEqual(["AddrOne.rigB", "bob.x"]);
    const past = workersPage(rows(), { q: "addrone", offset: "10" });
    expect(past).toMatchObject({ total: 4, connected: 3, matched: 2, offset: 10, workers: [] });
  });

  test("limit 1000 is accepted; 1001 and 0 are refused with a message naming the allowed values", () => {
    const many = Array.from({ length: 1200 }, (_, i) => row(`w${String(i).padStart(4, "0")}`, "A", { hashrate_hs: i }));
    const p = workersPage(many, { limit: "1000" });
    expect(p.limit).toBe(1000);
    expect(p.workers).toHaveLength(1000);
    expect(p.workers[0]!.user).toBe("w1199");
    for (const limit of ["1001", "0"]) {
      const e = refusal({ limit });
      expect(e?.code).toBe("input");
      expect(e?.message).toContain("limit");
      expect(e?.message).toContain("1-1000");
    }
    expect(refusal({ limit: "ten" })?.code).toBe("input");
    expect(refusal({ offset: "-1" })?.code).toBe("input");
  });

  test("an unknown sort or dir is refused, naming the sorts allowed", () => {
    const e = refusal({ sort: "password" });
    expect(e?.code).toBe("input");
    expect(e?.message).toContain("sort");
    expect(e?.message).toContain("user|hashrate_hs|difficulty|accepted|rejected_total|stale|score|last_share|connected_since");
    const d = refusal({ dir: "up" });
    expect(d?.code).toBe("input");
    expect(d?.message).toContain("asc|desc");
  });
});

// --- the routes, on a real PoolServer over a devnet chain and a ledger in SQLite (not started: no timers) ---

const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const log = createLogger({ json: true, level: "error" });
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

function setup() {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-panel-routes-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
  const ledger = new Ledger(store);
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger, log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 150,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS }, jobRefreshSeconds: 30, instanceId: 3,
  });
  stops.push(() => server.stop());
  const app = createApp({
    token: null,
    metrics: new MetricsRegistry(),
    log,
    health: () => ({ ok: true }),
    info: () => ({}),
    groups: [(a) => poolRoutes(a, { server, http: new HttpWorkers(server), mode: () => ({ mode: "host" }), setMode: async () => {}, start: () => {}, stop: () => {} })],
  });
  const get = async (path: string) => {
    const r = await app.request(path);
    return { status: r.status, body: (await r.json()) as any };
  };
  return { server, ledger, app, get };
}

const payees = [generateKeyPair().publicKey, generateKeyPair().publicKey, generateKeyPair().publicKey];
const hexOf = (k: Uint8Array) => Buffer.from(k).toString("hex");
const shown = (k: Uint8Array) => encodeAddress(k, params.addressVersion);

/** A plan paying `amounts` to the payees in turn, with weights and a carry for the first. */
function plan(amounts: string[]): StoredPlan {
  return {
    scheme: "pplns", total: "1000", foundation: "10", poolFee: "15", poolFeeBps: 150,
    outputs: amounts.map((amount, i) => ({ to: hexOf(payees[i]!), amount })),
    weights: Object.fromEntries(amounts.map((_, i) => [hexOf(payees[i]!), String(i + 1)])),
    carried: { [hexOf(payees[2]!)]: "3" },
    lastShare: 0,
  };
}

/** A block hash (digest byte order) whose bytes differ end to end, so a reversed lookup would miss. */
const blockHash = (tag: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + tag) & 0xff);

describe("pool panel routes", () => {
  test("GET /pool/stats?workers=none has no workers key; plain /pool/stats lists them", async () => {
    const { server, get } = setup();
    server.report.workerJoined(`${shown(payees[0]!)}.rig`, payees[0]!, Date.now(), Date.now());
    const lean = await get("/pool/stats?workers=none");
    expect(lean.status).toBe(200);
    expect("workers" in lean.body).toBe(false);
    expect(lean.body).toMatchObject({ mode: "host", workers_connected: 1, blocks_found: 0, payouts: [] });
    const full = await get("/pool/stats");
    expect(full.body.workers.map((w: Row) => w.user)).toEqual([`${shown(payees[0]!)}.rig`]);
  });

  test("GET /pool/workers pages the pool's own worker list; a bad query is a 400 naming the allowed values", async () => {
    const { server, get } = setup();
    const now = Date.now();
    for (const [i, name] of ["b", "a", "c"].entries()) server.report.workerJoined(`${shown(payees[i]!)}.${name}`, payees[i]!, now, now);
    const p = await get(`/pool/workers?sort=user&dir=asc&limit=2&q=${shown(payees[1]!).toLowerCase()}`);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ total: 3, connected: 3, matched: 1, limit: 2, sort: "user", dir: "asc" });
    expect(p.body.workers.map((w: Row) => w.user)).toEqual([`${shown(payees[1]!)}.a`]);
    expect(p.body.workers[0].address).toBe(shown(payees[1]!));
    const bad = await get("/pool/workers?limit=1001");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("input");
    expect(bad.body.message).toContain("1-1000");
    expect((await get("/pool/workers?sort=nope")).status).toBe(400);
  });

  test("GET /pool/settings shows the pool's settings", async () => {
    const { get } = setup();
    const s = await get("/pool/settings");
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({
      pool_fee_percent: 1.5, foundation_percent: 1, scheme: "pplns", pplns_window: "auto", share_interval_s: DEFAULT_VARDIFF.targetSeconds,
      max_conns_per_ip: DEFAULT_LIMITS.maxPerIp, ban_seconds: DEFAULT_LIMITS.banSeconds,
    });
  });

  test("GET /pool/blocks?summary=1 leaves out outputs, weights and carried and gives outputs_count", async () => {
    const { ledger, get } = setup();
    ledger.recordBlock({ hash: blockHash(1), height: 5, plan: plan(["600", "300"]) });
    const full = await get("/pool/blocks");
    expect(full.body.blocks[0].outputs).toHaveLength(2);
    const sum = await get("/pool/blocks?summary=1");
    expect(sum.status).toBe(200);
    expect(sum.body.blocks).toHaveLength(1);
    const b = sum.body.blocks[0];
    expect("outputs" in b || "weights" in b || "carried" in b).toBe(false);
    expect(b).toMatchObject({ hash: leToDisplayHex(blockHash(1)), height: 5, status: "main", outputs_count: 2, total: "1000", pool_fee: "15", basis: "shares" });
  });

  test("GET /pool/blocks/:hash gives one block's full plan by display hex; unknown 404, malformed 400", async () => {
    const { ledger, get } = setup();
    ledger.recordBlock({ hash: blockHash(1), height: 5, plan: plan(["600", "300"]) });
    ledger.recordBlock({ hash: blockHash(2), height: 6, plan: plan(["900"]) });
    const display = leToDisplayHex(blockHash(1));
    const one = await get(`/pool/blocks/${display}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ hash: display, height: 5, status: "main", total: "1000" });
    expect(one.body.outputs).toEqual([{ address: shown(payees[0]!), amount: "600" }, { address: shown(payees[1]!), amount: "300" }]);
    expect(one.body.weights).toEqual({ [shown(payees[0]!)]: "1", [shown(payees[1]!)]: "2" });
    expect(one.body.carried).toEqual({ [shown(payees[2]!)]: "3" });
    // The digest-order hex is not the display hex: not found.
    const lost = await get(`/pool/blocks/${hexOf(blockHash(1))}`);
    expect(lost.status).toBe(404);
    expect(lost.body.error).toBe("not_found");
    expect((await get(`/pool/blocks/${"ee".repeat(32)}`)).status).toBe(404);
    for (const bad of ["xyz", "ab".repeat(31), "zz".repeat(32)]) {
      const r = await get(`/pool/blocks/${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("input");
    }
  });

  test("a newly recorded block shows at once in blocks_found, payouts and /pool/blocks (no stale cache)", async () => {
    const { ledger, get } = setup();
    // Read first, so both caches hold the empty figures.
    expect((await get("/pool/stats?workers=none")).body).toMatchObject({ blocks_found: 0, payouts: [] });
    expect((await get("/pool/blocks")).body.blocks).toEqual([]);
    ledger.recordBlock({ hash: blockHash(1), height: 5, plan: plan(["600", "300"]) });
    const s1 = (await get("/pool/stats?workers=none")).body;
    expect(s1.blocks_found).toBe(1);
    expect(s1.payouts).toContainEqual({ address: shown(payees[0]!), amount: "600" });
    expect((await get("/pool/blocks")).body.blocks.map((b: any) => b.height)).toEqual([5]);
    ledger.recordBlock({ hash: blockHash(2), height: 6, plan: plan(["400"]) });
    const s2 = (await get("/pool/stats")).body;
    expect(s2.blocks_found).toBe(2);
    expect(s2.payouts).toContainEqual({ address: shown(payees[0]!), amount: "1000" });
    expect((await get("/pool/blocks?summary=1")).body.blocks.map((b: any) => b.height).sort()).toEqual([5, 6]);
  });

  test("a block reconcile orphans shows as orphaned and leaves blocks_found and payouts; back on the main chain it counts again", async () => {
    const { ledger, get } = setup();
    ledger.recordBlock({ hash: blockHash(1), height: 5, plan: plan(["600"]) });
    ledger.recordBlock({ hash: blockHash(2), height: 6, plan: plan(["400", "50"]) });
    const before = (await get("/pool/stats?workers=none")).body;
    expect(before.blocks_found).toBe(2);
    expect((await get("/pool/blocks?summary=1")).body.blocks.every((b: any) => b.status === "main")).toBe(true);
    const two = leToDisplayHex(blockHash(2));
    expect(ledger.reconcile((_h, height) => height !== 6)).toBe(1);
    const after = (await get("/pool/stats?workers=none")).body;
    expect(after.blocks_found).toBe(1);
    expect(after.payouts).toEqual([{ address: shown(payees[0]!), amount: "600" }]);
    const listed = (await get("/pool/blocks?summary=1")).body.blocks;
    expect(listed.find((b: any) => b.hash === two).status).toBe("orphaned");
    expect(listed.find((b: any) => b.height === 5).status).toBe("main");
    expect((await get(`/pool/blocks/${two}`)).body.status).toBe("orphaned");
    expect(ledger.reconcile(() => true)).toBe(1);
    expect((await get("/pool/stats?workers=none")).body.blocks_found).toBe(2);
    expect((await get("/pool/blocks")).body.blocks.find((b: any) => b.hash === two).status).toBe("main");
  });
});

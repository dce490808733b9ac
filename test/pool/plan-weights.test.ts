// Plans in near-linear time: a 10,000-payee plan is built right; the ledger's running PPLNS/PROP sums equal a scan of
// the shares table through shares, window changes, found blocks, reorganisations and a restart; and the pool's jobs
// for 10,000 payees carry exactly the plan the table gives.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, toHex } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, planPayout, PoolServer, shareWeight, type PayoutInput, type StoredPlan } from "../../src/pool";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";
import { prng } from "../helpers";

const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));
const sorted = (m: Map<string, bigint>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const hexOf = (n: number) => n.toString(16).padStart(64, "0");

describe("a 10,000-payee plan", () => {
  // Distinct weights 1,000..10,999 (address i has weight 1000 + i): amounts rise with the address number.
  const N = 10_000;
  const weights = new Map(Array.from({ length: N }, (_, i) => [hexOf(i), BigInt(1000 + i)] as const));
  const W = [...weights.values()].reduce((s, w) => s + w, 0n);
  const base: PayoutInput = { total: 50_000_000_000n, foundation: "f".repeat(64), pool: "e".repeat(64), poolFeeBps: 100, weights, carried: new Map(), minOutput: 0n, maxOutputs: N + 2 };
  const foundation = 500_000_000n;
  const part = 50_000_000_000n - foundation - 500_000_000n;

  test("room for all: every payee paid exactly its share by weight, remainders to the foundation", () => {
    const p = planPayout(base);
    expect(p.outputs).toHaveLength(N + 2);
    expect(p.outputs.reduce((s, o) => s + o.amount, 0n)).toBe(base.total);
    let paid = 0n;
    for (const [a, w] of weights) {
      const o = p.outputs.find((x) => x.to === a) ?? null; // O(n^2) in the test only, to check independently
      expect(o?.amount).toBe((part * w) / W);
      paid += (part * w) / W;
    }
    expect(p.foundation).toBe(foundation + part - paid);
    expect(p.carried.size).toBe(0);
    // Stable order: foundation, pool, then payees by address.
    expect(p.outputs.slice(2).map((o) => o.to)).toEqual([...weights.keys()]);
  });

  test("a minimum output: the smallest are carried, as few as needed, and everyone paid reaches it", () => {
    const minOutput = 4_500_000n;
    const p = planPayout({ ...base, minOutput });
    const paid = p.outputs.slice(2);
    // The paid ones are the largest weights (a suffix), re-split among themselves.
    const k = N - paid.length;
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(N);
    expect(paid.map((o) => o.to)).toEqual([...weights.keys()].slice(k));
    const Wk = [...weights.values()].slice(k).reduce((s, w) => s + w, 0n);
    paid.forEach((o, j) => expect(o.amount).toBe((part * BigInt(1000 + k + j)) / Wk));
    expect(paid[0]!.amount >= minOutput).toBe(true);
    // One more payee in (the largest carried one) would be below the minimum: no fewer could have been carried.
    expect((part * BigInt(1000 + k - 1)) / (Wk + BigInt(1000 + k - 1)) < minOutput).toBe(true);
    // The carried ones keep what this block would have given them with everyone in.
    expect(p.carried.size).toBe(k);
    for (let i = 0; i < k; i++) expect(p.carried.get(hexOf(i))).toBe((part * BigInt(1000 + i)) / W);
    expect(p.outputs.reduce((s, o) => s + o.amount, 0n)).toBe(base.total);
  });

  test("an output cap of 1,000: the 998 largest paid, the other 9,002 carried", () => {
    const p = planPayout({ ...base, maxOutputs: 1000 });
    expect(p.outputs).toHaveLength(1000);
    expect(p.outputs.slice(2).map((o) => o.to)).toEqual([...weights.keys()].slice(N - 998));
    expect(p.carried.size).toBe(N - 998);
    expect(p.outputs.reduce((s, o) => s + o.amount, 0n)).toBe(base.total);
  });
});

describe("running weights in the ledger", () => {
  /** PROP read straight from the table: every share after the newest main-chain pool block's last share. */
  function propScan(store: Store, upTo: number): Map<string, bigint> {
    const from = store.db.query<{ n: number | null }, []>("SELECT max(last_share) AS n FROM pool_blocks WHERE status = 'main'").get()?.n ?? 0;
    const out = new Map<string, bigint>();
    for (const r of store.db.query<{ address: Uint8Array; weight: string }, [number, number]>("SELECT address, weight FROM shares WHERE id > ? AND id <= ?").all(from, upTo)) {
      const k = Buffer.from(r.address).toString("hex");
      out.set(k, (out.get(k) ?? 0n) + BigInt(r.weight));
    }
    return out;
  }

  test("equal to a scan of the tables (and the carry too) through 300 seeded steps: shares, duplicates, window changes, found blocks, reorganisations, a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-weights-"));
    const store = Store.open(dir);
    let ledger = new Ledger(store);
    const rnd = prng(1303);
    const addrs = Array.from({ length: 40 }, (_, i) => new Uint8Array(32).fill(i + 1));
    const diffs = [1, 0.25, 3, 1e-10, 100, 7.5]; // 1e-10: a share of weight 0
    const windows = [0, 1, 5, 20, 80, 500, 3000].map(shareWeight);
    let hashes = 0;
    let blocks = 0;
    const plan = (lastShare: number): StoredPlan => ({
      scheme: "prop", total: "0", foundation: "0", poolFee: "0", poolFeeBps: 0, outputs: [], weights: {}, lastShare,
      carried: Object.fromEntries(addrs.filter(() => rnd() < 0.3).map((a) => [toHex(a), String(Math.floor(rnd() * 1e6))])),
    });
    for (let step = 0; step < 300; step++) {
      const r = rnd();
      if (r < 0.6) {
        const n = 1 + Math.floor(rnd() * 30);
        const dup = rnd() < 0.2 ? `h${Math.max(hashes - 1, 0)}` : null; // a share already counted: refused
        const all = Array.from({ length: n }, (_, k) => ({
          worker: "w", address: addrs[Math.floor(rnd() * addrs.length)]!, job: "1", difficulty: diffs[Math.floor(rnd() * diffs.length)]!, hash: dup && k === 0 ? dup : `h${hashes++}`,
        }));
        await Promise.allSettled(all.map((s) => ledger.record(s)));
      } else if (r < 0.75) {
        // A block found: its plan counted up to a share at or a little before the newest.
        ledger.recordBlock({ hash: new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? blocks & 0xff : i === 1 ? blocks >> 8 : 7)), height: ++blocks, plan: plan(Math.max(ledger.lastShareId() - Math.floor(rnd() * 5), 0)) });
      } else if (r < 0.85) {
        // A reorganisation takes the newest block off the main chain, or brings every block back.
        const newest = blocks;
        ledger.reconcile(rnd() < 0.5 ? (_h, height) => height !== newest : () => true);
      } else if (r < 0.9) {
        ledger = new Ledger(store); // a restart: the sums are read from the table once
      }
      const last = ledger.lastShareId();
      for (const w of [windows[Math.floor(rnd() * windows.length)]!, windows[Math.floor(rnd() * windows.length)]!]) {
        const got = ledger.weights(w);
        expect(got.lastShare).toBe(last);
        expect({ step, w, weights: sorted(got.weights) }).toEqual({ step, w, weights: sorted(ledger.pplnsWeights(w, last)) });
      }
      const carry = store.db.query<{ address: Uint8Array; amount: string }, []>("SELECT address, amount FROM pool_carry").all();
      expect({ step, carried: sorted(ledger.carried()) }).toEqual({ step, carried: sorted(new Map(carry.map((c) => [toHex(c.address), BigInt(c.amount)]))) });
      const prop = ledger.weights(null);
      expect({ step, prop: sorted(prop.weights) }).toEqual({ step, prop: sorted(propScan(store, last)) });
    }
    expect(hashes).toBeGreaterThan(800);
    expect(blocks).toBeGreaterThan(15);
  });
});

describe("the pool's jobs for 10,000 payees", () => {
  test("each job's coinbase outputs are the plan from the table's weights; a new share moves the window", async () => {
    const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
    const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-plan-srv-")));
    const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
    const ledger = new Ledger(store);
    const source = new ChainSource(chain);
    const seen: { total: bigint; outputs: { to: string; amount: bigint }[] }[] = [];
    const work = source.work.bind(source);
    Object.defineProperty(source, "work", {
      value: (plan: Parameters<typeof work>[0], tag: string) =>
        work((total, bits) => {
          const outputs = plan(total, bits);
          seen.push({ total, outputs: outputs.map((o) => ({ to: toHex(o.to), amount: o.amount })) });
          return outputs;
        }, tag),
    });
    // 10,000 payees, one share each (difficulty 1), then 2,000 more shares among all but the first (0.75 each).
    const rnd = prng(1304);
    const addrs = Array.from({ length: 10_000 }, (_, i) => Uint8Array.from(Buffer.from(hexOf(i + 1), "hex")));
    await Promise.all(addrs.map((address, i) => ledger.record({ worker: "w", address, job: "0", difficulty: 1, hash: `s${i}` })));
    await Promise.all(Array.from({ length: 2000 }, (_, i) => ledger.record({ worker: "w", address: addrs[1 + Math.floor(rnd() * (addrs.length - 1))]!, job: "0", difficulty: 0.75, hash: `t${i}` })));
    const poolAddress = generateKeyPair().publicKey;
    // The window ends half-way into the oldest share.
    const window = 11_499.5;
    const server = new PoolServer({
      source, powHash: (h) => kernel.hash("sha256d", h), ledger, log: createLogger({ json: true, level: "error" }), poolAddress, poolFeeBps: 100,
      scheme: "pplns", pplnsWindow: window, vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 3600, instanceId: 5,
    });
    stops.push(() => server.stop());
    const expected = (total: bigint) => {
      const weights = ledger.pplnsWeights(shareWeight(window), ledger.lastShareId());
      const plan = planPayout({ total, foundation: source.foundation, pool: toHex(poolAddress), poolFeeBps: 100, weights, carried: ledger.carried(), minOutput: source.minOutput, maxOutputs: source.maxOutputs });
      return { weights, outputs: plan.outputs };
    };

    server.start();
    expect(seen).toHaveLength(1);
    const first = expected(seen[0]!.total);
    expect(first.weights.size).toBe(10_000);
    expect(first.weights.get(hexOf(1))).toBe(shareWeight(1) / 2n);
    expect(seen[0]!.outputs).toEqual(first.outputs);
    expect(seen[0]!.outputs).toHaveLength(params.maxCoinbaseOutputs);
    expect(seen[0]!.outputs.reduce((s, o) => s + o.amount, 0n)).toBe(seen[0]!.total);

    // A new payee's share: the oldest share leaves the window, the next one is cut in half.
    await ledger.record({ worker: "w", address: Uint8Array.from(Buffer.from(hexOf(20_000), "hex")), job: "0", difficulty: 1, hash: "new" });
    const seq = server.currentJob()!.seq;
    server.refresh(false);
    for (let t = 0; server.currentJob()!.seq === seq && t < 500; t++) await Bun.sleep(10);
    expect(seen).toHaveLength(2);
    const second = expected(seen[1]!.total);
    expect(second.weights.has(hexOf(1))).toBe(false);
    expect(second.weights.get(hexOf(20_000))).toBe(shareWeight(1));
    expect(seen[1]!.outputs).toEqual(second.outputs);
  }, 120_000);
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, shareWeight } from "../../src/pool";
import { Store } from "../../src/store";

const addr = (b: number) => new Uint8Array(32).fill(b);

describe("pool ledger", () => {
  test("shares handed in together are committed in one transaction before any promise resolves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-ledger-"));
    const ledger = new Ledger(Store.open(dir));
    // A second connection to the file: what it sees is what is durable (committed), not what one connection holds.
    const other = Store.open(dir);
    const visible = () => other.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
    const seen: number[] = [];
    const all = Array.from({ length: 500 }, (_, i) =>
      ledger.record({ worker: `w${i % 3}`, address: addr(i % 3), job: "1", difficulty: 1, hash: `h${i}` }).then(() => seen.push(visible())),
    );
    expect(seen).toEqual([]); // nothing acknowledged before the commit
    await Promise.all(all);
    expect(ledger.commits).toBe(1);
    // Each promise resolved only when all 500 shares were committed and visible to another connection.
    expect(seen.length).toBe(500);
    expect(new Set(seen)).toEqual(new Set([500]));
  });

  test("a duplicate hash is refused without losing the rest of its batch", async () => {
    const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-ledger-"))));
    const r = await Promise.allSettled([
      ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" }),
      ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" }),
      ledger.record({ worker: "b", address: addr(2), job: "1", difficulty: 1, hash: "other" }),
    ]);
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(ledger.count()).toBe(2);
  });

  test("PPLNS weights over the last N difficulty units, fractional difficulties exact", async () => {
    const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-ledger-"))));
    await ledger.record({ worker: "old", address: addr(9), job: "1", difficulty: 100, hash: "x0" });
    for (let i = 0; i < 8; i++) await ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 0.25, hash: `a${i}` });
    await ledger.record({ worker: "b", address: addr(2), job: "1", difficulty: 2, hash: "b0" });
    const w = ledger.pplnsWeights(shareWeight(5)); // b's 2, then a's 8 x 0.25 = 2, then 1 unit of old's 100
    expect(w.get(Buffer.from(addr(2)).toString("hex"))).toBe(shareWeight(2));
    expect(w.get(Buffer.from(addr(1)).toString("hex"))).toBe(shareWeight(2));
    expect(w.get(Buffer.from(addr(9)).toString("hex"))).toBe(shareWeight(1));
  });

  test("a reorganised pool block is orphaned and the carry goes back to the newest block still on the main chain", async () => {
    const ledger = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-ledger-"))));
    const plan = (carried: Record<string, string>, lastShare: number) => ({
      scheme: "prop" as const, total: "100", foundation: "1", poolFee: "0", poolFeeBps: 0, outputs: [], weights: {}, carried, lastShare,
    });
    const k = Buffer.from(addr(5)).toString("hex");
    for (let i = 0; i < 3; i++) await ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: `s${i}` });
    ledger.recordBlock({ hash: addr(0xa), height: 10, plan: plan({ [k]: "5" }, 2) });
    ledger.recordBlock({ hash: addr(0xb), height: 11, plan: plan({ [k]: "7" }, 3) });
    expect(ledger.carried().get(k)).toBe(7n);
    expect(ledger.weights(null).weights.size).toBe(0); // the round closed at share 3
    // Block B leaves the main chain: orphaned, the carry and the PROP round are A's again.
    const isB = (h: Uint8Array) => h[0] === 0xb;
    expect(ledger.reconcile((h) => !isB(h))).toBe(1);
    expect(ledger.blocks().map((b) => b.status)).toEqual(["orphaned", "main"]);
    expect(ledger.carried().get(k)).toBe(5n);
    expect(ledger.weights(null).weights.get(Buffer.from(addr(1)).toString("hex"))).toBe(shareWeight(1));
    expect(ledger.reconcile((h) => !isB(h))).toBe(0); // nothing more to do
    // And back: B is main again, its carry with it.
    expect(ledger.reconcile(() => true)).toBe(1);
    expect(ledger.carried().get(k)).toBe(7n);
  });
});

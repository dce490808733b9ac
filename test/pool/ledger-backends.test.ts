// The same ledger cases against both backends: SQLite in the node's store and a real PostgreSQL 15 cluster
// (throwaway, on loopback). Group commit, duplicates, blocks with their carry, reorganisations, bans, and a property
// test: random share streams with found blocks give the same PPLNS and PROP weights, and the same plans, from both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, LEDGER_MIGRATIONS, planPayout, PostgresLedger, pplnsOf, propOf, shareWeight, SqliteLedger, type LedgerBackend, type StoredPlan } from "../../src/pool";
import { Store } from "../../src/store";
import { prng } from "../helpers";
import { POSTGRES_BIN, postgresServer, type PostgresServer } from "../integration/postgres-server";

const addr = (b: number) => new Uint8Array(32).fill(b);
const hexOf = (b: number) => Buffer.from(addr(b)).toString("hex");
const sorted = (m: Map<string, bigint>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const plan = (carried: Record<string, string>, lastShare: number): StoredPlan => ({
  scheme: "prop", total: "100", foundation: "1", poolFee: "0", poolFeeBps: 0, outputs: [], weights: {}, carried, lastShare,
});

let pg: PostgresServer | null = null;
let dbs = 0;
const opened: LedgerBackend[] = [];
beforeAll(async () => {
  if (!POSTGRES_BIN) return;
  pg = postgresServer();
  await pg.start();
}, 120_000);
afterAll(async () => {
  for (const b of opened) await b.close();
  await pg?.stop();
});

/** A fresh ledger on each backend, and a second handle on the same storage (what another connection sees). */
const BACKENDS: { name: string; open(): Promise<{ ledger: Ledger; other: LedgerBackend }> }[] = [
  {
    name: "sqlite",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "rignode-ledger-"));
      return { ledger: new Ledger(Store.open(dir)), other: new SqliteLedger(Store.open(dir).db) };
    },
  },
  {
    name: "postgres",
    async open() {
      const url = await pg!.createDb(`ledger_${++dbs}`);
      const b = new PostgresLedger(url);
      const other = new PostgresLedger(url, { max: 1 });
      opened.push(b, other);
      return { ledger: await Ledger.open(b), other };
    },
  },
];

for (const backend of BACKENDS) {
  describe.skipIf(backend.name === "postgres" && !POSTGRES_BIN)(`ledger on ${backend.name}`, () => {
    test("migrations run once: every ledger table exists, a second run applies nothing", async () => {
      const { ledger } = await backend.open();
      // Ledger.open / new Ledger ran them already.
      expect(await ledger.backend.migrate()).toBe(0);
      expect(LEDGER_MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3]);
      expect(await ledger.backend.count()).toBe(0);
      expect(await ledger.backend.bans(0)).toEqual([]);
      expect(await ledger.backend.blocks(10)).toEqual([]);
    });

    test("shares handed in together are one transaction, durable for another connection before any promise resolves", async () => {
      const { ledger, other } = await backend.open();
      const seen: Promise<number>[] = [];
      let early = 0;
      const all = Array.from({ length: 500 }, (_, i) =>
        ledger.record({ worker: `w${i % 3}`, address: addr(i % 3), job: "1", difficulty: 1, hash: `h${i}` }).then(() => void seen.push(Promise.resolve(other.count()))),
      );
      early = seen.length;
      await Promise.all(all);
      expect(early).toBe(0); // nothing acknowledged before the commit
      expect(ledger.commits).toBe(1);
      expect(new Set(await Promise.all(seen))).toEqual(new Set([500]));
    });

    test("a duplicate hash is refused without losing the rest of its batch", async () => {
      const { ledger } = await backend.open();
      const r = await Promise.allSettled([
        ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" }),
        ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" }),
        ledger.record({ worker: "b", address: addr(2), job: "1", difficulty: 1, hash: "other" }),
      ]);
      expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(await ledger.backend.count()).toBe(2);
    });

    test("shares from a later turn wait for the batch in flight and commit after it, in order", async () => {
      const { ledger } = await backend.open();
      const first = Array.from({ length: 50 }, (_, i) => ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: `a${i}` }));
      await new Promise((r) => setImmediate(r));
      const second = Array.from({ length: 50 }, (_, i) => ledger.record({ worker: "b", address: addr(2), job: "1", difficulty: 2, hash: `b${i}` }));
      await Promise.all([...first, ...second]);
      const rows = await ledger.backend.sharesBetween(0, Number.MAX_SAFE_INTEGER);
      expect(rows.map((r) => r.address)).toEqual([...Array(50).fill(hexOf(1)), ...Array(50).fill(hexOf(2))]);
    });

    test("found blocks keep their plan and carry; a reorganised block is orphaned and the carry goes back", async () => {
      const { ledger, other } = await backend.open();
      const k = hexOf(5);
      for (let i = 0; i < 3; i++) await ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: `s${i}` });
      await ledger.recordBlock({ hash: addr(0xa), height: 10, plan: plan({ [k]: "5" }, 2) });
      await ledger.recordBlock({ hash: addr(0xb), height: 11, plan: plan({ [k]: "7" }, 3) });
      await ledger.recordBlock({ hash: addr(0xb), height: 11, plan: plan({ [k]: "9" }, 3) }); // known: the block and carry stay
      expect(ledger.carried().get(k)).toBe(7n);
      expect((await other.block(addr(0xb)))!.plan.carried).toEqual({ [k]: "7" });
      expect(await other.roundStart()).toBe(3);
      expect(ledger.reconcile((h) => h[0] !== 0xb)).toBe(1);
      expect(ledger.blocks().map((b) => b.status)).toEqual(["orphaned", "main"]);
      expect(ledger.carried().get(k)).toBe(5n);
      await ledger.prepare(null); // settles what the reconcile wrote (asynchronous backend)
      expect((await other.blocks(10)).map((b) => b.status)).toEqual(["orphaned", "main"]);
      expect((await other.carry()).get(k)).toBe(5n);
      expect(await other.roundStart()).toBe(2);
      expect(ledger.reconcile(() => true)).toBe(1);
      await ledger.prepare(null);
      expect((await other.carry()).get(k)).toBe(7n);
    });

    test("a block recorded again after a later one (a shard's copy) leaves the later block's carry, here and in the database", async () => {
      const { ledger, other } = await backend.open();
      const k = hexOf(5);
      await ledger.recordBlock({ hash: addr(0xa), height: 10, plan: plan({ [k]: "5" }, 2) });
      await ledger.recordBlock({ hash: addr(0xb), height: 11, plan: plan({ [k]: "7" }, 3) });
      expect(await ledger.recordBlock({ hash: addr(0xa), height: 10, plan: plan({ [k]: "5" }, 2) })).toBeOneOf([false, undefined]);
      expect(ledger.carried().get(k)).toBe(7n);
      expect((await other.carry()).get(k)).toBe(7n);
      expect(await other.roundStart()).toBe(3);
      // Recorded first through another connection (this ledger has not seen it): the carry is still the database's.
      expect(await other.recordBlock({ hash: addr(0xc), height: 12, time: 1, plan: plan({ [k]: "9" }, 4) })).toBe(true);
      expect(await other.recordBlock({ hash: addr(0xb), height: 11, time: 1, plan: plan({ [k]: "7" }, 3) })).toBe(false);
      await ledger.recordBlock({ hash: addr(0xc), height: 12, plan: plan({ [k]: "9" }, 4) });
      expect(ledger.carried().get(k)).toBe(9n);
      expect((await other.carry()).get(k)).toBe(9n);
    });

    test("a found block's kept plan: recorded at the next start when its block is on the main chain, else dropped", async () => {
      const { ledger, other } = await backend.open();
      const k = hexOf(5);
      for (let i = 0; i < 4; i++) await ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: `c${i}` });
      // Kept before submitting, then the process died: no recordBlock.
      await ledger.backend.putCandidate({ hash: addr(0xc1), height: 7, time: 1, plan: plan({ [k]: "11" }, 3) });
      await ledger.backend.putCandidate({ hash: addr(0xc2), height: 8, time: 2, plan: plan({ [k]: "12" }, 4) });
      // Recorded normally: its candidate goes with the same transaction.
      await ledger.backend.putCandidate({ hash: addr(0xc3), height: 6, time: 0, plan: plan({}, 1) });
      await ledger.recordBlock({ hash: addr(0xc3), height: 6, plan: plan({}, 1) });
      expect((await other.candidates()).map((c) => c.height)).toEqual([7, 8]);
      const asked: number[] = [];
      const restarted = backend.name === "sqlite" ? ledger : await Ledger.open(other);
      expect(await restarted.recover((bs) => bs.map((b) => (asked.push(b.height), b.hash[0] === 0xc1)))).toBe(1);
      expect(asked).toEqual([7, 8]);
      expect(await other.candidates()).toEqual([]);
      expect((await other.blocks(10)).map((b) => b.height).sort()).toEqual([6, 7]);
      expect((await other.carry()).get(k)).toBe(11n);
      expect(await other.roundStart()).toBe(3);
    });

    test("bans are kept for every instance: in force until they expire, lifted per IP", async () => {
      const { ledger, other } = await backend.open();
      const now = Date.now();
      await ledger.backend.putBan({ subject: "10.0.0.1", ip: "10.0.0.1", worker: null, until: now + 60_000, reason: "invalid shares" });
      await ledger.backend.putBan({ subject: "10.0.0.1/w", ip: "10.0.0.1", worker: "w", until: now + 30_000, reason: "bad" });
      await ledger.backend.putBan({ subject: "10.0.0.2", ip: "10.0.0.2", worker: null, until: now - 1, reason: "old" });
      await ledger.backend.putBan({ subject: "10.0.0.1/w", ip: "10.0.0.1", worker: "w", until: now + 120_000, reason: "again" });
      const bans = await other.bans(now);
      expect(bans.map((b) => [b.subject, b.reason])).toEqual([["10.0.0.1", "invalid shares"], ["10.0.0.1/w", "again"]]);
      expect(bans[1]!.until).toBe(now + 120_000);
      expect(await other.liftBans("10.0.0.1")).toBe(2);
      expect(await ledger.backend.bans(now)).toEqual([]);
    });
  });
}

describe.skipIf(!POSTGRES_BIN)("bans read from a shared ledger", () => {
  test("an IP's bans lifted elsewhere are forgotten from what prepare() read (a sweep must not restore them)", async () => {
    const url = await pg!.createDb(`ledger_${++dbs}`);
    const [a, b] = [new PostgresLedger(url), new PostgresLedger(url, { max: 1 })];
    opened.push(a, b);
    const ledger = await Ledger.open(a);
    await b.putBan({ subject: "10.0.0.5", ip: "10.0.0.5", worker: null, until: Date.now() + 60_000, reason: "test" });
    await b.putBan({ subject: "10.0.0.6", ip: "10.0.0.6", worker: null, until: Date.now() + 60_000, reason: "test" });
    await ledger.prepare(null);
    expect(ledger.storedBans().map((x) => x.ip)).toEqual(["10.0.0.5", "10.0.0.6"]);
    await b.liftBans("10.0.0.5"); // another instance lifted it
    ledger.forgetBans("10.0.0.5");
    expect(ledger.storedBans().map((x) => x.ip)).toEqual(["10.0.0.6"]);
  });
});

describe.skipIf(!POSTGRES_BIN)("a PostgreSQL that stops answering", () => {
  test("shares in a commit past the deadline are refused, not acknowledged; the next batch goes on", async () => {
    const url = await pg!.createDb(`ledger_${++dbs}`);
    const backend = new PostgresLedger(url);
    opened.push(backend);
    const ledger = await Ledger.open(backend);
    ledger.commitTimeoutMs = 300;
    // Another session holds the lock every share transaction takes: the commit waits, as on a stalled server.
    const holder = new PostgresLedger(url, { max: 1 });
    opened.push(holder);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = holder.sql.begin(async (tx) => {
      await tx.unsafe("SELECT pg_advisory_xact_lock(7141852)");
      locked();
      await held;
    });
    await isLocked;
    const r = await Promise.allSettled([1, 2, 3].map((i) => ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: `stall${i}` })));
    expect(r.map((x) => x.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(String((r[0] as PromiseRejectedResult).reason)).toContain("did not commit within 300 ms");
    release();
    await holding;
    // Once the server answers: new shares commit (the stalled batch landed too, unacknowledged: never the reverse).
    ledger.commitTimeoutMs = 10_000;
    await ledger.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "after" });
    expect(await backend.count()).toBe(4);
  }, 30_000);
});

describe.skipIf(!POSTGRES_BIN)("several instances on one PostgreSQL ledger", () => {
  test("share ids are taken in commit order: a reader never sees a lower id commit after a higher one", async () => {
    const url = await pg!.createDb(`ledger_${++dbs}`);
    const writers = [new PostgresLedger(url), new PostgresLedger(url), new PostgresLedger(url)];
    const reader = new PostgresLedger(url, { max: 1 });
    opened.push(...writers, reader);
    await writers[0]!.migrate();
    const row = (w: number, i: number, k: number) => ({ time: 0, worker: `w${w}`, address: addr(w + 1), job: "1", difficulty: 1, weight: "1", hash: `${w}-${i}-${k}` });
    let writing = true;
    const write = writers.map(async (b, w) => {
      for (let i = 0; i < 40; i++) await b.insertShares(Array.from({ length: 1 + (i % 7) * 20 }, (_, k) => row(w, i, k)));
    });
    const seen: { upTo: number; ids: number }[] = [];
    const read = (async () => {
      while (writing) {
        const upTo = await reader.lastShareId();
        seen.push({ upTo, ids: (await reader.sharesBetween(0, upTo)).length });
      }
    })();
    await Promise.all(write);
    writing = false;
    await read;
    expect(seen.length).toBeGreaterThan(5);
    // What a plan counted up to a share is all there ever will be up to it.
    for (const s of seen) expect((await reader.sharesBetween(0, s.upTo)).length).toBe(s.ids);
  }, 60_000);
});

describe.skipIf(!POSTGRES_BIN)("both backends, one share stream", () => {
  test("random share streams with found blocks: PPLNS and PROP weights and plans are identical", async () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const [a, b] = await Promise.all(BACKENDS.map((x) => x.open()));
      const ledgers = [a!.ledger, b!.ledger];
      let n = 0;
      let height = 0;
      for (let round = 0; round < 12; round++) {
        // A turn's worth of shares (fractional difficulties, a few payees), the same on both.
        const batch = Array.from({ length: 1 + Math.floor(rnd() * 80) }, () => ({
          worker: `w${Math.floor(rnd() * 6)}`, address: addr(1 + Math.floor(rnd() * 6)), job: "1",
          difficulty: [0.25, 1, 3, 16.5, 1000][Math.floor(rnd() * 5)]!, hash: `s${seed}-${n++}`,
        }));
        await Promise.all(ledgers.flatMap((l) => batch.map((s) => l.record(s))));
        const last = await ledgers[0]!.backend.lastShareId();
        expect(await ledgers[1]!.backend.lastShareId()).toBe(last);
        if (rnd() < 0.3) {
          const p = plan({ [hexOf(1 + Math.floor(rnd() * 6))]: String(Math.floor(rnd() * 1000)) }, Math.max(0, last - Math.floor(rnd() * 5)));
          const hash = addr(0).map((_, i) => (i === 0 ? ++height : 9));
          for (const l of ledgers) await l.recordBlock({ hash, height, plan: p });
        }
        if (rnd() < 0.15) for (const l of ledgers) l.reconcile((_h, h) => h !== height);
        for (const window of [shareWeight(1), shareWeight(50), shareWeight(3000), null]) {
          // Twice at once: the kept sums of a shared ledger take each new share once.
          await Promise.all(ledgers.flatMap((l) => [l.prepare(window), l.prepare(window)]));
          const got = ledgers.map((l) => l.weights(window));
          // The read straight from each backend agrees with what each ledger holds.
          const read = await Promise.all(ledgers.map((l) => (window === null ? propOf(l.backend, last) : pplnsOf(l.backend, window, last))));
          expect(sorted(got[0]!.weights)).toEqual(sorted(got[1]!.weights));
          expect(sorted(read[0]!)).toEqual(sorted(got[0]!.weights));
          expect(sorted(read[1]!)).toEqual(sorted(got[1]!.weights));
          expect(got[0]!.lastShare).toBe(got[1]!.lastShare);
          const plans = ledgers.map((l, i) =>
            planPayout({ total: 5_000_000_000n, foundation: "f".repeat(64), pool: "e".repeat(64), poolFeeBps: 100, weights: got[i]!.weights, carried: l.carried(), minOutput: 1000n, maxOutputs: 5 }),
          );
          expect(plans[1]).toEqual(plans[0]!);
        }
      }
    }
  }, 120_000);
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, shareWeight } from "../../src/pool";
import { isDuplicate } from "../../src/pool/ledger-backend";
import { RemoteLedger, serveLedger, type LedgerAnswer, type LedgerCall } from "../../src/pool/ledger-remote";
import { Store } from "../../src/store";

const addr = (b: number) => new Uint8Array(32).fill(b);

/** A shard's Ledger on a RemoteLedger, served over a real MessageChannel by the main thread's Ledger. */
function pair(dir: string) {
  const main = new Ledger(Store.open(dir));
  const calls: LedgerCall[] = [];
  const ch = new MessageChannel();
  ch.port1.onmessage = async (e) => {
    calls.push(e.data as LedgerCall);
    ch.port1.postMessage(await serveLedger(main, e.data as LedgerCall));
  };
  const remote = new RemoteLedger("sqlite", (m) => ch.port2.postMessage(m));
  ch.port2.onmessage = (e) => remote.answer(e.data as LedgerAnswer);
  const close = () => (ch.port1.close(), ch.port2.close());
  return { main, remote, calls, close };
}

describe("remote ledger (a stratum shard's)", () => {
  test("a shard's batch is one transaction on the main thread, durable before any acknowledgement", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-ledger-remote-"));
    const { main, remote, calls, close } = pair(dir);
    const shard = await Ledger.open(remote);
    // What another connection to the file sees is what is committed.
    const other = Store.open(dir);
    const visible = () => other.db.query<{ n: number }, []>("SELECT count(*) AS n FROM shares").get()!.n;
    const seen: number[] = [];
    const all = Array.from({ length: 300 }, (_, i) =>
      shard.record({ worker: `w${i % 3}`, address: addr(1 + (i % 3)), job: "1", difficulty: 2, hash: `h${i}` }).then(() => seen.push(visible())),
    );
    await Promise.all(all);
    const inserts = calls.filter((c) => c.op === "insertShares");
    expect(inserts.length).toBe(1);
    expect((inserts[0]!.args[0] as unknown[]).length).toBe(300);
    expect(new Set(seen)).toEqual(new Set([300]));
    // The main thread's running sums count the shard's shares: the leader's next plan pays them.
    const w = main.weights(shareWeight(10_000)).weights;
    expect(w.get(Buffer.from(addr(1)).toString("hex"))).toBe(shareWeight(2) * 100n);
    expect(main.lastShareId()).toBe(300);
    close();
  });

  test("batches of several shards that reach the main thread in one pass are one commit; each shard gets its own rows' answers", async () => {
    const main = new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-ledger-remote-"))));
    await main.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "dup" });
    const commits: number[] = [];
    const insert = main.backend.insertShares.bind(main.backend);
    main.backend.insertShares = (rows) => (commits.push(rows.length), insert(rows));
    const row = (hash: string, b: number) => ({ worker: `w${b}`, address: addr(b), job: "1", difficulty: 2, weight: shareWeight(2).toString(), hash, time: 1 });
    const call = (id: number, rows: unknown[]): LedgerCall => ({ t: "ledger", id, op: "insertShares", args: [rows] });
    const [a, b] = await Promise.all([
      serveLedger(main, call(1, [row("a1", 2), row("a2", 2)])),
      serveLedger(main, call(2, [row("dup", 3), row("b1", 3), row("b2", 3)])),
    ]);
    expect(commits).toEqual([5]);
    expect(a).toMatchObject({ id: 1, ok: true, value: [2, 3] });
    expect(b.ok).toBe(true);
    const bv = b.value as unknown[];
    expect(bv.length).toBe(3);
    expect(bv[0]).toMatchObject({ error: {} }); // the duplicate, refused alone, in its own shard's answer
    expect(bv.slice(1)).toEqual([4, 5]);
    expect(main.count()).toBe(5);
  });

  test("a refused row comes back as its own error; the rest of the batch is written", async () => {
    const { main, remote, close } = pair(mkdtempSync(join(tmpdir(), "rignode-ledger-remote-")));
    const shard = await Ledger.open(remote);
    await shard.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" });
    const r = await Promise.allSettled([
      shard.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "same" }),
      shard.record({ worker: "b", address: addr(2), job: "1", difficulty: 1, hash: "other" }),
    ]);
    expect(r.map((x) => x.status)).toEqual(["rejected", "fulfilled"]);
    expect(isDuplicate((r[0] as PromiseRejectedResult).reason)).toBe(true);
    expect(main.count()).toBe(2);
    close();
  });

  test("a failing backend's error is carried back and nothing is acknowledged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-ledger-remote-"));
    const { main, remote, close } = pair(dir);
    const shard = await Ledger.open(remote);
    main.backend.insertShares = () => {
      throw new Error("disk I/O error");
    };
    const r = await Promise.allSettled([shard.record({ worker: "a", address: addr(1), job: "1", difficulty: 1, hash: "x" })]);
    expect(r[0]!.status).toBe("rejected");
    expect(((r[0] as PromiseRejectedResult).reason as Error).message).toBe("disk I/O error");
    // An unknown call is refused with its name, not run.
    const bad = await serveLedger(main, { t: "ledger", id: 7, op: "dropTable" as never, args: [] });
    expect(bad).toEqual({ t: "ledger-answer", id: 7, ok: false, error: { message: "unknown ledger call dropTable" } });
    close();
  });

  test("calls waiting when the main thread goes away fail with the reason", async () => {
    const remote = new RemoteLedger("sqlite", () => {});
    const p = remote.count();
    remote.fail("the shard is stopping");
    await expect(p).rejects.toThrow("the shard is stopping");
    await expect(remote.lastShareId()).rejects.toThrow("the shard is stopping");
  });
});

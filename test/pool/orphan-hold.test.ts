// The hold shared by both work sources: a block whose parent the source lacks yet is tried again on each new tip,
// and given up after so many tips, so long, or at once when too many are held.
import { describe, expect, test } from "bun:test";
import { OrphanHold, ORPHAN_HOLD, type Attempt, type SubmitResult } from "../../src/pool";
import { BLOCK_WAIT_MS, blocksSettled } from "../../src/pool/stratifier";

const block = (n: number) => ({ height: n, hash: new Uint8Array(32).fill(n) });
const accepted = (n: number): SubmitResult => ({ status: "accepted", ...block(n) });

/** Whether a promise has settled (after the microtasks queued now). */
async function settled<T>(p: Promise<T> | T): Promise<{ done: boolean; value?: T }> {
  let out: { done: boolean; value?: T } = { done: false };
  void Promise.resolve(p).then((value) => (out = { done: true, value }));
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return out;
}

describe("OrphanHold", () => {
  test("the same limits as before the move: 30 s, 8 new tips, 16 blocks; tried every second besides", () => {
    expect(ORPHAN_HOLD).toEqual({ ms: 30_000, tips: 8, blocks: 16, retryMs: 1000 });
  });

  test("a held block is tried on each new tip, and its result is the first try that is not an orphan", async () => {
    const hold = new OrphanHold();
    let parentKnown = false;
    let tries = 0;
    const r = hold.hold(block(1), () => {
      tries++;
      return parentKnown ? accepted(1) : "orphan";
    });
    expect(hold.size).toBe(1);
    expect(tries).toBe(0); // the first try was the source's own
    await hold.tip();
    await hold.tip();
    expect(tries).toBe(2);
    expect((await settled(r)).done).toBe(false);
    parentKnown = true;
    await hold.tip();
    expect(await r).toEqual(accepted(1));
    expect(hold.size).toBe(0);
    await hold.tip();
    expect(tries).toBe(3);
  });

  test("a try that answers asynchronously (a daemon) and one that throws: the answer, and a rejection with the error", async () => {
    const hold = new OrphanHold();
    const a = hold.hold(block(1), async () => {
      await Bun.sleep(1);
      return accepted(1);
    });
    const b = hold.hold(block(2), async () => {
      throw new Error("upstream unreachable");
    });
    await hold.tip();
    expect(await a).toEqual(accepted(1));
    expect(await b).toEqual({ status: "rejected", ...block(2), reason: "upstream unreachable" });
  });

  test("given up after the limit of new tips, with the reason", async () => {
    const hold = new OrphanHold({ ...ORPHAN_HOLD, ms: 60_000, tips: 3 });
    let tries = 0;
    const r = hold.hold(block(7), (): Attempt => (tries++, "orphan"));
    for (let i = 0; i < 5; i++) await hold.tip();
    expect(await r).toEqual({ status: "rejected", ...block(7), reason: "parent still unknown after 3 new tips" });
    expect(tries).toBe(3);
    expect(hold.size).toBe(0);
  });

  test("given up after the time limit when no tip comes", async () => {
    const hold = new OrphanHold({ ...ORPHAN_HOLD, ms: 20 });
    const r = hold.hold(block(3), () => "orphan");
    expect(await r).toEqual({ status: "rejected", ...block(3), reason: "parent still unknown after 0.02 s" });
    expect(hold.size).toBe(0);
  });

  test("past the limit of held blocks a block is rejected at once; the held ones stay", async () => {
    const hold = new OrphanHold({ ...ORPHAN_HOLD, ms: 60_000, blocks: 2 });
    const held = [hold.hold(block(1), () => accepted(1)), hold.hold(block(2), () => accepted(2))];
    expect(hold.hold(block(3), () => accepted(3))).toEqual({ status: "rejected", ...block(3), reason: "parent unknown (too many blocks held for their parent)" });
    expect(hold.size).toBe(2);
    await hold.tip();
    expect(await Promise.all(held)).toEqual([accepted(1), accepted(2)]);
  });

  test("tips during a round make one more round: a child held behind its parent goes in once the parent did", async () => {
    const hold = new OrphanHold();
    const chain = new Set<number>([0]);
    // Block n goes in when n-1 is in; going in is itself a new tip (as a chain's onTip fires inside acceptBlock).
    const attempt = (n: number) => async (): Promise<Attempt> => {
      await Bun.sleep(1);
      if (!chain.has(n - 1)) return "orphan";
      chain.add(n);
      void hold.tip();
      return accepted(n);
    };
    const child = hold.hold(block(3), attempt(3)); // held first, tried first: its parent is not in yet
    const parent = hold.hold(block(2), attempt(2));
    chain.add(1);
    await hold.tip();
    expect(await parent).toEqual(accepted(2));
    expect(await child).toEqual(accepted(3));
  });

  test("drop gives every held block up with the reason", async () => {
    const hold = new OrphanHold();
    const r = hold.hold(block(4), () => "orphan");
    hold.drop("the pool stopped");
    expect(await r).toEqual({ status: "rejected", ...block(4), reason: "the pool stopped" });
    expect(hold.size).toBe(0);
    // Stopped: a block is not held any more (no timer left behind to keep the process alive).
    expect(await hold.hold(block(5), () => accepted(5))).toEqual({ status: "rejected", ...block(5), reason: "the source stopped" });
    expect(hold.size).toBe(0);
  });

  test("a try in flight when the time is up or the source stops keeps its answer: a block the source takes is taken", async () => {
    for (const end of ["time", "drop"] as const) {
      const hold = new OrphanHold({ ...ORPHAN_HOLD, ms: end === "time" ? 30 : 60_000 });
      let answer!: (a: Attempt) => void;
      const r = hold.hold(block(6), () => new Promise<Attempt>((ok) => (answer = ok)));
      void hold.tip(); // the try: its answer comes after the give-up
      await Bun.sleep(1);
      if (end === "time") await Bun.sleep(60);
      else hold.drop("the pool stopped");
      expect((await settled(r)).done).toBe(false);
      answer(accepted(6));
      expect(await r).toEqual(accepted(6));
    }
    // An orphan answer after the give-up: refused with the give-up's reason.
    const hold = new OrphanHold({ ...ORPHAN_HOLD, ms: 30 });
    let answer!: (a: Attempt) => void;
    const r = hold.hold(block(7), () => new Promise<Attempt>((ok) => (answer = ok)));
    void hold.tip();
    await Bun.sleep(60);
    answer("orphan");
    expect(await r).toEqual({ status: "rejected", ...block(7), reason: "parent still unknown after 0.03 s" });
  });

  test("tried again without a new tip too (a parent that arrived on a side branch): those tries do not count as tips", async () => {
    const hold = new OrphanHold({ ...ORPHAN_HOLD, tips: 1, retryMs: 20 });
    let parentKnown = false;
    let tries = 0;
    const r = hold.hold(block(8), () => (tries++, parentKnown ? accepted(8) : "orphan"));
    await Bun.sleep(100);
    expect(tries).toBeGreaterThan(1); // several ticks, none a tip: still held (the tip limit is 1)
    expect((await settled(r)).done).toBe(false);
    parentKnown = true;
    expect(await r).toEqual(accepted(8));
  });

  test("a new job waits for blocks being submitted, but not for one held for its parent (at most BLOCK_WAIT_MS)", async () => {
    expect(BLOCK_WAIT_MS).toBe(2000);
    let done!: () => void;
    const quick = new Promise<void>((ok) => (done = ok));
    const w = blocksSettled(new Set([quick]), 60_000);
    expect((await settled(w)).done).toBe(false);
    done();
    expect((await settled(w)).done).toBe(true); // settled: the job goes on at once
    const held = new Promise<void>(() => {}); // held for 30 s, say
    let out = false;
    void blocksSettled(new Set([held]), 30).then(() => (out = true));
    await Bun.sleep(5);
    expect(out).toBe(false);
    await Bun.sleep(60);
    expect(out).toBe(true); // the job did not wait for the held block
  });
});

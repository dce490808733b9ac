// The hold shared by both work sources: a block whose parent the source lacks yet is tried again on each new tip,
// and given up after so many tips, so long, or at once when too many are held.
import { describe, expect, test } from "bun:test";
import { OrphanHold, ORPHAN_HOLD, type Attempt, type SubmitResult } from "../../src/pool";

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
  test("the same limits as before the move: 30 s, 8 new tips, 16 blocks", () => {
    expect(ORPHAN_HOLD).toEqual({ ms: 30_000, tips: 8, blocks: 16 });
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
    const hold = new OrphanHold({ ms: 60_000, tips: 3, blocks: 16 });
    let tries = 0;
    const r = hold.hold(block(7), (): Attempt => (tries++, "orphan"));
    for (let i = 0; i < 5; i++) await hold.tip();
    expect(await r).toEqual({ status: "rejected", ...block(7), reason: "parent still unknown after 3 new tips" });
    expect(tries).toBe(3);
    expect(hold.size).toBe(0);
  });

  test("given up after the time limit when no tip comes", async () => {
    const hold = new OrphanHold({ ms: 20, tips: 8, blocks: 16 });
    const r = hold.hold(block(3), () => "orphan");
    expect(await r).toEqual({ status: "rejected", ...block(3), reason: "parent still unknown after 0.02 s" });
    expect(hold.size).toBe(0);
  });

  test("past the limit of held blocks a block is rejected at once; the held ones stay", async () => {
    const hold = new OrphanHold({ ms: 60_000, tips: 8, blocks: 2 });
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
  });
});

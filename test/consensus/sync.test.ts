// Proof-of-sync producer rules (src/consensus) and a seeded 50-node simulation of them.
import { describe, expect, test } from "bun:test";
import { checkClaim, compareBranches, Eligibility, epochSalt, jitterMs, producerPool, slotOpensAt, slotSeed, SYNC, u64, winners } from "../../src/consensus";
import { DEFAULT_SIM, simulate } from "./simulation";

const sha = (s: string) => new Uint8Array(new Bun.CryptoHasher("sha256").update(s).digest());
const ids = Array.from({ length: 20 }, (_, i) => Buffer.from(sha(`p${i}`)).toString("hex")).sort();
const salt = epochSalt("rignode-devnet-sync-1");

describe("proof-of-sync rules", () => {
  test("the seed is H(prev || height u64 LE || salt), salt = H(chain id || 'mining-epoch-v1')", () => {
    const prev = sha("prev");
    const h = new Uint8Array(8);
    new DataView(h.buffer).setBigUint64(0, 42n, true);
    const want = new Bun.CryptoHasher("sha256").update(prev).update(h).update(salt).digest();
    expect(slotSeed(prev, 42, salt)).toEqual(new Uint8Array(want));
    expect(salt).toEqual(new Uint8Array(new Bun.CryptoHasher("sha256").update("rignode-devnet-sync-1mining-epoch-v1").digest()));
    expect(slotSeed(prev, 43, salt)).not.toEqual(slotSeed(prev, 42, salt));
  });

  test("winners: primary = pool[u64(seed) % n], 6 distinct backups by reroll, the same for everyone", () => {
    const seed = slotSeed(sha("tip"), 7, salt);
    const w = winners(seed, ids);
    expect(w).toHaveLength(7);
    expect(w[0]).toBe(ids[Number(u64(seed) % BigInt(ids.length))]);
    expect(new Set(w).size).toBe(7);
    expect(winners(seed, [...ids])).toEqual(w);
    // A small pool gives as many slots as producers; an empty one none.
    expect(winners(seed, ids.slice(0, 3)).sort()).toEqual(ids.slice(0, 3));
    expect(winners(seed, [])).toEqual([]);
    // Over many heights every producer is primary about equally often.
    const count = new Map<string, number>();
    for (let h = 0; h < 4000; h++) {
      const p = winners(slotSeed(sha(`t${h}`), h, salt), ids)[0]!;
      count.set(p, (count.get(p) ?? 0) + 1);
    }
    for (const id of ids) expect(count.get(id)!).toBeGreaterThan(120); // 200 expected
  });

  test("jitter is 50..399 ms and fixed for a node and height", () => {
    for (let i = 0; i < 500; i++) {
      const j = jitterMs(slotSeed(sha(`t${i}`), i, salt), sha(`n${i}`));
      expect(j).toBeGreaterThanOrEqual(SYNC.jitterMinMs);
      expect(j).toBeLessThan(SYNC.jitterMinMs + SYNC.jitterSpanMs);
    }
    expect(jitterMs(sha("s"), sha("n"))).toBe(jitterMs(sha("s"), sha("n")));
  });

  test("eligibility: at tip with a ready peer for 3 ticks; lag or no peers resets the streak", () => {
    const e = new Eligibility();
    const at = { localHeight: 10, networkHeight: 10, readyPeers: 2 };
    expect([e.tick(at), e.tick(at), e.tick(at)]).toEqual([false, false, true]);
    expect(e.tick({ ...at, networkHeight: 11 })).toBe(false);
    expect(e.state).toBe("Behind");
    expect(e.streak).toBe(0);
    e.tick({ ...at, networkHeight: 13 });
    expect(e.state).toBe("CatchingUp");
    e.tick({ ...at, networkHeight: 9 });
    expect(e.state).toBe("TooFarAhead");
    expect([e.tick(at), e.tick(at), e.tick({ ...at, readyPeers: 0 })]).toEqual([false, false, false]);
  });

  test("a claim is valid only for the slot's producer, in an existing slot, once the slot's time has come", () => {
    const parent = { hash: sha("parent"), timeMs: 1_000_000 };
    const w = winners(slotSeed(parent.hash, 5, salt), ids);
    const ok = { height: 5, slot: 1, producer: w[1]!, timeMs: slotOpensAt(parent.timeMs, 1) };
    expect(checkClaim(ok, parent, ids, salt)).toBeNull();
    expect(checkClaim({ ...ok, producer: w[2]! }, parent, ids, salt)).toMatch(/slot 1 of height 5 belongs to/);
    expect(checkClaim({ ...ok, timeMs: ok.timeMs - 1 }, parent, ids, salt)).toMatch(/slot 1 opens at/);
    expect(checkClaim({ ...ok, slot: 7 }, parent, ids, salt)).toMatch(/slot 7 does not exist/);
    expect(checkClaim({ ...ok, height: 6 }, parent, ids, salt)).not.toBeNull(); // another height, other winners
  });

  test("fork choice: most blocks, then fewer backup slots, then the lower hash", () => {
    const b = (height: number, slotSum: number, x: number) => ({ height, slotSum, hash: new Uint8Array([x]) });
    expect(compareBranches(b(5, 9, 1), b(4, 0, 2))).toBeLessThan(0);
    expect(compareBranches(b(5, 3, 1), b(5, 1, 2))).toBeGreaterThan(0);
    expect(compareBranches(b(5, 1, 9), b(5, 1, 2))).toBeGreaterThan(0);
    expect(compareBranches(b(5, 1, 9), b(5, 1, 9))).toBe(0);
  });

  test("a producer that missed its primary slot sits out the next 100 heights of that branch", () => {
    const recent = Array.from({ length: 150 }, (_, i) => ({ primary: ids[i % ids.length]!, slot: 0 }));
    expect(producerPool(ids, recent)).toEqual(ids);
    recent[120] = { primary: ids[3]!, slot: 2 };
    expect(producerPool(ids, recent)).not.toContain(ids[3]);
    const later = [...recent, ...Array.from({ length: 100 }, () => ({ primary: ids[0]!, slot: 0 }))];
    expect(producerPool(ids, later)).toContain(ids[3]!);
    // Never empty: if everyone missed, everyone stays.
    expect(producerPool(ids.slice(0, 2), [{ primary: ids[0]!, slot: 1 }, { primary: ids[1]!, slot: 1 }])).toEqual(ids.slice(0, 2));
  });
});

describe("proof-of-sync simulation", () => {
  test("50 nodes, random crashes and delays, 10,000 heights: no two nodes finalise different blocks at a height", () => {
    const r = simulate(DEFAULT_SIM);
    console.log(
      `simulation: ${r.finalHeight} heights in ${r.simulatedSeconds.toFixed(0)} simulated s, ${r.crashes} crashes, ${r.forksSeen} short forks; ` +
        `block interval median ${r.medianIntervalMs.toFixed(0)} ms, mean ${r.meanIntervalMs.toFixed(0)} ms; blocks by slot ${r.slotCounts.join("/")}`,
    );
    expect(r.finalHeight).toBe(10_000);
    expect(r.violations).toEqual([]);
    expect(r.crashes).toBeGreaterThan(100);
    expect(r.slotCounts[0]).toBeGreaterThan(r.slotCounts.slice(1).reduce((a, b) => a + b, 0)); // primaries produce most
    expect(r.slotCounts.slice(1).some((n) => n > 0)).toBe(true); // and backups stepped in for crashed primaries
  }, 120_000);

  test("the finality check can fail: with blocks final at the tip and slow links, the simulation reports the split", () => {
    const r = simulate({ ...DEFAULT_SIM, heights: 1000, finalDepth: 0, slowChance: 0.3, slowMs: [1000, 4000] });
    expect(r.violations.length).toBeGreaterThan(0);
  }, 60_000);

  test("the same seed gives the same run", () => {
    const a = simulate({ ...DEFAULT_SIM, heights: 300, seed: 9 });
    const b = simulate({ ...DEFAULT_SIM, heights: 300, seed: 9 });
    expect(a).toEqual(b);
  }, 60_000);
});

// Proof-of-sync on real processes (devnet-sync, its three seeded producers): the same winners everywhere, a killed
// primary replaced by its backup, a partitioned producer that stops and comes back.
import { afterAll, describe, expect, test } from "bun:test";
import { freePort, Link, waitFor } from "../helpers";
import { get, startProducer, type Producer } from "./producers";

type Node = Producer;

const procs: ReturnType<typeof Bun.spawn>[] = [];
afterAll(() => procs.forEach((p) => p.kill("SIGKILL")));

/** Producer i, killed after the tests. */
function start(i: number, peers: number[], p2p?: number): Node {
  const n = startProducer(i, peers, p2p);
  procs.push(n.proc);
  return n;
}

const status = (n: Node) => get(n, "/api/mining/status");
const blockAt = (n: Node, h: number) => get(n, `/api/chain/block/${h}`);
const producerOf = (b: any) => /^sync1:([0-9a-f]{64}):/.exec(b.txs[0].memo)![1]!;

describe("proof-of-sync network", () => {
  test("3 producers agree on every height's winner and backups; blocks come from the primaries; a killed primary's height goes to backup #1", async () => {
    const a = start(0, []);
    const b = start(1, [a.p2p]);
    const c = start(2, [a.p2p, b.p2p]);
    const all = [a, b, c];
    await waitFor(async () => ((await Promise.all(all.map(status))).every((s) => s?.eligible) ? true : undefined), 30_000);
    for (const n of all) n.id = (await status(n)).my_node_id;

    // Same winners: whenever two nodes look at the same next height they name the same producers.
    const seen = new Map<number, string>();
    let compared = 0;
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      for (const s of await Promise.all(all.map(status))) {
        if (!s) continue;
        const key = JSON.stringify([s.current_winner, s.backups]);
        const before = seen.get(s.next_height);
        if (before) (expect(key).toBe(before), compared++);
        else seen.set(s.next_height, key);
      }
      await Bun.sleep(50);
    }
    expect(compared).toBeGreaterThan(10);
    const tip = (await get(a, "/api/chain/tip")).height;
    expect(tip).toBeGreaterThan(5);
    const blocks = await Promise.all(Array.from({ length: tip }, (_, i) => blockAt(a, i + 1)));
    const primaries = blocks.filter((x) => x.nonce === 0).length;
    expect(primaries / blocks.length).toBeGreaterThan(0.8);
    for (const x of blocks) expect(all.map((n) => n.id)).toContain(producerOf(x));

    // Kill c: the next height whose primary is c is produced by that height's backup #1, and the chain goes on.
    c.proc.kill("SIGKILL");
    await c.proc.exited;
    const target = await waitFor(async () => {
      const s = await status(a);
      return s && s.current_winner === c.id ? { height: s.next_height, backup: s.backups[0] as string } : undefined;
    }, 60_000);
    const produced = await waitFor(() => blockAt(a, target.height), 30_000);
    expect(produced.nonce).toBe(1);
    expect(producerOf(produced)).toBe(target.backup);
    const h0 = (await get(a, "/api/chain/tip")).height;
    await waitFor(async () => ((await get(b, "/api/chain/tip"))?.height >= h0 + 5 ? true : undefined), 30_000);
    const ta = await get(a, "/api/chain/tip");
    await waitFor(async () => ((await get(b, `/api/chain/block/${ta.height}`))?.hash === ta.hash ? true : undefined), 10_000);
  }, 150_000);

  test("a partitioned producer becomes ineligible and adds nothing; reconnected, it syncs and is eligible again", async () => {
    const a = start(0, []);
    const b = start(1, [a.p2p]);
    // c reaches a and b only through relays the test can cut.
    const [la, lb] = [new Link(freePort(), a.p2p), new Link(freePort(), b.p2p)];
    la.up();
    lb.up();
    const c = start(2, [la.port, lb.port]);
    await waitFor(async () => ((await Promise.all([a, b, c].map(status))).every((s) => s?.eligible && s.local_height >= 3) ? true : undefined), 30_000);
    la.down();
    lb.down();
    await waitFor(async () => {
      const s = await status(c);
      return s && !s.eligible && s.ready_peers === 0 ? s : undefined;
    }, 20_000);
    await Bun.sleep(1500); // blocks already on the way when the links went down have landed by now
    const cHeight = (await status(c)).local_height;
    const aBefore = (await get(a, "/api/chain/tip")).height;
    // The others go on without c; c stays where it was and produces nothing.
    await waitFor(async () => ((await get(a, "/api/chain/tip"))?.height >= aBefore + 8 ? true : undefined), 60_000);
    expect((await status(c)).local_height).toBe(cHeight);
    expect((await status(c)).eligible).toBe(false);
    const cid = (await status(c)).my_node_id;
    const aTip = (await get(a, "/api/chain/tip")).height;
    for (let h = cHeight + 1; h <= aTip; h++) expect(producerOf(await blockAt(a, h))).not.toBe(cid);
    // Heal: c syncs to the others' tip and becomes eligible again.
    la.up();
    lb.up();
    const back = await waitFor(async () => {
      const [sa, sc] = await Promise.all([status(a), status(c)]);
      return sa && sc && sc.eligible && sc.local_height >= sa.local_height - 1 && sc.eligible_streak >= 3 ? sc : undefined;
    }, 60_000);
    expect(back.sync_state).toBe("AtTip");
  }, 150_000);
});

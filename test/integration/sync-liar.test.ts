// A lying peer on a proof-of-sync network: its hello claims height 2^32 and it never sends a header. The producers
// must keep producing with it connected (a bare claim is not the network's height), and drop and ban it once it has
// left a request for headers unanswered for 30 s.
import { afterAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { waitFor } from "../helpers";
import { get, startProducer, type Producer } from "./producers";
import { frame } from "../../src/p2p";
import { blockHash, decode, encode, generateKeyPair, genesisBlock, NETWORKS, signMessage, type Value } from "../../src/chain";

const params = NETWORKS["devnet-sync"]!;
const LIE = 2 ** 32;
/** The liar connects from its own loopback address: its ban must not touch the producers' 127.0.0.1. */
const LIAR_IP = "127.0.0.41";

type Node = Producer;
const procs: ReturnType<typeof Bun.spawn>[] = [];
const liars: Socket[] = [];
afterAll(() => {
  liars.forEach((s) => s.destroy());
  procs.forEach((p) => p.kill("SIGKILL"));
});

/** Producer i, killed after the test. */
function start(i: number, peers: number[]): Node {
  const n = startProducer(i, peers);
  procs.push(n.proc);
  return n;
}

const status = (n: Node) => get(n, "/api/mining/status");
const height = async (n: Node) => ((await get(n, "/api/chain/tip"))?.height as number | undefined) ?? -1;

/**
 * A peer that completes the handshake (hello claiming height 2^32 and an unknown tip, then auth signing the node's
 * challenge) and afterwards reads and ignores everything: it answers no getheaders and sends no block.
 */
function liar(port: number): { socket: Socket; closed: () => boolean } {
  const kp = generateKeyPair();
  const genesis = blockHash(genesisBlock(params).header);
  const tip = new Uint8Array(32).fill(0xee);
  const s = connect({ host: "127.0.0.1", port, localAddress: LIAR_IP });
  let closed = false;
  let buf = Buffer.alloc(0);
  let authed = false;
  s.on("connect", () => s.write(frame(["hello", 1, params.chainId, genesis, LIE, tip, kp.publicKey, 0, new Uint8Array(32)], 1 << 20)));
  s.on("data", (d: Buffer) => {
    if (authed) return;
    buf = Buffer.concat([buf, d]);
    if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
    const v = decode(new Uint8Array(buf.subarray(4, 4 + buf.readUInt32BE(0)))) as Value[];
    if (v[0] !== "hello") return;
    authed = true;
    s.write(frame(["auth", signMessage(kp.seed, encode(["rignode-p2p-auth", params.chainId, v[8] as Uint8Array]))], 1 << 20));
  });
  s.on("error", () => {});
  s.on("close", () => (closed = true));
  liars.push(s);
  return { socket: s, closed: () => closed };
}

describe("a peer whose hello claims height 2^32 and sends no headers", () => {
  test("the producers go on producing and stay eligible while it is connected; it is banned when its headers do not come", async () => {
    const a = start(0, []);
    const b = start(1, [a.p2p]);
    const c = start(2, [a.p2p, b.p2p]);
    const all = [a, b, c];
    await waitFor(async () => ((await Promise.all(all.map(status))).every((s) => s?.eligible) ? true : undefined), 30_000);

    const ls = all.map((n) => liar(n.p2p));
    // Every producer has its two producers and the liar as ready peers.
    await waitFor(async () => {
      const views = await Promise.all(all.map((n) => get(n, "/api/peers")));
      return views.every((v) => v?.peers.filter((p: any) => p.ready).length === 3) ? true : undefined;
    }, 10_000);
    // The claim would have been taken into the 1 s network snapshot by now; blocks keep coming regardless.
    await Bun.sleep(1500);
    const h0 = await height(a);
    await waitFor(async () => ((await height(a)) >= h0 + 5 ? true : undefined), 15_000);
    const states = await waitFor(async () => {
      const s = await Promise.all(all.map(status));
      return s.every((x) => x?.eligible) ? s : undefined;
    }, 10_000);
    for (const s of states) {
      expect(s.sync_state).toBe("AtTip");
      expect(s.network_height).toBeLessThan(LIE);
    }
    // All of that with the liar still connected and still claiming.
    expect(ls.map((l) => l.closed())).toEqual([false, false, false]);
    for (const n of all) {
      const lp = (await get(n, "/api/peers")).peers.find((p: any) => p.claimed_height === LIE);
      expect(lp?.ready).toBe(true);
      expect(lp.height).toBe(0); // its tip is unknown and it has proven nothing
    }

    // Its getheaders went unanswered: after 30 s each producer drops it and bans its address, not the others'.
    await waitFor(() => (ls.every((l) => l.closed()) ? true : undefined), 60_000);
    for (const n of all) {
      const v = await get(n, "/api/peers");
      expect(v.banned.map((x: any) => x.ip)).toEqual([LIAR_IP]);
      expect(v.peers.filter((p: any) => p.ready)).toHaveLength(2);
    }
    const h1 = await height(a);
    await waitFor(async () => ((await height(a)) >= h1 + 5 ? true : undefined), 15_000);
  }, 180_000);
});

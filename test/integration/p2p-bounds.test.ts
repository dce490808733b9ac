// One hostile peer must not bloat, stall or starve a node (issue 13, "Why" 5 and 6): addr and inv floods leave RSS
// bounded and the address book and block queues capped; headers that do not connect are banned; a frame that never
// finishes is banned; 32 silent links from one address leave room for a real peer.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, getJson, waitFor } from "../helpers";
import { frame } from "../../src/p2p";
import { blockHash, decodeHeader, encodeHeader, genesisBlock, NETWORKS } from "../../src/chain";
import { addrFrame, fakeIds, RawPeer, rssMb, rssSampler } from "./rawpeer";

/** Headroom over the node's resting RSS a flood may cost (main grew by 0.5-2.6 GB under the same floods). */
const RSS_HEADROOM_MB = 150;

interface Node {
  api: string;
  p2p: number;
  proc: ReturnType<typeof Bun.spawn>;
  log: any[];
}
const nodes: Node[] = [];
const peers: RawPeer[] = [];
const silent: Socket[] = [];
afterAll(async () => {
  for (const s of silent) s.destroy();
  for (const p of peers) p.close();
  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc.exited));
});

function startNode(name: string, args: string[]): Node {
  const api = `127.0.0.1:${freePort()}`;
  const p2p = freePort();
  const data = mkdtempSync(join(tmpdir(), `rignode-${name}-`));
  const proc = Bun.spawn([bin(), "node", "--api", api, "--p2p", `127.0.0.1:${p2p}`, "--data-dir", data, ...args], {
    stdout: "ignore", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" },
  });
  const n: Node = { api, p2p, proc, log: [] };
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      for (const l of dec.decode(chunk).split("\n").filter(Boolean)) {
        try {
          n.log.push(JSON.parse(l));
        } catch {
          n.log.push({ text: l });
        }
      }
    }
  })();
  nodes.push(n);
  return n;
}
const get = (n: Node, path: string) => getJson(`http://${n.api}${path}`);
const banReason = (n: Node, ip: string): string | undefined =>
  n.log.find((e) => e.event === "p2p.banned" && String(e.peer).startsWith(ip + ":"))?.reason;
async function open(n: Node, ip: string, handshake = true): Promise<RawPeer> {
  const p = await RawPeer.open(n.p2p, ip, handshake);
  peers.push(p);
  if (handshake) await waitFor(async () => ((await get(n, "/api/peers"))?.peers.some((x: any) => x.ready && x.address.startsWith(ip + ":")) ? true : undefined));
  return p;
}
/** RSS after start-up has settled. */
async function baseline(n: Node): Promise<number> {
  await waitFor(() => get(n, "/health"));
  await Bun.sleep(1500);
  return rssMb(n.proc.pid);
}

describe("floods from one peer", () => {
  let victim: Node;
  test("setup", async () => {
    victim = startNode("bounds", ["--discover=false"]);
    await waitFor(() => get(victim, "/health"));
  }, 30_000);

  test("9,000 addr messages (900,000 addresses): RSS bounded, one source fills at most 64 entries, getaddr answered once with at most 100", async () => {
    const base = await baseline(victim);
    const attacker = await open(victim, "127.0.0.51");
    const rss = rssSampler(victim.proc.pid);
    await attacker.flood(9000, 30, addrFrame);
    await Bun.sleep(1000);
    rss.stop();
    console.log(`addr flood: RSS ${base} MB before, peak ${rss.peak()} MB`);
    expect(attacker.closed).toBe(false); // rate-limited, not banned: gossip is relayed in good faith
    expect(rss.peak()).toBeLessThan(base + RSS_HEADROOM_MB);
    const book = (await get(victim, "/api/peers")).addresses;
    expect(book.size).toBeGreaterThan(0);
    expect(book.size).toBeLessThanOrEqual(64);
    expect(book.sources).toBe(1);

    const asker = await open(victim, "127.0.0.52");
    await asker.write(frame(["getaddr"], 100));
    await asker.write(frame(["getaddr"], 100));
    await asker.write(frame(["ping", 7], 100));
    await waitFor(() => (asker.received.some((m) => m[0] === "pong" && m[1] === 7) ? true : undefined));
    const addrs = asker.received.filter((m) => m[0] === "addr");
    expect(addrs.length).toBe(1);
    expect((addrs[0]![1] as unknown[]).length).toBeGreaterThan(0);
    expect((addrs[0]![1] as unknown[]).length).toBeLessThanOrEqual(100);
    expect((await get(victim, "/health")).status).toBe("ok");
  }, 90_000);

  test("the same 1,000 block ids in 3,000 inv messages: RSS bounded, queue bounded, each id asked at most once", async () => {
    const base = await baseline(victim);
    const attacker = await open(victim, "127.0.0.53");
    const inv = frame(["inv", "block", fakeIds(1)], 1 << 20);
    const rss = rssSampler(victim.proc.pid);
    await attacker.flood(3000, 30, () => inv);
    await Bun.sleep(1000);
    rss.stop();
    console.log(`inv flood: RSS ${base} MB before, peak ${rss.peak()} MB`);
    expect(rss.peak()).toBeLessThan(base + RSS_HEADROOM_MB);
    const me = (await get(victim, "/api/peers")).peers.find((p: any) => p.address.startsWith("127.0.0.53:"));
    expect(me).toBeDefined();
    expect(me.inflight).toBeLessThanOrEqual(64);
    expect(me.wanted + me.inflight).toBeLessThanOrEqual(1000);
    const asked = attacker.received.filter((m) => m[0] === "getblocks").flatMap((m) => (m[1] as Uint8Array[]).map((h) => Buffer.from(h).toString("hex")));
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked).size).toBe(asked.length);
  }, 90_000);

  const params = NETWORKS.devnet!;
  const genesis = blockHash(genesisBlock(params).header);
  const header = (prevHash: Uint8Array, i: number) =>
    encodeHeader({ version: 1, prevHash, merkleRoot: new Uint8Array(32), time: params.genesis.time + 60 * (i + 1), bits: params.powLimitBits, nonce: i });

  test("headers whose first parent is unknown: banned, no block asked", async () => {
    const attacker = await open(victim, "127.0.0.54");
    const hs = [header(new Uint8Array(32).fill(0x5a), 0)];
    for (let i = 1; i < 2000; i++) hs.push(header(blockHash(decodeHeader(hs[i - 1]!)), i));
    await attacker.write(frame(["headers", hs], 1 << 20));
    await waitFor(() => banReason(victim, "127.0.0.54"));
    expect(banReason(victim, "127.0.0.54")).toMatch(/headers that do not connect/);
    expect(attacker.names()).not.toContain("getblocks");
  }, 30_000);

  test("headers that start on genesis and then do not chain: banned, no block asked", async () => {
    const attacker = await open(victim, "127.0.0.55");
    await attacker.write(frame(["headers", [header(genesis, 0), header(new Uint8Array(32).fill(0x77), 1)]], 1 << 20));
    await waitFor(() => banReason(victim, "127.0.0.55"));
    expect(banReason(victim, "127.0.0.55")).toMatch(/headers that do not chain/);
    expect(attacker.names()).not.toContain("getblocks");
  }, 30_000);

  test("a frame that is never finished: the link is closed and the address banned", async () => {
    const attacker = await open(victim, "127.0.0.56");
    // A 1,000-byte frame of which 10 bytes come: due within 15 s + 1000 B at 8 KiB/s.
    await attacker.write(new Uint8Array([0, 0, 3, 232, 0x92, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await waitFor(() => banReason(victim, "127.0.0.56"), 40_000);
    expect(banReason(victim, "127.0.0.56")).toMatch(/a frame of 1000 bytes unfinished/);
    await waitFor(() => (attacker.closed ? true : undefined));
  }, 60_000);
});

describe("inbound slots", () => {
  test("32 silent links from one address (reopened as they close) do not lock out a real peer: it connects and syncs", async () => {
    const victim = startNode("silent", ["--mine", "--threads", "1", "--discover=false"]);
    await waitFor(async () => ((await get(victim, "/api/chain/tip"))?.height >= 2 ? true : undefined), 60_000);
    let stop = false;
    const openSilent = (): void => {
      if (stop) return;
      const s = connect({ host: "127.0.0.1", port: victim.p2p, localAddress: "127.0.0.57" });
      s.on("error", () => {});
      s.resume();
      s.on("close", () => setTimeout(openSilent, 50));
      silent.push(s);
    };
    for (let i = 0; i < 32; i++) openSilent();
    await Bun.sleep(1000);
    const real = startNode("silent-real", ["--peer", `127.0.0.1:${victim.p2p}`, "--discover=false"]);
    const target = (await get(victim, "/api/chain/tip")).height;
    await waitFor(async () => ((await get(real, "/api/chain/tip"))?.height >= target ? true : undefined), 60_000);
    const held = (await get(victim, "/api/peers")).peers.filter((p: any) => p.address.startsWith("127.0.0.57:")).length;
    expect(held).toBeLessThanOrEqual(8);
    expect(victim.log.some((e) => e.event === "p2p.refused" && e.reason === "inbound links per IP" && e.peer === "127.0.0.57")).toBe(true);
    // Silent links are closed by the handshake deadline (5 s).
    await waitFor(() => (victim.log.some((e) => e.event === "p2p.timeout" && e.reason === "no handshake" && String(e.peer).startsWith("127.0.0.57:")) ? true : undefined), 15_000);
    stop = true;
  }, 120_000);

  test("a closed link gives its address's slot back: after 8 links from one address close, 8 more are greeted", async () => {
    const victim = startNode("slots-back", ["--discover=false"]);
    await waitFor(() => get(victim, "/health"));
    const ip = "127.0.0.58";
    /** Opens `n` links from `ip` and waits for each to get the node's hello (a refused link is ended with nothing). */
    const greeted = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: "127.0.0.1", port: victim.p2p, localAddress: ip });
          silent.push(s);
          s.on("error", reject);
          s.once("data", () => resolve(s));
          s.once("close", () => reject(new Error("closed without a hello (refused)")));
        })),
      );
    const first = await greeted(8);
    for (const s of first) s.destroy();
    await waitFor(async () => ((await get(victim, "/api/peers"))?.peers.some((p: any) => p.address.startsWith(ip + ":")) ? undefined : true));
    const second = await greeted(8);
    expect(second).toHaveLength(8);
    expect(victim.log.some((e) => e.event === "p2p.refused" && e.peer === ip)).toBe(false);
    for (const s of second) s.destroy();
  }, 60_000);
});

// Several rignode nodes as real processes on loopback: sync, late join, partition and heal, hostile peers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, Link, run, waitFor } from "../helpers";
import { frame } from "../../src/p2p";
import { decode, encodeBlock, genesisBlock, generateKeyPair, NETWORKS, blockHash, encode, signMessage, type Block, type Value } from "../../src/chain";

interface Node {
  name: string;
  api: string;
  p2p: number;
  data: string;
  proc: ReturnType<typeof Bun.spawn>;
  log: string[];
}
const nodes: Node[] = [];

function startNode(name: string, args: string[], data = mkdtempSync(join(tmpdir(), `rignode-${name}-`))): Node {
  const api = `127.0.0.1:${freePort()}`;
  const p2p = freePort();
  const proc = Bun.spawn([bin(), "node", "--api", api, "--p2p", `127.0.0.1:${p2p}`, "--data-dir", data, ...args], {
    stdout: "ignore", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" },
  });
  const n: Node = { name, api, p2p, data, proc, log: [] };
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) n.log.push(...dec.decode(chunk).split("\n").filter(Boolean));
  })();
  nodes.push(n);
  return n;
}

/** The txid from `wallet send`'s labelled lines. */
function txidOf(stdout: string): string {
  return /^txid +([0-9a-f]{64})$/m.exec(stdout)![1]!;
}

async function get(n: Node, path: string): Promise<any> {
  try {
    const r = await fetch(`http://${n.api}${path}`);
    return await r.json();
  } catch {
    return undefined;
  }
}
async function post(n: Node, path: string): Promise<any> {
  return (await fetch(`http://${n.api}${path}`, { method: "POST" })).json();
}
const tip = async (n: Node) => (await get(n, "/api/chain/tip")) as { height: number; hash: string; work: string } | undefined;

async function sameTip(ns: Node[], minHeight: number, ms = 60_000) {
  try {
    return await waitFor(async () => {
      const tips = await Promise.all(ns.map(tip));
      if (tips.some((t) => !t || t.height < minHeight)) return undefined;
      return tips.every((t) => t!.hash === tips[0]!.hash) ? tips[0] : undefined;
    }, ms);
  } catch (e) {
    // A node that never converges (seen once in CI, not reproduced): what each said, for the next investigation.
    for (const n of ns) console.error(`--- ${n.name}: tip ${JSON.stringify(await tip(n))}, last log lines:\n${n.log.slice(-60).join("\n")}`);
    throw e;
  }
}

afterAll(async () => {
  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc.exited));
});

describe("p2p", () => {
  test("3 nodes (one mining) reach the same tip; a 4th started later syncs from genesis", async () => {
    const a = startNode("a", ["--mine", "--threads", "1"]);
    const b = startNode("b", ["--peer", `127.0.0.1:${a.p2p}`]);
    const c = startNode("c", ["--peer", `127.0.0.1:${b.p2p}`]);
    const t = await sameTip([a, b, c], 8);
    expect(t!.height).toBeGreaterThanOrEqual(8);
    const d = startNode("d", ["--peer", `127.0.0.1:${c.p2p}`]);
    const t2 = await sameTip([a, d], t!.height);
    expect(t2!.height).toBeGreaterThanOrEqual(t!.height);
    const peers = await get(b, "/api/peers");
    // a and c at least; d may have dialled b too after address gossip.
    expect(peers.peers.filter((p: any) => p.ready).length).toBeGreaterThanOrEqual(2);
    for (const n of [a, b, c, d]) {
      n.proc.kill("SIGTERM");
      expect(await n.proc.exited).toBe(0);
    }
  }, 120_000);

  test("partition (one link cut), both sides mine, heal: all converge on the most-work chain; reorganised transfers are back in the mempool", async () => {
    // Only configured links (no gossip dialling), so that cutting the one link really partitions.
    const a = startNode("pa", ["--mine", "--threads", "1", "--discover=false"]);
    const b = startNode("pb", ["--peer", `127.0.0.1:${a.p2p}`, "--discover=false"]);
    const link = new Link(freePort(), b.p2p);
    link.up();
    const c = startNode("pc", ["--mine", "--threads", "1", "--peer", `127.0.0.1:${link.port}`, "--discover=false"]);
    await waitFor(async () => ((await get(c, "/api/miner"))?.state === "running" ? true : undefined));
    await post(c, "/api/miner/pause");
    await sameTip([a, b, c], 4);
    // Fund C's wallet from A's and let it confirm everywhere.
    const cAddr = run([bin(), "wallet", "address", "--data-dir", c.data]).stdout.trim();
    const fund = run([bin(), "wallet", "send", "--to", cAddr, "--amount", "3", "--data-dir", a.data, "--api", a.api]);
    expect(fund.code).toBe(0);
    await waitFor(async () => ((await get(c, `/api/chain/tx/${txidOf(fund.stdout)}`))?.confirmations >= 1 ? true : undefined), 60_000);

    link.down();
    // C's side: a transfer from C's wallet, mined only there.
    const dest = run([bin(), "wallet", "new", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-dest-"))]).stdout.trim();
    const sent = run([bin(), "wallet", "send", "--to", dest, "--amount", "1", "--data-dir", c.data, "--api", c.api]);
    expect(sent.code).toBe(0);
    const txid = txidOf(sent.stdout);
    await post(c, "/api/miner/resume");
    await waitFor(async () => ((await get(c, `/api/chain/tx/${txid}`))?.confirmations >= 1 ? true : undefined), 60_000);
    await post(c, "/api/miner/pause");
    const cSide = (await tip(c))!;
    // A's side keeps mining until it has clearly more work.
    await waitFor(async () => {
      const t = await tip(a);
      return t && BigInt(t.work) > BigInt(cSide.work) * 11n / 10n && t.height > cSide.height + 2 ? true : undefined;
    }, 90_000);
    expect((await get(a, `/api/chain/tx/${txid}`))?.error).toBe("not_found");

    link.up();
    const healed = await sameTip([a, b, c], cSide.height, 60_000);
    expect(BigInt(healed!.work)).toBeGreaterThan(BigInt(cSide.work));
    const onC = await get(c, `/api/chain/tx/${txid}`);
    expect(onC.confirmations).toBe(0); // back in C's mempool
    expect(c.log.some((l) => JSON.parse(l).event === "chain.tip" && JSON.parse(l).reorg_depth >= 1)).toBe(true);
    link.down();
  }, 240_000);

  describe("hostile peers: the node keeps running, bans the address and logs why", () => {
    const params = NETWORKS.devnet!;
    const genesis = blockHash(genesisBlock(params).header);
    let victim: Node;

    /** Connects from its own loopback address (bans are per address), sends bytes, waits for the close. */
    async function attack(ip: string, send: (s: Socket) => void): Promise<boolean> {
      return new Promise((resolve) => {
        const s = connect({ host: "127.0.0.1", port: victim.p2p, localAddress: ip });
        const timer = setTimeout(() => { s.destroy(); resolve(false); }, 10_000);
        s.on("connect", () => send(s));
        s.resume(); // read (and drop) the victim's hello, or the stream never reaches its end
        s.on("error", () => {});
        s.on("close", () => { clearTimeout(timer); resolve(true); });
      });
    }
    const hello = (nodeId: Uint8Array, chainId = params.chainId, gen = genesis) =>
      frame(["hello", 1, chainId, gen, 0, gen, nodeId, 0, new Uint8Array(32)], 1 << 20);
    const banReason = (ip: string) =>
      victim.log.map((l) => JSON.parse(l)).find((e) => e.event === "p2p.banned" && String(e.peer).startsWith(ip + ":"))?.reason as string | undefined;

    const cases: [string, string, (s: Socket) => void, RegExp][] = [
      ["random bytes", "127.0.0.21", (s) => s.write(Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff))), /bad frame|protocol|before the handshake/],
      ["oversized frame", "127.0.0.22", (s) => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff])), /exceeds the maximum/],
      ["truncated frame, then garbage", "127.0.0.23", (s) => { s.write(Buffer.from([0, 0, 0, 9, 0x92])); s.write(Buffer.from([0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1])); }, /bad frame/],
      ["another chain's hello", "127.0.0.24", (s) => s.write(hello(new Uint8Array(32).fill(1), "other-chain")), /wrong chain/],
      ["a message before the handshake", "127.0.0.25", (s) => s.write(frame(["getaddr"], 1000)), /before the handshake/],
      ["another genesis in the hello", "127.0.0.28", (s) => s.write(hello(new Uint8Array(32).fill(2), params.chainId, new Uint8Array(32).fill(7))), /wrong chain/],
      ["a second hello", "127.0.0.29", (s) => (s.write(hello(new Uint8Array(32).fill(3))), s.write(hello(new Uint8Array(32).fill(3)))), /second hello/],
      ["an auth before any hello", "127.0.0.30", (s) => s.write(frame(["auth", new Uint8Array(64)], 1000)), /auth out of order/],
      ["a hello whose auth is not signed by its node key", "127.0.0.31", (s) => (s.write(hello(generateKeyPair().publicKey)), s.write(frame(["auth", new Uint8Array(64).fill(9)], 1000))), /bad handshake signature/],
    ];

    // Every case below needs the victim, whichever of them runs (bun test -t NAME runs one alone).
    beforeAll(async () => {
      victim = startNode("victim", []);
      await waitFor(() => get(victim, "/health"));
    }, 30_000);

    test("a link that never says hello is closed after the 5 s handshake deadline, not banned", async () => {
      expect(await attack("127.0.0.32", () => {})).toBe(true);
      expect(victim.log.map((l) => JSON.parse(l)).some((e) => e.event === "p2p.timeout" && e.reason === "no handshake" && String(e.peer).startsWith("127.0.0.32:"))).toBe(true);
      expect(banReason("127.0.0.32")).toBeUndefined();
    }, 30_000);

    for (const [name, ip, send, reason] of cases) {
      test(name, async () => {
        expect(await attack(ip, send)).toBe(true);
        await waitFor(() => banReason(ip));
        expect(banReason(ip)).toMatch(reason);
        // Banned: a new connection from that address is closed at once.
        expect(await attack(ip, () => {})).toBe(true);
        expect((await get(victim, "/health")).status).toBe("ok");
      }, 30_000);
    }

    /** Completes a real handshake (signing the victim's challenge), then lets `then` misbehave. */
    function afterHandshake(ip: string, then: (s: Socket) => void): Promise<boolean> {
      const kp = generateKeyPair();
      return new Promise<boolean>((resolve) => {
        const s = connect({ host: "127.0.0.1", port: victim.p2p, localAddress: ip });
        let buf = Buffer.alloc(0);
        let done = false;
        s.on("connect", () => s.write(hello(kp.publicKey)));
        s.on("data", (d: Buffer) => {
          if (done) return;
          buf = Buffer.concat([buf, d]);
          if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
          const v = decode(new Uint8Array(buf.subarray(4, 4 + buf.readUInt32BE(0)))) as Value[];
          if (v[0] !== "hello") return;
          done = true;
          s.write(frame(["auth", signMessage(kp.seed, encode(["rignode-p2p-auth", params.chainId, v[8] as Uint8Array]))], 1 << 20));
          then(s);
        });
        s.on("error", () => {});
        s.on("close", () => resolve(true));
        setTimeout(() => { s.destroy(); resolve(false); }, 10_000);
      });
    }

    test("an invalid block after a valid handshake", async () => {
      const ip = "127.0.0.26";
      const g = genesisBlock(params);
      // A block on genesis that reuses the genesis coinbase (height 0 at height 1).
      const bad: Block = { header: { ...g.header, prevHash: genesis, time: g.header.time + 60, nonce: 1 }, txs: g.txs };
      expect(await afterHandshake(ip, (s) => s.write(frame(["blocks", [encodeBlock(bad)]], 1 << 20)))).toBe(true);
      await waitFor(() => banReason(ip));
      expect(banReason(ip)).toMatch(/invalid data: coinbase-height/);
      expect((await get(victim, "/api/peers")).banned.map((b: any) => b.ip)).toContain(ip);
    }, 30_000);

    test("flooding after a valid handshake", async () => {
      const ip = "127.0.0.27";
      const pings = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from(frame(["ping", i], 100))));
      expect(await afterHandshake(ip, (s) => s.write(pings))).toBe(true);
      await waitFor(() => banReason(ip));
      expect(banReason(ip)).toBe("flooding");
      expect((await get(victim, "/health")).status).toBe("ok");
    }, 30_000);
  });
});

describe("address gossip", () => {
  test("a node that knows one peer learns and connects to that peer's other peers", async () => {
    const a = startNode("ga", []);
    const b = startNode("gb", ["--peer", `127.0.0.1:${a.p2p}`]);
    await waitFor(async () => ((await get(a, "/api/peers"))?.peers?.some((p: any) => p.ready) ? true : undefined));
    // C knows only A; A tells it about B (listening on 127.0.0.1:b.p2p), and C dials B.
    const c = startNode("gc", ["--peer", `127.0.0.1:${a.p2p}`]);
    const peersOfC = await waitFor(async () => {
      const p = (await get(c, "/api/peers"))?.peers?.filter((x: any) => x.ready) ?? [];
      return p.length >= 2 ? p : undefined;
    }, 30_000);
    expect(peersOfC.map((p: any) => p.listen_port).sort()).toEqual([a.p2p, b.p2p].sort());
  }, 60_000);
});

describe("long sync", () => {
  test("a node syncs 700 blocks (more than one flood window of messages) without tripping its peer's flood ban", async () => {
    const { Chain, bitsToTarget, encodeHeader, generateKeyPair } = await import("../../src/chain");
    const { Store } = await import("../../src/store");
    const { loadKernel } = await import("../../src/kernel");
    const { bigIntToLe } = await import("../../src/core");
    const { writeFileSync } = await import("node:fs");
    const params = { ...NETWORKS.devnet!, name: "long-sync", chainId: "long-sync-1", powLimitBits: 0x207fffff, blockTime: 600, maxFutureSeconds: 10_000_000 };
    const dir = mkdtempSync(join(tmpdir(), "rignode-long-"));
    writeFileSync(join(dir, "net.json"), JSON.stringify(params));
    const { lib } = await loadKernel("auto");
    const store = Store.open(join(dir, "src"));
    const chain = new Chain({ store, params, powHash: (h) => lib.hash(params.algo, h) });
    const kp = generateKeyPair();
    for (let i = 0; i < 700; i++) {
      const en = new Uint8Array(8);
      new DataView(en.buffer).setUint32(4, i);
      const t = chain.template((total) => [{ to: kp.publicKey, amount: total }], en);
      const header = { ...t.header, time: params.genesis.time + (i + 1) * params.blockTime };
      const target = bigIntToLe(bitsToTarget(header.bits));
      let nonce = -1;
      for (let s = 0; nonce < 0; s += 64) nonce = lib.scan(params.algo, encodeHeader(header), s, 64, target)[0] ?? -1;
      chain.acceptBlock({ ...t, header: { ...header, nonce } });
    }
    store.close();
    const net = join(dir, "net.json");
    const src = startNode("long-src", ["--network", net], join(dir, "src"));
    await waitFor(() => get(src, "/health"));
    const dst = startNode("long-dst", ["--network", net, "--peer", `127.0.0.1:${src.p2p}`]);
    const t = await sameTip([src, dst], 700, 60_000);
    expect(t!.height).toBe(700);
    expect((await get(src, "/api/peers")).banned).toEqual([]);
  }, 120_000);
});

// rignode pool on a real coin: litecoind regtest as the upstream, two rignode workers (native and JSON), blocks judged
// by the daemon byte for byte. MWEB both never active and active (HogEx + extension block), BIP34 past height 500,
// and the daemon killed and restarted mid-run. .ci/run installs litecoind; without it these tests are skipped.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, waitFor } from "../helpers";
import { coin, shareHeader, swapWords, type PoolJob } from "../../src/pool";
import { fromHex, leToBigInt, toHex } from "../../src/core";
import { base58CheckEncode, bitsToTarget } from "../../src/chain";
import { kernel } from "../chain/helpers";
import { haveLitecoind, regtestPair, type Daemon } from "./litecoind";

const NET = coin.COIN_NETWORKS["litecoin-regtest"]!;
const env = { ...process.env, RIGNODE_LOG_JSON: "true" };
const spawn = (args: string[]) => Bun.spawn([bin(), ...args], { stdout: "ignore", stderr: "ignore", env });
const niced = (args: string[]) => Bun.spawn(["nice", "-n", "19", bin(), ...args], { stdout: "ignore", stderr: "ignore", env });
const sats = (v: number) => BigInt(Math.round(v * 1e8));

async function json(url: string): Promise<any> {
  try {
    const r = await fetch(url);
    return await r.json();
  } catch {
    return undefined;
  }
}

/** Limits off by default here: two workers at regtest difficulty make thousands of shares a second. */
const NO_LIMITS = ["--shares-per-second", "0", "--ban-seconds", "0"];

function startPool(upstream: string, poolAddress: string, limits = NO_LIMITS) {
  const api = freePort();
  const native = freePort();
  const jsonPort = freePort();
  const proc = spawn([
    "pool", "--upstream", upstream, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-up-")), "--api", `127.0.0.1:${api}`,
    "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`,
    "--pool-fee", "2", "--pool-address", poolAddress, "--pplns-window", "1", ...limits,
  ]);
  return { proc, api: `http://127.0.0.1:${api}`, native, jsonPort };
}

function startWorkers(pool: ReturnType<typeof startPool>, a: string, b: string) {
  // Niced: at regtest difficulty two workers (one CPU each) would starve the daemons on a 2-core machine (their RPC
  // times out and the pool rightly calls the upstream down); on a real rig the daemon has a machine of its own.
  const w = (url: string, user: string) =>
    niced(["worker", "--algo", "scrypt", "--pool", url, "--user", user, "--threads", "1", "--api", `127.0.0.1:${freePort()}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-w-"))]);
  return [w(`127.0.0.1:${pool.native}`, `${a}.rig1`), w(`stratum+tcp://127.0.0.1:${pool.jsonPort}`, `${b}.rig2`)];
}

const addr = {
  a: coin.encodeSegwit("rltc", 0, new Uint8Array(20).fill(0xa1)), // bech32 P2WPKH
  b: base58CheckEncode(0x6f, new Uint8Array(20).fill(0xb2)), // legacy P2PKH
  pool: base58CheckEncode(0x3a, new Uint8Array(20).fill(0xc3)), // P2SH
  burn: coin.encodeSegwit("rltc", 0, new Uint8Array(32).fill(0xd4)), // P2WSH, for the blocks before the pool
};

/**
 * Every pool block that pays both workers: on the daemon's main chain, its coinbase exactly the stored plan (plus the
 * witness commitment), the foundation's 1% rounded up (with the rounding remainders) and the 2% pool fee exact, and
 * the workers paid in proportion to their weights. Returns the heights checked.
 */
async function checkBlocks(oracle: Daemon, blocks: any[]): Promise<number[]> {
  const heights: number[] = [];
  for (const blk of blocks) {
    if (blk.status !== "main" || !blk.weights[addr.a] || !blk.weights[addr.b] || Object.keys(blk.carried).length) continue;
    expect(await oracle.call("getblockhash", [blk.height])).toBe(blk.hash);
    const got = await oracle.call("getblock", [blk.hash, 2]);
    const cb = got.tx[0];
    const outs = cb.vout.filter((o: any) => !o.scriptPubKey.hex.startsWith("6a24aa21a9ed"));
    expect(outs.map((o: any) => ({ script: o.scriptPubKey.hex, amount: sats(o.value).toString() }))).toEqual(
      blk.outputs.map((o: any) => ({ script: toHex(coin.addressToScript(o.address, NET)), amount: o.amount })),
    );
    const commitment = cb.vout.find((o: any) => o.scriptPubKey.hex.startsWith("6a24aa21a9ed"));
    expect(commitment?.value).toBe(0);
    const total = BigInt(blk.total);
    expect(outs.reduce((t: bigint, o: any) => t + sats(o.value), 0n)).toBe(total);
    const poolFee = (total * 200n) / 10_000n;
    expect(BigInt(blk.pool_fee)).toBe(poolFee);
    const wa = BigInt(blk.weights[addr.a]);
    const wb = BigInt(blk.weights[addr.b]);
    const part = total - (total + 99n) / 100n - poolFee;
    const amt = (x: string) => BigInt(blk.outputs.find((o: any) => o.address === x).amount);
    expect(amt(addr.a)).toBe((part * wa) / (wa + wb));
    expect(amt(addr.b)).toBe((part * wb) / (wa + wb));
    expect(amt(addr.pool)).toBe(poolFee);
    expect(BigInt(blk.foundation)).toBe((total + 99n) / 100n + part - amt(addr.a) - amt(addr.b));
    heights.push(blk.height);
  }
  return heights;
}

/**
 * The pool on the daemon with the two workers, until the pool's main-chain blocks that pay both satisfy `enough`;
 * then every such block is checked against the daemon (checkBlocks). The processes go into `procs`.
 */
async function mineWithPool(o: Daemon, procs: ReturnType<typeof spawn>[], enough: (both: { height: number }[]) => boolean) {
  const pool = startPool(o.url, addr.pool);
  procs.push(pool.proc);
  await waitFor(() => json(`${pool.api}/health`).then((h) => (h?.ok ? h : undefined)), 30_000);
  procs.push(...startWorkers(pool, addr.a, addr.b));
  const heights = await waitFor(async () => {
    const r = await json(`${pool.api}/pool/blocks?limit=1000`);
    const both = (r?.blocks ?? []).filter((x: any) => x.status === "main" && x.weights[addr.a] && x.weights[addr.b]);
    return enough(both) ? checkBlocks(o, r.blocks) : undefined;
  }, 120_000);
  return { pool, heights };
}

describe.skipIf(!haveLitecoind)("rignode pool on litecoind regtest", () => {
  test("MWEB never active: blocks across height 500 accepted by litecoind, paying both workers as planned; the daemon killed and restarted; a reorg orphans the pool's block", async () => {
    const pair = await regtestPair(mkdtempSync(join(tmpdir(), "rignode-ltc-")), false);
    const procs: ReturnType<typeof spawn>[] = [];
    try {
      const o = pair.oracle;
      for (const a of Object.values(addr)) expect((await o.call("validateaddress", [a])).scriptPubKey).toBe(toHex(coin.addressToScript(a, NET)));
      await o.call("generatetoaddress", [495, addr.burn]); // BIP34 is enforced from height 500 in regtest
      const { pool, heights } = await mineWithPool(o, procs, (both) => both.length >= 8 && both.some((x) => x.height > 502));
      expect(heights.length).toBeGreaterThanOrEqual(5);
      expect(heights.some((h) => h > 500)).toBe(true);
      const stats = await json(`${pool.api}/pool/stats`);
      expect(stats.source).toMatchObject({ kind: "upstream", coin: "litecoin", chain: "regtest", algo: "scrypt", up: true, mweb: false, proposals_rejected: 0 });
      expect(stats.workers.map((w: any) => w.address).sort()).toEqual([addr.a, addr.b].sort());

      // The daemon goes away: the pool stays up, says so, and keeps the last job; back, mining goes on from its tip.
      await o.stop();
      const down = await waitFor(() => json(`${pool.api}/health`).then((h) => (h && h.ok === false ? h : undefined)), 30_000);
      expect(down.status).toBe("degraded");
      expect(down.upstream.up).toBe(false);
      expect(down.upstream.last_error).toBeTruthy();
      expect(pool.proc.exitCode).toBeNull();
      expect((await json(`${pool.api}/pool/stats`)).job).not.toBeNull();
      await o.start();
      await waitFor(async () => ((await o.call("getconnectioncount")) > 0 ? true : undefined), 30_000);
      const before = await o.call("getblockcount");
      await waitFor(() => json(`${pool.api}/health`).then((h) => (h?.ok ? h : undefined)), 30_000);
      // The pool's blocks after the restart, on the daemon's chain.
      const after = await waitFor(async () => {
        const r = await json(`${pool.api}/pool/blocks?limit=1000`);
        const n = (r?.blocks ?? []).filter((x: any) => x.height > before && x.status === "main");
        return n.length >= 3 ? n : undefined;
      }, 60_000);
      for (const blk of after) expect(await o.call("getblockhash", [blk.height])).toBe(blk.hash);

      // A reorganisation on the daemon (invalidateblock on one of the pool's blocks): that block and the pool blocks
      // above it are marked orphaned once the pool sees the next tip; the ones below stay main.
      const gone = after[after.length - 1]!;
      const above = ((await json(`${pool.api}/pool/blocks?limit=1000`)).blocks as any[]).filter((b) => b.height >= gone.height).map((b) => b.hash as string);
      expect(above.length).toBeGreaterThanOrEqual(3); // gone and the pool blocks after the restart built on it
      await o.call("invalidateblock", [gone.hash]);
      const blocks = await waitFor(async () => {
        const r = await json(`${pool.api}/pool/blocks?limit=1000`);
        const mine = (r?.blocks ?? []).filter((b: any) => above.includes(b.hash));
        return mine.length === above.length && mine.every((b: any) => b.status === "orphaned") ? (r.blocks as any[]) : undefined;
      }, 60_000);
      // Above: every one orphaned, and none of them is the daemon's block at its height any more.
      for (const h of above) {
        const b = blocks.find((x) => x.hash === h)!;
        expect(await o.call("getblockhash", [b.height]).catch(() => null)).not.toBe(b.hash);
      }
      // Below: main, exactly the daemon's blocks at those heights.
      const below = blocks.filter((b) => b.height < gone.height);
      expect(below.length).toBeGreaterThan(0);
      for (const b of below) expect([b.hash, b.status]).toEqual([await o.call("getblockhash", [b.height]), "main"]);
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await pair.stop();
    }
  }, 300_000);

  test("an unmodified-style Stratum V1 client submitting blocks faster than litecoind takes them, default limits: never banned, blocks accepted", async () => {
    const pair = await regtestPair(mkdtempSync(join(tmpdir(), "rignode-ltc-fast-")), false);
    const procs: ReturnType<typeof spawn>[] = [];
    try {
      const o = pair.oracle;
      await o.call("generatetoaddress", [101, addr.burn]);
      const pool = startPool(o.url, addr.pool, []); // default rate limit and bans
      procs.push(pool.proc);
      await waitFor(() => json(`${pool.api}/health`).then((h) => (h?.ok ? h : undefined)), 30_000);
      // A scripted JSON-line miner: every notify is mined with the kernel and every share sent at once (on regtest
      // about every other scrypt hash is a block, so nearly every share is a block candidate).
      const got: any[] = [];
      let text = "";
      let closed = false;
      const sock = await Bun.connect({
        hostname: "127.0.0.1",
        port: pool.jsonPort,
        socket: {
          data(_s, chunk) {
            text += chunk.toString();
            const lines = text.split("\n");
            text = lines.pop()!;
            for (const l of lines) if (l.trim()) got.push(JSON.parse(l));
          },
          close: () => void (closed = true),
        },
      });
      const send = (m: unknown) => sock.write(JSON.stringify(m) + "\n");
      send({ id: 1, method: "mining.subscribe", params: ["scripted-fast/1"] });
      send({ id: 2, method: "mining.authorize", params: [`${addr.a}.fast`, "x"] });
      const sub = await waitFor(() => got.find((m) => m.id === 1));
      expect((await waitFor(() => got.find((m) => m.id === 2))).result).toBe(true);
      const en1 = fromHex(sub.result[1]);
      let id = 10;
      let en2 = 0;
      const end = Date.now() + 15_000;
      while (Date.now() < end && !closed) {
        const n = [...got].reverse().find((m) => m.method === "mining.notify");
        if (!n) {
          await Bun.sleep(10);
          continue;
        }
        const p = n.params;
        const job = {
          id: p[0], coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: (p[4] as string[]).map((b) => fromHex(b)),
          work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } },
        } as unknown as PoolJob;
        const target = bitsToTarget(parseInt(p[6], 16));
        const e2 = (en2++).toString(16).padStart(8, "0");
        // 40 submissions per pass, then a breath: a few hundred a second, far more blocks than a daemon takes.
        for (let nonce = 0, sent = 0; sent < 40 && nonce < 1000; nonce++) {
          const s = { extranonce2: e2, ntime: p[7], nonce: nonce.toString(16).padStart(8, "0") };
          const h = leToBigInt(kernel.hash("scrypt", shareHeader(job, en1, s, 0).bytes));
          if (h > target) continue;
          send({ id: id++, method: "mining.submit", params: [`${addr.a}.fast`, p[0], s.extranonce2, s.ntime, s.nonce] });
          sent++;
        }
        await Bun.sleep(100);
      }
      await Bun.sleep(1000);
      const answers = got.filter((m) => typeof m.id === "number" && m.id >= 10);
      const errors = answers.filter((m) => m.error).map((m) => m.error[1] as string);
      expect(closed).toBe(false);
      expect(errors.filter((e) => /^Banned/.test(e))).toEqual([]);
      expect(got.filter((m) => m.method === "client.show_message")).toEqual([]);
      expect((await json(`${pool.api}/pool/bans`)).bans).toEqual([]);
      expect(answers.filter((m) => m.result === true).length).toBeGreaterThan(0);
      const stats = await json(`${pool.api}/pool/stats`);
      for (const r of ["low_difficulty", "invalid", "job_not_found", "unauthorized"]) expect(stats.shares.rejected[r] ?? 0).toBe(0);
      const blocks = (await json(`${pool.api}/pool/blocks?limit=1000`)).blocks.filter((b: any) => b.status === "main");
      expect(blocks.length).toBeGreaterThanOrEqual(3);
      for (const b of blocks.slice(0, 5)) expect(await o.call("getblockhash", [b.height])).toBe(b.hash);
      sock.end();
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await pair.stop();
    }
  }, 120_000);

  test("MWEB active: from height 432 every block carries the HogEx and the extension block, and litecoind accepts the pool's", async () => {
    const pair = await regtestPair(mkdtempSync(join(tmpdir(), "rignode-ltc-mweb-")), true);
    const procs: ReturnType<typeof spawn>[] = [];
    try {
      const o = pair.oracle;
      await o.call("createwallet", ["w"]);
      const mine = await o.call("getnewaddress", []);
      await o.call("generatetoaddress", [431, mine]);
      // The first MWEB block's HogEx needs a peg-in (a chain stalls at 431 without one).
      await o.call("sendtoaddress", [await o.call("getnewaddress", ["", "mweb"]), 1.0]);
      const { pool, heights } = await mineWithPool(o, procs, (both) => both.length >= 5);
      expect(heights.length).toBeGreaterThanOrEqual(5);
      const info = await o.call("getblockchaininfo");
      expect(info.softforks.mweb.active).toBe(true);
      // Block 432 (the pool's, with the peg-in) and the later ones: coinbase, ..., HogEx last; the extension block present.
      const r = await json(`${pool.api}/pool/blocks?limit=1000`);
      const b432 = r.blocks.find((x: any) => x.height === 432);
      expect(b432?.status).toBe("main");
      for (const h of [432, ...heights]) {
        const blk = await o.call("getblock", [await o.call("getblockhash", [h]), 2]);
        expect(blk.tx.length).toBeGreaterThanOrEqual(2);
        expect(blk.tx[blk.tx.length - 1].hex.slice(8, 12)).toBe("0008"); // the HogEx: witness marker 00, flag 08
        expect(blk.mweb).toBeDefined();
      }
      expect((await json(`${pool.api}/pool/stats`)).source).toMatchObject({ mweb: true, proposals_rejected: 0 });
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await pair.stop();
    }
  }, 300_000);
});

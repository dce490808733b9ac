// Sync throughput: builds a chain of N blocks (each with a few signed transfers) in a data dir, serves it from
// one rignode process and times a fresh rignode syncing it over loopback P2P (headers first, then blocks).
// usage: bun run bench/sync.ts [--blocks N] [--txs-per-block K]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitsToTarget, Chain, encodeHeader, generateKeyPair, NETWORKS, signTransfer, type Block, type NetworkParams } from "../src/chain";
import { bigIntToLe } from "../src/core";
import { loadKernel } from "../src/kernel";
import { Store } from "../src/store";

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1]! : d);
const N = Number(opt("blocks", "2000"));
const K = Number(opt("txs-per-block", "5"));
const BIN = join(import.meta.dir, "..", "dist", "rignode");

// An easy network whose difficulty stays at the limit, so building the chain costs little hashing.
const params: NetworkParams = { ...NETWORKS.devnet!, name: "bench-sync", chainId: "bench-sync-1", powLimitBits: 0x207fffff, blockTime: 600, maxFutureSeconds: 10_000_000 };
const dir = mkdtempSync(join(tmpdir(), "rignode-bench-sync-"));
const netFile = join(dir, "net.json");
writeFileSync(netFile, JSON.stringify(params));
const src = join(dir, "src");
const { lib } = await loadKernel("auto");
const chain = new Chain({ store: Store.open(src), params, powHash: (h) => lib.hash(params.algo, h) });
const miner = generateKeyPair();
const users = Array.from({ length: K }, () => generateKeyPair());
const nonces = new Map<string, bigint>();
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  if (i > 2) {
    for (const u of users) {
      const n = nonces.get(u.seed.toString()) ?? 0n;
      chain.addToMempool(signTransfer({ from: miner.publicKey, to: u.publicKey, amount: 10_000n, fee: 1n, nonce: chain.nextNonce(miner.publicKey) }, miner.seed, params.chainId));
      nonces.set(u.seed.toString(), n + 1n);
    }
  }
  const en = new Uint8Array(8);
  new DataView(en.buffer).setUint32(4, i);
  const tmpl = chain.template((total) => [{ to: miner.publicKey, amount: total }], en);
  // Blocks exactly one block time apart keep LWMA at the limit (fast blocks would make it harder).
  const t = { ...tmpl, header: { ...tmpl.header, time: params.genesis.time + (i + 1) * params.blockTime } };
  const target = bigIntToLe(bitsToTarget(t.header.bits));
  const header = encodeHeader(t.header);
  let nonce = -1;
  for (let s = 0; nonce < 0; s += 64) nonce = lib.scan(params.algo, header, s, 64, target)[0] ?? -1;
  chain.acceptBlock({ ...t, header: { ...t.header, nonce } } as Block);
}
console.error(`built ${N} blocks with ${K} transfers each in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const free = () => { const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); const p = s.port; s.stop(true); return p; };
const [p2p, apiA, apiB] = [free(), free(), free()];
const a = Bun.spawn([BIN, "node", "--network", netFile, "--data-dir", src, "--p2p", `127.0.0.1:${p2p}`, "--api", `127.0.0.1:${apiA}`], { stderr: "ignore" });
await Bun.sleep(500);
const start = performance.now();
const b = Bun.spawn([BIN, "node", "--network", netFile, "--data-dir", join(dir, "dst"), "--p2p", "off", "--peer", `127.0.0.1:${p2p}`, "--api", `127.0.0.1:${apiB}`], { stderr: "ignore" });
for (;;) {
  try {
    const tip = (await (await fetch(`http://127.0.0.1:${apiB}/api/chain/tip`)).json()) as { height: number };
    if (tip.height >= N) break;
  } catch {}
  await Bun.sleep(20);
}
const s = (performance.now() - start) / 1000;
console.log(`synced ${N} blocks (${N * (K + 1)} transactions) in ${s.toFixed(2)} s: ${(N / s).toFixed(0)} blocks/s, ${((N * (K + 1)) / s).toFixed(0)} tx/s (process start included)`);
a.kill();
b.kill();

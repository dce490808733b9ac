// rignode node as real processes on loopback: the API, solo mining, wallet transfers, kill -9 and restart.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, run, waitFor } from "../helpers";
import { Chain, NETWORKS } from "../../src/chain";
import { Store } from "../../src/store";
import { loadKernel } from "../../src/kernel";

function start(args: string[]) {
  // P2P off unless a test gives --p2p: nothing listens beyond loopback.
  const p2p = args.includes("--p2p") ? [] : ["--p2p", "off"];
  return Bun.spawn([bin(), "node", ...p2p, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" } });
}

async function getJson(url: string, init?: RequestInit): Promise<any> {
  try {
    const r = await fetch(url, init);
    return { status: r.status, body: await r.json() };
  } catch {
    return undefined;
  }
}

describe("rignode node", () => {
  test("serves /health, /info, /metrics and the chain API; stops cleanly on SIGTERM", async () => {
    const port = freePort();
    const data = mkdtempSync(join(tmpdir(), "rignode-node-"));
    const proc = start(["--api", `127.0.0.1:${port}`, "--data-dir", data]);
    const base = `http://127.0.0.1:${port}`;
    try {
      const health = await waitFor(() => getJson(`${base}/health`));
      expect(health.status).toBe(200);
      const info = (await getJson(`${base}/info`)).body;
      expect(info).toMatchObject({ name: "rignode", role: "node", chain: { network: "devnet", height: 0 } });
      expect(["baseline", "v3", "v4"]).toContain(info.kernel.variant);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^rignode_build_info\{version="[^"]+",commit="[^"]+",role="node",kernel_variant="(baseline|v3|v4)"\} 1$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(metrics).toMatch(/^rignode_chain_height 0$/m);
      expect(metrics).toMatch(/^rignode_p2p_peers 0$/m);
      expect(metrics).not.toContain("rignode_miner_hashes_total"); // not mining
      const tip = (await getJson(`${base}/api/chain/tip`)).body;
      expect(tip).toMatchObject({ height: 0, network: "devnet" });
      const genesis = (await getJson(`${base}/api/chain/block/0`)).body;
      expect(genesis.hash).toBe(tip.hash);
      expect((await getJson(`${base}/api/miner`)).status).toBe(404); // not mining
      expect((await getJson(`${base}/api/chain/block/99`)).status).toBe(404);
      const bad = await getJson(`${base}/api/tx`, { method: "POST", body: JSON.stringify({ raw: "00ff" }), headers: { "content-type": "application/json" } });
      expect(bad.status).toBe(400);
      expect((await getJson(`${base}/api/balance/not-an-address`)).status).toBe(400);
      expect(existsSync(join(data, "api-token"))).toBe(false);
      // A second process on the same data dir is refused, and the first keeps running.
      const second = run([bin(), "node", "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--data-dir", data]);
      expect(second.stderr).toContain(`is in use by process ${proc.pid}`);
      expect(second.code).toBe(1); // a runtime failure, not bad input
      expect((await getJson(`${base}/health`)).status).toBe(200);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
    const events = (await new Response(proc.stderr).text()).trim().split("\n").map((l) => JSON.parse(l).event);
    expect(events).toContain("api.listening");
    expect(events).toContain("role.stopped");
    expect(existsSync(join(data, "LOCK"))).toBe(false); // released on a clean stop
  }, 30_000);

  test("--api-auth token: writes need the bearer token from the data dir (0600)", async () => {
    const port = freePort();
    const data = mkdtempSync(join(tmpdir(), "rignode-node-"));
    const proc = start(["--api", `127.0.0.1:${port}`, "--api-auth", "token", "--data-dir", data]);
    try {
      await waitFor(() => getJson(`http://127.0.0.1:${port}/health`));
      const tokenFile = join(data, "api-token");
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, "utf8").trim();
      const body = JSON.stringify({ raw: "00" });
      const json = { "content-type": "application/json" };
      expect((await fetch(`http://127.0.0.1:${port}/api/tx`, { method: "POST", body, headers: json })).status).toBe(401);
      const authed = await fetch(`http://127.0.0.1:${port}/api/tx`, { method: "POST", body, headers: { ...json, authorization: `Bearer ${token}` } });
      expect(authed.status).toBe(400); // authenticated, then refused as a malformed transaction
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 30_000);

  test("--mine mines blocks to the wallet; a wallet transfer is mined and shows in balances", async () => {
    const port = freePort();
    const api = `127.0.0.1:${port}`;
    const data = mkdtempSync(join(tmpdir(), "rignode-node-"));
    const other = mkdtempSync(join(tmpdir(), "rignode-wallet-"));
    const proc = start(["--mine", "--threads", "1", "--api", api, "--data-dir", data]);
    try {
      await waitFor(async () => ((await getJson(`http://${api}/api/chain/tip`))?.body?.height >= 2 ? true : undefined), 30_000);
      // Hashrate windows need two samples, a second apart.
      const miner = await waitFor(async () => {
        const m = (await getJson(`http://${api}/api/miner`))?.body;
        return m?.hashrate_hs?.["10s"] > 0 ? m : undefined;
      });
      expect(miner.mining).toBe(true);
      expect(miner.blocks_found).toBeGreaterThanOrEqual(2);
      expect(miner.hashrate_hs["10s"]).toBeGreaterThan(0);
      const metrics = await (await fetch(`http://${api}/metrics`)).text();
      expect(metrics).toMatch(/^rignode_miner_hashes_total \d+$/m);
      expect(metrics).toMatch(/^rignode_miner_hashrate_hashes_per_second\{window="10s"\} [\d.e+]+$/m);
      const to = run([bin(), "wallet", "new", "--data-dir", other]).stdout.trim();
      const sent = run([bin(), "wallet", "send", "--to", to, "--amount", "1.25", "--data-dir", data, "--api", api]);
      expect(sent.stderr).toBe("");
      expect(sent.code).toBe(0);
      // Amount, fee, sender, recipient and txid on labelled lines, in coins.
      const lines = Object.fromEntries(sent.stdout.trim().split("\n").map((l) => l.split(/ +/, 2) as [string, string]));
      const from = run([bin(), "wallet", "address", "--data-dir", data]).stdout.trim();
      expect(lines).toEqual({ sent: "1.25", fee: "0.0001", from, to, txid: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(sent.stdout).toContain("sent    1.25 coins\nfee     0.0001 coins\n");
      const txid = lines.txid!;
      const mined = await waitFor(async () => {
        const r = await getJson(`http://${api}/api/chain/tx/${txid}`);
        return r?.body?.confirmations >= 1 ? r.body : undefined;
      }, 30_000);
      expect(mined).toMatchObject({ type: "transfer", to, amount: "125000000", fee: "10000" });
      const bal = run([bin(), "wallet", "balance", to, "--api", api]);
      expect(bal.stdout.trim()).toBe(`1.25 coins at ${to}`); // base units only in the API's JSON
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 90_000);

  test("kill -9 while blocks are being connected: after restart the state equals a replay of the stored blocks", async () => {
    const data = mkdtempSync(join(tmpdir(), "rignode-kill-"));
    for (let round = 0; round < 3; round++) {
      const port = freePort();
      const proc = start(["--mine", "--threads", "2", "--api", `127.0.0.1:${port}`, "--data-dir", data]);
      await waitFor(async () => ((await getJson(`http://127.0.0.1:${port}/api/chain/tip`))?.body?.height > round * 3 ? true : undefined), 30_000);
      await Bun.sleep(300 + round * 170);
      proc.kill("SIGKILL");
      await proc.exited;
    }
    // Replay every main-chain block of the killed node into a fresh chain and compare state.
    const { lib } = await loadKernel("auto");
    const params = NETWORKS.devnet!;
    const powHash = (h: Uint8Array) => lib.hash(params.algo, h);
    const killedStore = Store.open(data);
    const killed = new Chain({ store: killedStore, params, powHash });
    const fresh = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-replay-"))), params, powHash });
    const tip = killed.tip();
    expect(tip.height).toBeGreaterThan(3);
    for (let h = 1; h <= tip.height; h++) fresh.acceptBlock(killed.block(killed.hashAt(h)!)!.block);
    expect(fresh.tip().hash).toEqual(tip.hash);
    const accounts = (s: Store) => s.db.query("SELECT hex(address) AS a, balance, nonce FROM accounts ORDER BY a").all();
    expect(accounts(killedStore)).toEqual(accounts((fresh as any).opts.store));
    // Every stored main-chain block has its undo record, and nothing else does.
    const n = killedStore.db.query<{ m: number; u: number }, []>("SELECT (SELECT count(*) FROM main_chain) AS m, (SELECT count(*) FROM undo) AS u").get()!;
    expect(n.u).toBe(n.m - 1);
    killedStore.close();
  }, 120_000);
});

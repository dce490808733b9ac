// Pool load generator: simulated workers over loopback against a real `rignode pool` process.
// Reports (1) connections held and pool memory per idle connection, (2) time from a new tip to the last notify at
// N connections, (3) shares/s validated per pool CPU core for sha256d and scrypt with p50/p99 response latency,
// over 20 s and 55 s of shares piling up on one job.
// Each part runs once per --stratum-threads value (1: one thread; N > 1: N shards with SO_REUSEPORT listeners).
// With gcc, each tip is paired with a round of the C send floor (bench/send-floor.c, as many threads as the pool has
// stratum threads) to as many connections read as cheaply (a child process): the ratio pool / floor is of one run.
// usage: bun run bench/pool-load.ts [--conns 1000,10000] [--tips 20] [--algos sha256d,scrypt] [--seconds 55]
//        [--share-conns 32] [--window 16] [--stratum-threads 1,2] [--skip-conns] [--skip-shares] [--no-floor] [--json]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { bitsToTarget, encodeAddress, generateKeyPair, NETWORKS, type NetworkParams } from "../src/chain";
import { bigIntToLe, fromHex, type Algo } from "../src/core";
import { loadKernel } from "../src/kernel";
import { shareHeader, swapWords, type PoolJob } from "../src/pool";

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1]! : d);
const flag = (n: string) => args.includes(`--${n}`);
const BIN = join(import.meta.dir, "..", "dist", "rignode");
const CONNS = opt("conns", "1000,10000").split(",").map(Number);
const TIPS = Number(opt("tips", "20"));
const ALGOS = opt("algos", "sha256d,scrypt").split(",") as Algo[];
const SECONDS = Number(opt("seconds", "55"));
const SHARE_CONNS = Number(opt("share-conns", "32"));
const WINDOW = Number(opt("window", "16"));
const THREADS = opt("stratum-threads", "1").split(",").map(Number);
const dir = mkdtempSync(join(tmpdir(), "rignode-bench-pool-"));
const user = encodeAddress(generateKeyPair().publicKey, NETWORKS.devnet!.addressVersion);
const { lib } = await loadKernel("auto");
const results: Record<string, unknown> = {};
const say = (s: string) => console.error(s);

/** The C send floor, built once (null without gcc or with --no-floor). */
const floorExe = (() => {
  if (flag("no-floor") || !Bun.which("gcc")) return null;
  const exe = join(dir, "send-floor");
  const cc = Bun.spawnSync(["gcc", "-O2", "-pthread", "-o", exe, join(import.meta.dir, "send-floor.c")]);
  if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
  return exe;
})();

/** The floor on `n` connections from this process, a round of `bytes` per connection from `threads` threads on demand. */
async function startFloor(exe: string, n: number, threads: number, bytes: number) {
  const port = 20000 + Math.floor(Math.random() * 12000); // below the ephemeral range: no client connection holds it
  const p = Bun.spawn([exe, String(port), String(n), String(threads), String(bytes), "0"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  let buf = "";
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("send-floor ended");
      buf += new TextDecoder().decode(value);
    }
  };
  if ((await line()) !== "listening") throw new Error("send-floor did not listen");
  // The floor's readers in a child process (this one holds the pool's n, within the fd limit), as cheap as a light Sim.
  const client = Bun.spawn(["bun", "-e", `for (let i = 0; i < ${n}; i++) await Bun.connect({ hostname: "127.0.0.1", port: ${port}, socket: { data() {} } }); setInterval(() => {}, 1e6);`], { stdout: "ignore", stderr: "inherit" });
  if ((await line()) !== "accepted") throw new Error("send-floor did not accept");
  return {
    /** The round's milliseconds and its busiest thread's CPU microseconds per connection. */
    round: async () => {
      p.stdin.write("\n");
      p.stdin.flush();
      const [ms, cpu] = (await line()).split(" ").map(Number);
      return { ms: ms!, cpu: cpu! };
    },
    stop: () => {
      p.kill();
      client.kill();
    },
  };
}

const free = () => {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
};

function network(name: string, algo: Algo, bits: number, blockTime: number): string {
  const p: NetworkParams = { ...NETWORKS.devnet!, name, chainId: `${name}-1`, algo, powLimitBits: bits, blockTime, maxFutureSeconds: 10_000_000 };
  const f = join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(p));
  return f;
}

async function startPool(net: string, tag: string, threads: number) {
  const [api, stratum] = [free(), free()];
  const proc = Bun.spawn(
    [...(process.env.POOL_CMD ? process.env.POOL_CMD.split(" ") : [BIN]), "pool", "--network", net, "--data-dir", join(dir, tag), "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", "off",
      "--stratum-json", `127.0.0.1:${stratum}`, "--max-conns-per-ip", "0", "--shares-per-second", "0", "--min-difficulty", "1e-12", "--log-level", "warn", "--stratum-threads", String(threads)],
    { stderr: "inherit", stdout: "ignore" },
  );
  const base = `http://127.0.0.1:${api}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (i > 200) throw new Error("pool did not start");
    await Bun.sleep(50);
  }
  const metric = async (name: string) => {
    const t = await (await fetch(`${base}/metrics`)).text();
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(t);
    return m ? Number(m[1]) : NaN;
  };
  return { proc, base, stratum, metric, stats: async () => (await (await fetch(`${base}/pool/stats`)).json()) as any };
}

/** A simulated worker: JSON lines, subscribe + authorize, collects notifies, answers by id. */
class Sim {
  socket!: Socket<unknown>;
  private text = "";
  en1 = "";
  notify: any[] | null = null;
  notifyAt = 0;
  /** Light: after its first work, a tip sim only notes when a message ends (all the pool sends it then is new work). */
  light = false;
  got = 0;
  onAnswer: ((id: number, ok: boolean, at: number) => void) | null = null;
  private waiters: (() => void)[] = [];
  static async open(port: number): Promise<Sim> {
    const s = new Sim();
    s.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data: (_x, chunk) => s.onData(chunk), close: () => {}, error: () => {} },
    });
    return s;
  }
  private onData(chunk: Buffer): void {
    const at = performance.now();
    if (this.light) {
      // As cheap as the send-floor's reader: the bench shares the machine's cores with the pool it measures.
      if (chunk[chunk.length - 1] === 10) (this.got++, (this.notifyAt = at));
      return;
    }
    this.text += chunk.toString("latin1");
    let nl: number;
    while ((nl = this.text.indexOf("\n")) >= 0) {
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      // Answers to submits are matched cheaply: {"id":N,"result":true,...}
      if (line.startsWith('{"id":') && this.onAnswer) {
        const id = parseInt(line.slice(6), 10);
        if (id >= 1000) {
          this.onAnswer(id, line.includes('"result":true'), at);
          continue;
        }
      }
      const m = JSON.parse(line);
      if (m.method === "mining.notify") {
        this.notify = m.params;
        this.notifyAt = at;
      } else if (m.id === 1 && m.result) this.en1 = m.result[1];
      const w = this.waiters;
      this.waiters = [];
      w.forEach((f) => f());
    }
  }
  async ready(password: string): Promise<void> {
    this.socket.write(`{"id":1,"method":"mining.subscribe","params":["bench"]}\n{"id":2,"method":"mining.authorize","params":["${user}","${password}"]}\n`);
    while (!this.notify) await new Promise<void>((r) => this.waiters.push(r));
  }
}

const quant = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

// ---- (1) connections and memory, (2) new tip to last notify ----
for (const threads of THREADS) {
const T = threads > 1 ? `, ${threads} stratum threads` : ", 1 stratum thread";
if (!flag("skip-conns")) {
  for (const n of CONNS) {
    // An easy network with 1 s blocks: the bench itself finds each block as a share on a connection of its own.
    const pool = await startPool(network(`bench-tip-${n}`, "sha256d", 0x207fffff, 1), `tip-${n}-t${threads}`, threads);
    await Bun.sleep(500);
    const rss0 = await pool.metric("process_resident_memory_bytes");
    const sims: Sim[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, n - i) }, () => Sim.open(pool.stratum)));
      await Promise.all(batch.map((s) => s.ready("x")));
      sims.push(...batch);
    }
    for (const s of sims) s.light = true;
    const openS = (performance.now() - t0) / 1000;
    await Bun.sleep(2000);
    const rss1 = await pool.metric("process_resident_memory_bytes");
    const held = (await pool.stats()).connections as number;
    const perConn = (rss1 - rss0) / n;
    say(`${n} connections${T}: opened and authorized in ${openS.toFixed(1)} s; pool holds ${held}; RSS ${(rss0 / 2 ** 20).toFixed(1)} -> ${(rss1 / 2 ** 20).toFixed(1)} MiB = ${(perConn / 1000).toFixed(2)} kB per connection`);

    // Tips: a miner connection finds a block on the current job; every simulated worker records its new notify.
    const miner = await Sim.open(pool.stratum);
    await miner.ready("x");
    const clientSpread: number[] = [];
    const sendToLast: number[] = [];
    const floorMs: number[] = [];
    const floorCpu: number[] = [];
    const notifyBytes = JSON.stringify({ id: null, method: "mining.notify", params: miner.notify }).length + 1;
    const floor = floorExe ? await startFloor(floorExe, n, threads, notifyBytes) : null;
    let en2 = 0;
    for (let k = 0; k < TIPS; k++) {
      if (floor) {
        const f = await floor.round();
        floorMs.push(f.ms);
        floorCpu.push(f.cpu);
        await Bun.sleep(300);
      }
      const p = miner.notify!;
      const job = { id: p[0], coinb1: fromHex(p[2]), coinb2: fromHex(p[3]), branch: (p[4] as string[]).map((b) => fromHex(b)), work: { header: { version: parseInt(p[5], 16), prevHash: swapWords(fromHex(p[1])), bits: parseInt(p[6], 16) } } } as unknown as PoolJob;
      const target = bigIntToLe(bitsToTarget(parseInt(p[6], 16)));
      let found: { e2: string; nonce: number } | null = null;
      while (!found) {
        const e2 = (++en2).toString(16).padStart(8, "0");
        const hdr = shareHeader(job, fromHex(miner.en1), { extranonce2: e2, ntime: p[7], nonce: "00000000" }, 0).bytes;
        const hits = lib.scan("sha256d", hdr, 0, 1 << 20, target);
        if (hits.length) found = { e2, nonce: hits[0]! };
      }
      const before = sims.map((s) => s.got);
      const sent = performance.now();
      miner.socket.write(JSON.stringify({ id: 3, method: "mining.submit", params: [user, p[0], found.e2, p[7], found.nonce.toString(16).padStart(8, "0")] }) + "\n");
      const end = Date.now() + 10_000;
      while (sims.some((s, i) => s.got === before[i]) && Date.now() < end) await Bun.sleep(2);
      const times = sims.map((s) => s.notifyAt);
      clientSpread.push(Math.max(...times) - Math.min(...times));
      sendToLast.push(Math.max(...times) - sent);
      await Bun.sleep(1000); // one block per second keeps the network difficulty at its limit
    }
    floor?.stop();
    const st = await pool.stats();
    const floorP50 = quant(floorMs, 0.5);
    results[`tip_${n}${threads > 1 ? `_t${threads}` : ""}`] = {
      stratum_threads: threads,
      connections: n,
      held,
      open_seconds: openS,
      rss_before_mib: rss0 / 2 ** 20,
      rss_after_mib: rss1 / 2 ** 20,
      bytes_per_connection: perConn,
      tips: TIPS,
      pool_tip_to_last_notify_ms: st.tip_to_notify_ms,
      pool_last_job_build_ms: st.last_broadcast_ms,
      ...(st.shards ? { shards: st.shards.map((x: any) => ({ shard: x.shard, connections: x.connections, job_to_notify_ms: x.job_to_notify_ms })) } : {}),
      ...(floor ? { c_send_floor_ms: { threads, bytes: notifyBytes, p50: floorP50, p99: quant(floorMs, 0.99), cpu_us_per_conn_p50: quant(floorCpu, 0.5) }, ratio_to_floor_p50: st.tip_to_notify_ms.p50 / floorP50 } : {}),
      client_submit_to_last_notify_ms: { p50: quant(sendToLast, 0.5), p99: quant(sendToLast, 0.99) },
      client_first_to_last_notify_ms: { p50: quant(clientSpread, 0.5), p99: quant(clientSpread, 0.99) },
    };
    say(`${n} connections${T}, ${TIPS} tips: pool tip -> last notify written p50 ${st.tip_to_notify_ms.p50?.toFixed(2)} ms, p99 ${st.tip_to_notify_ms.p99?.toFixed(2)} ms; ` +
      `bench: block submit -> last notify received p50 ${quant(sendToLast, 0.5).toFixed(1)} ms, p99 ${quant(sendToLast, 0.99).toFixed(1)} ms` +
      (floor ? `; C send floor (${threads} thread${threads > 1 ? "s" : ""}, ${notifyBytes} B, same client, interleaved) p50 ${floorP50.toFixed(1)} ms -> pool / floor = ${(st.tip_to_notify_ms.p50 / floorP50).toFixed(2)}x` : ""));
    for (const s of sims) s.socket.end();
    miner.socket.end();
    pool.proc.kill("SIGTERM");
    await pool.proc.exited;
  }
}

// ---- (3) shares/s validated per core, on one job ----
if (!flag("skip-shares")) {
  for (const algo of ALGOS) {
    // A network so hard that no share is a block: every share lands on the same job for the whole run.
    const pool = await startPool(network(`bench-shares-${algo}`, algo, 0x1c00ffff, 600), `shares-${algo}-t${threads}`, threads);
    const sims = await Promise.all(Array.from({ length: SHARE_CONNS }, () => Sim.open(pool.stratum)));
    // d=1e-12: every hash meets the share target, so the generator needs no hashing and the pool does all of it.
    await Promise.all(sims.map((s) => s.ready("d=1e-12")));
    const lat: number[] = [];
    let ok = 0;
    let bad = 0;
    let id = 1000;
    const sentAt = new Map<number, number>();
    const marks: { at: number; ok: number; cpu: number; lat: number }[] = [];
    let running = true;
    for (const [ci, s] of sims.entries()) {
      let counter = 0;
      const job = s.notify!;
      const pump = (k: number) => {
        let out = "";
        for (let i = 0; i < k; i++) {
          const n = ++counter;
          const myId = id++;
          sentAt.set(myId, performance.now());
          out += `{"id":${myId},"method":"mining.submit","params":["${user}","${job[0]}","${(n >>> 12).toString(16).padStart(8, "0")}","${job[7]}","${((n & 0xfff) | (ci << 20)).toString(16).padStart(8, "0")}"]}\n`;
        }
        s.socket.write(out);
      };
      // Answers that arrive together are replaced together (one write, as a proxy or a large miner sends).
      let owed = 0;
      s.onAnswer = (aid, good, at) => {
        const t = sentAt.get(aid);
        sentAt.delete(aid);
        if (t !== undefined) lat.push(at - t);
        if (good) ok++;
        else bad++;
        if (running && owed++ === 0) queueMicrotask(() => {
          const k = owed;
          owed = 0;
          pump(k);
        });
      };
      pump(WINDOW);
    }
    const t0 = performance.now();
    const cpu0 = await pool.metric("process_cpu_seconds_total");
    for (const w of [20, SECONDS]) {
      await Bun.sleep(Math.max(0, t0 + w * 1000 - performance.now()));
      marks.push({ at: performance.now(), ok, cpu: await pool.metric("process_cpu_seconds_total"), lat: lat.length });
    }
    running = false;
    await Bun.sleep(500);
    const rss = await pool.metric("process_resident_memory_bytes");
    const out: Record<string, unknown> = {};
    for (const [i, m] of marks.entries()) {
      const secs = (m.at - t0) / 1000;
      const lats = lat.slice(0, m.lat);
      const cpu = m.cpu - cpu0;
      const row = {
        seconds: secs,
        accepted: m.ok,
        shares_per_second: m.ok / secs,
        pool_cpu_cores: cpu / secs,
        shares_per_cpu_second: m.ok / cpu,
        latency_ms: { p50: quant(lats, 0.5), p99: quant(lats, 0.99) },
      };
      out[`window_${i === 0 ? 20 : SECONDS}s`] = row;
      say(`${algo}${T}, ${row.seconds.toFixed(0)} s on one job: ${m.ok} accepted, ${row.shares_per_second.toFixed(0)} shares/s, pool CPU ${row.pool_cpu_cores.toFixed(2)} cores -> ` +
        `${row.shares_per_cpu_second.toFixed(0)} shares per CPU second; latency p50 ${row.latency_ms.p50.toFixed(2)} ms, p99 ${row.latency_ms.p99.toFixed(2)} ms`);
    }
    out.rejected = bad;
    out.pool_rss_mib = rss / 2 ** 20;
    results[`shares_${algo}${threads > 1 ? `_t${threads}` : ""}`] = out;
    for (const s of sims) s.socket.end();
    pool.proc.kill("SIGTERM");
    await pool.proc.exited;
  }
}
}

if (flag("json")) console.log(JSON.stringify(results, null, 2));

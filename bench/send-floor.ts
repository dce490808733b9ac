// What one broadcast to N loopback connections costs on this machine, without the pool: the floor under the
// pool's "new tip → last notify written". Bun Workers with SO_REUSEPORT listeners (1..K of them, the connections
// shared out by the kernel), and, when gcc is there, a C loop of send() on 1..K threads.
// usage: bun run bench/send-floor.ts [--conns 10000] [--threads 1,2] [--bytes 367] [--rounds 30] [--json]
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";

/** This thread's CPU time in ms (the scheduler's count, ns resolution): what a broadcast costs, whatever else runs. */
function threadCpuMs(): number {
  return Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[0]) / 1e6;
}

if (!isMainThread) {
  // A listener thread: keeps its connections, writes the message to each on "go", says when it is done.
  const conns = new Set<{ write(b: Uint8Array): number }>();
  type Conn = { write(b: Uint8Array): number };
  const options = { hostname: "127.0.0.1", port: workerData.port, reusePort: true, socket: { open: (s: Conn) => void conns.add(s), close: (s: Conn) => void conns.delete(s), data() {} } };
  Bun.listen(options as unknown as Parameters<typeof Bun.listen>[0]);
  parentPort!.on("message", (m: { go?: Uint8Array }) => {
    if (!m.go) return parentPort!.postMessage({ n: conns.size });
    const c0 = threadCpuMs();
    for (const s of conns) s.write(m.go);
    parentPort!.postMessage({ end: performance.timeOrigin + performance.now(), cpuUs: ((threadCpuMs() - c0) * 1000) / Math.max(1, conns.size) });
  });
  parentPort!.postMessage({ ready: true });
} else {
  const { Worker } = await import("node:worker_threads");
  const args = process.argv.slice(2);
  const opt = (k: string, d: string) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1]! : d);
  const N = Number(opt("conns", "10000"));
  const THREADS = opt("threads", "1,2").split(",").map(Number);
  const BYTES = Number(opt("bytes", "367"));
  const ROUNDS = Number(opt("rounds", "30"));
  // Below the ephemeral range (32768-60999 here): a port the 10,000 client connections of a run may hold is never picked.
  const port = () => 20000 + Math.floor(Math.random() * 12000);
  const msg = new Uint8Array(BYTES).fill(0x78);
  msg[BYTES - 1] = 10;
  const results: Record<string, unknown> = {};

  /** N connections from a child process that only reads. */
  const connect = (p: number) =>
    Bun.spawn(["bun", "-e", `for (let i = 0; i < ${N}; i++) await Bun.connect({ hostname: "127.0.0.1", port: ${p}, socket: { data() {} } }); setInterval(() => {}, 1e6);`], { stdout: "ignore", stderr: "inherit" });
  const quantiles = (d: number[]) => {
    d.sort((a, b) => a - b);
    return { p50: +d[d.length >> 1]!.toFixed(2), p90: +d[Math.floor(d.length * 0.9)]!.toFixed(2), max: +d[d.length - 1]!.toFixed(2) };
  };

  for (const k of THREADS) {
    const p = port();
    const ws = Array.from({ length: k }, () => new Worker(import.meta.path, { workerData: { port: p } }));
    const next = (w: InstanceType<typeof Worker>) => new Promise<any>((r) => w.once("message", r));
    await Promise.all(ws.map(next));
    const client = connect(p);
    for (;;) {
      const counts = await Promise.all(ws.map((w) => (w.postMessage({}), next(w))));
      if (counts.reduce((a, c) => a + c.n, 0) >= N) break;
      await Bun.sleep(200);
    }
    const d: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.timeOrigin + performance.now();
      const ends = await Promise.all(ws.map((w) => (w.postMessage({ go: msg }), next(w))));
      d.push(Math.max(...ends.map((e) => e.end)) - t0);
      cpu.push(...ends.map((e) => e.cpuUs));
      await Bun.sleep(300);
    }
    results[`bun_workers_${k}`] = { ...quantiles(d), cpu_us_per_conn: quantiles(cpu).p50 };
    client.kill();
    await Promise.all(ws.map((w) => w.terminate()));
    console.error(`bun, ${k} worker(s), ${N} connections:`, results[`bun_workers_${k}`]);
  }

  if (Bun.which("gcc")) {
    const dir = mkdtempSync(join(tmpdir(), "rignode-send-floor-"));
    const exe = join(dir, "send-floor");
    const cc = Bun.spawnSync(["gcc", "-O2", "-pthread", "-o", exe, join(import.meta.dir, "send-floor.c")]);
    if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
    for (const k of THREADS) {
      const p = port();
      const c = Bun.spawn([exe, String(p), String(N), String(k), String(BYTES), String(ROUNDS)], { stdout: "pipe" });
      const reader = c.stdout.getReader();
      let out = "";
      while (!out.includes("listening")) out += new TextDecoder().decode((await reader.read()).value);
      const client = connect(p);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      client.kill();
      results[`c_threads_${k}`] = JSON.parse(out.trim().split("\n").pop()!);
      console.error(`C send(), ${k} thread(s), ${N} connections:`, results[`c_threads_${k}`]);
    }
  }
  if (args.includes("--json")) console.log(JSON.stringify({ conns: N, bytes: BYTES, rounds: ROUNDS, ms: results }));
}

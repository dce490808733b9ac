// The authorize flood of issue 13 (item 5) against a spawned `rignode pool`: one Stratum V1 JSON connection sends
// mining.authorize for N worker names, pipelined; the pool's RSS (VmRSS from /proc) is sampled before, at the peak
// and after the connection closes, with the size of /pool/stats at the peak and after.
// usage: bun run bench/pool-flood.ts [--bin dist/rignode] [--workers 200000]
import { connect } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAddress, generateKeyPair, NETWORKS } from "../src/chain";

export interface FloodResult {
  workers: number;
  answered: number;
  authorized: number;
  refused: number;
  /** The first refusal's text, if any. */
  refusal: string | null;
  rssBaselineMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  statsPeakBytes: number;
  statsAfterBytes: number;
  seconds: number;
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

async function statsBytes(api: string): Promise<number> {
  const r = await fetch(`${api}/pool/stats`);
  return (await r.arrayBuffer()).byteLength;
}

/** Runs the flood against a pool started from `bin`; stops the pool before it returns. */
export async function authorizeFlood(bin: string, workers = 200_000, extra: string[] = []): Promise<FloodResult> {
  const api = freePort();
  const jsonPort = freePort();
  const base = `http://127.0.0.1:${api}`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) env[k] = v;
  const proc = Bun.spawn(
    [bin, "pool", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-flood-")), "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", "off", "--stratum-json", `127.0.0.1:${jsonPort}`, ...extra],
    { stdout: "ignore", stderr: "ignore", env: { ...env, RIGNODE_LOG_LEVEL: "warn" } },
  );
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
      if (ok && (await fetch(`${base}/pool/stats`).then((r) => r.json() as Promise<{ job?: unknown }>, () => null))?.job) break;
      if (i > 600) throw new Error("the pool did not start");
      await Bun.sleep(50);
    }
    await Bun.sleep(500);
    const rssBaselineMb = rssMb(proc.pid);
    const address = encodeAddress(generateKeyPair().publicKey, NETWORKS.devnet!.addressVersion);
    let peak = rssBaselineMb;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(proc.pid))), 50);
    const t0 = performance.now();
    let answered = 0;
    let authorized = 0;
    let refusal: string | null = null;
    let text = "";
    const sock = connect(jsonPort, "127.0.0.1");
    const closed = new Promise<void>((r) => (sock.on("close", () => r()), sock.on("error", () => r())));
    let allAnswered!: () => void;
    const done = new Promise<void>((r) => (allAnswered = r));
    sock.on("data", (chunk) => {
      text += chunk.toString();
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const l of lines) {
        const m = JSON.parse(l);
        if (typeof m.id !== "number" || m.id < 10) continue;
        answered++;
        if (m.result === true) authorized++;
        else if (!refusal && m.error) refusal = m.error[1];
        if (answered === workers) allAnswered();
      }
    });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write(JSON.stringify({ id: 1, method: "mining.subscribe", params: ["flood/1"] }) + "\n");
    // Pipelined, in 1,000-request writes as fast as the socket takes them.
    for (let i = 0; i < workers; i += 1000) {
      let batch = "";
      for (let j = i; j < Math.min(workers, i + 1000); j++) batch += JSON.stringify({ id: 10 + j, method: "mining.authorize", params: [`${address}.w${j}`, "x"] }) + "\n";
      if (!sock.write(batch)) await new Promise<void>((r) => sock.once("drain", () => r()));
    }
    await Promise.race([done, closed]);
    const seconds = (performance.now() - t0) / 1000;
    peak = Math.max(peak, rssMb(proc.pid));
    const statsPeakBytes = await statsBytes(base);
    sock.destroy();
    await closed;
    await Bun.sleep(3000);
    clearInterval(sampler);
    const rssAfterMb = rssMb(proc.pid);
    const statsAfterBytes = await statsBytes(base);
    return { workers, answered, authorized, refused: answered - authorized, refusal, rssBaselineMb, rssPeakMb: peak, rssAfterMb, statsPeakBytes, statsAfterBytes, seconds };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1]! : def;
  };
  const bin = opt("bin", join(import.meta.dir, "..", "dist", "rignode"));
  const r = await authorizeFlood(bin, Number(opt("workers", "200000")));
  const mb = (x: number) => `${x.toFixed(0)} MB`;
  console.log(`binary: ${bin}`);
  console.log(`authorize requests: ${r.workers} on one JSON connection; answered ${r.answered} (authorized ${r.authorized}, refused ${r.refused}${r.refusal ? `: "${r.refusal}"` : ""}) in ${r.seconds.toFixed(1)} s`);
  console.log(`pool RSS: baseline ${mb(r.rssBaselineMb)}, peak ${mb(r.rssPeakMb)}, 3 s after disconnect ${mb(r.rssAfterMb)}`);
  console.log(`/pool/stats: ${(r.statsPeakBytes / 1024).toFixed(1)} KiB at the peak, ${(r.statsAfterBytes / 1024).toFixed(1)} KiB after`);
}

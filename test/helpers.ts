// Small helpers shared by tests: the built binary, running it, free loopback ports.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";

export const ROOT = join(import.meta.dir, "..");
export const BIN = join(ROOT, "dist", "rignode");

/** The compiled binary; the test script builds it first. */
export function bin(): string {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun run build.ts' (npm test does)`);
  return BIN;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with a clean RIGNODE_* environment plus `env`. */
export function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): RunResult {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) base[k] = v;
  const p = Bun.spawnSync(cmd, { cwd: opts.cwd ?? ROOT, env: { ...base, ...opts.env }, timeout: opts.timeoutMs ?? 120_000 });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** GET `url` as JSON; undefined when it fails or does not answer 2xx (for polling with waitFor). */
export async function getJson(url: string): Promise<any> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `fn` until it returns a value or `ms` pass. */
export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${ms} ms${lastErr ? `: ${(lastErr as Error).message}` : ""}`);
}

/** Deterministic PRNG (mulberry32) so that a failing property case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TCP relay the test can cut and restore: the one link of a partition. */
export class Link {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly to: number) {}
  up(): void {
    this.server = createServer((c) => {
      const u = connect(this.to, "127.0.0.1");
      this.sockets.add(c).add(u);
      c.pipe(u).pipe(c);
      const close = () => { c.destroy(); u.destroy(); };
      c.on("error", close).on("close", close);
      u.on("error", close).on("close", close);
    }).listen(this.port, "127.0.0.1");
  }
  down(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

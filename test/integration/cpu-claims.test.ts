// Two rignode processes on one host never pin a thread to the same CPU (real processes, a private claims directory).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, getJson, waitFor } from "../helpers";
import { allowedCpus } from "../../src/miner";

const claimsDir = mkdtempSync(join(tmpdir(), "rignode-claims-"));
afterAll(() => rmSync(claimsDir, { recursive: true, force: true }));

function bench(): Promise<{ code: number; result: { pinned_cpus: (number | null)[] }; stderr: string }> {
  const proc = Bun.spawn([bin(), "bench", "--algo", "sha256d", "--threads", "1", "--seconds", "3", "--json"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, RIGNODE_CPU_CLAIMS_DIR: claimsDir },
  });
  return (async () => {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, result: JSON.parse(out.trim().split("\n").at(-1)!), stderr: err };
  })();
}

describe.skipIf(process.platform !== "linux" || (allowedCpus()?.length ?? 0) < 2)("one host, many processes", () => {
  test("two `rignode bench --threads 1` started together pin to different CPUs", async () => {
    const [a, b] = await Promise.all([bench(), bench()]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const cpus = [a.result.pinned_cpus[0], b.result.pinned_cpus[0]];
    expect(cpus.every((c) => typeof c === "number")).toBe(true);
    expect(cpus[0]).not.toBe(cpus[1]);
    // Both finished and gave their CPUs back: a third run gets the first allowed CPU.
    const c = await bench();
    expect(c.result.pinned_cpus).toEqual([allowedCpus()![0]!]);
  }, 60_000);

  test("two `rignode worker --threads 1` on one host mine on different CPUs", async () => {
    // No pool listens: the workers retry with backoff while their engines (started, pinned, held) wait for work.
    const pool = `127.0.0.1:${freePort()}`;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) env[k] = v;
    const workers = [0, 1].map(() => {
      const api = `127.0.0.1:${freePort()}`;
      const data = mkdtempSync(join(tmpdir(), "rignode-claims-worker-"));
      const proc = Bun.spawn([bin(), "worker", "--pool", pool, "--user", "x", "--retry-forever", "--threads", "1", "--api", api, "--data-dir", data], {
        stdout: "ignore",
        stderr: "ignore",
        env: { ...env, RIGNODE_CPU_CLAIMS_DIR: claimsDir },
      });
      return { proc, api, data };
    });
    try {
      const cpus = await Promise.all(
        workers.map((w) => waitFor(async () => {
          const m = await getJson(`http://${w.api}/api/miner`);
          return m?.per_thread?.length === 1 ? m.per_thread[0].cpu : undefined;
        }, 30_000)),
      );
      expect(cpus.every((c) => typeof c === "number")).toBe(true);
      expect(cpus[0]).not.toBe(cpus[1]);
    } finally {
      for (const w of workers) w.proc.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.proc.exited));
      for (const w of workers) rmSync(w.data, { recursive: true, force: true });
    }
  }, 60_000);
});

// A long-running role as a real process: the API on loopback, the store in its data dir, clean stop on SIGTERM.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, waitFor } from "../helpers";

function start(args: string[]) {
  const proc = Bun.spawn([bin(), "serve", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" } });
  return proc;
}

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url);
  } catch {
    return undefined;
  }
}

describe("rignode serve", () => {
  test("serves /health, /info and /metrics on loopback, keeps its store in the data dir, stops on SIGTERM", async () => {
    const port = freePort();
    const data = mkdtempSync(join(tmpdir(), "rignode-serve-"));
    const proc = start(["--api", `127.0.0.1:${port}`, "--data-dir", data]);
    try {
      const health = await waitFor(() => get(`http://127.0.0.1:${port}/health`));
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe("ok");

      const info = (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as any;
      expect(info).toMatchObject({ name: "rignode", role: "serve", store: { schema_version: 2 } });
      expect(["baseline", "v3", "v4"]).toContain(info.kernel.variant);
      expect(typeof info.cpu.model).toBe("string");
      expect(info.uptime_s).toBeGreaterThanOrEqual(0);

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^rignode_build_info\{version="[^"]+",commit="[^"]+",role="serve",kernel_variant="(baseline|v3|v4)"\} 1$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(metrics).toMatch(/^rignode_kernel_info\{variant=/m);

      expect(existsSync(join(data, "rignode.sqlite"))).toBe(true);
      expect(existsSync(join(data, "api-token"))).toBe(false); // loopback: no token needed
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
    const err = await new Response(proc.stderr).text();
    const events = err.trim().split("\n").map((l) => JSON.parse(l).event);
    expect(events).toContain("api.listening");
    expect(events).toContain("role.stopped");
  }, 30_000);

  test("--api-auth token creates a bearer token (0600) that write requests need", async () => {
    const port = freePort();
    const data = mkdtempSync(join(tmpdir(), "rignode-serve-"));
    const proc = start(["--api", `127.0.0.1:${port}`, "--api-auth", "token", "--data-dir", data]);
    try {
      await waitFor(() => get(`http://127.0.0.1:${port}/health`));
      const tokenFile = join(data, "api-token");
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, "utf8").trim();
      expect((await fetch(`http://127.0.0.1:${port}/api/anything`, { method: "POST" })).status).toBe(401);
      // With the token the request passes authentication and reaches routing (no write routes exist yet).
      const authed = await fetch(`http://127.0.0.1:${port}/api/anything`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      expect(authed.status).toBe(404);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 30_000);

  test("a port already taken is a clear error, exit 2", async () => {
    const port = freePort();
    const holder = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      const proc = start(["--api", `127.0.0.1:${port}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-serve-"))]);
      expect(await proc.exited).toBe(2);
      expect(await new Response(proc.stderr).text()).toContain(`API cannot listen on 127.0.0.1:${port}`);
    } finally {
      holder.stop(true);
    }
  }, 30_000);
});

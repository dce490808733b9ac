// POST /pool/start and /pool/stop as a state machine, on a real `rignode pool`: a start whose Stratum port is taken
// answers 409 with the listen error, leaves the pool stopped with both ports closed (stats say so), logs no
// unhandled rejection; once the port is free the same request starts it.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, waitFor } from "../helpers";

async function call(url: string, method = "GET"): Promise<{ status: number; body: any }> {
  const r = await fetch(url, method === "GET" ? undefined : { method, headers: { "content-type": "application/json" }, body: "{}" });
  return { status: r.status, body: await r.json() };
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
async function accepts(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

describe("pool start/stop through the API", () => {
  test("a taken Stratum port: 409 with the reason, running false, both ports closed; freed: the start succeeds", async () => {
    const [api, native, jsonPort] = [freePort(), freePort(), freePort()];
    const base = `http://127.0.0.1:${api}`;
    const data = mkdtempSync(join(tmpdir(), "rignode-poolstart-"));
    const proc = Bun.spawn(
      [bin(), "pool", "--data-dir", data, "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`],
      { stdout: "ignore", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" } },
    );
    let blocker: { stop(closeActive?: boolean): void } | null = null;
    try {
      await waitFor(async () => ((await fetch(`${base}/health`).catch(() => null))?.ok ? true : undefined), 30_000);
      expect((await call(`${base}/pool/stats`)).body).toMatchObject({ running: true, listening: { stratum: native, stratum_json: jsonPort } });

      const stopped = await call(`${base}/pool/stop`, "POST");
      expect(stopped).toMatchObject({ status: 200, body: { mode: "solo", running: false, listening: { stratum: null, stratum_json: null } } });
      expect(await accepts(native)).toBe(false);

      // A plain TCP listener takes the JSON port: the native one opens first and must be closed again.
      const held = Bun.listen({ hostname: "127.0.0.1", port: jsonPort, socket: { data() {} } });
      blocker = held;
      const refused = await call(`${base}/pool/start`, "POST");
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe("busy");
      expect(refused.body.message).toContain(`Stratum V1 (JSON) port 127.0.0.1:${jsonPort} is in use`);
      const stats = (await call(`${base}/pool/stats`)).body;
      expect(stats).toMatchObject({ mode: "solo", running: false, listening: { stratum: null, stratum_json: null } });
      expect(await accepts(native)).toBe(false);
      expect((await call(`${base}/pool/mode`)).body.mode).toBe("solo");
      // The same through POST /pool/mode {"mode": "host"}.
      // (a mode change needs the token from the data dir, even on loopback)
      const token = readFileSync(join(data, "api-token"), "utf8").trim();
      const r = await fetch(`${base}/pool/mode`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ mode: "host" }) });
      expect(r.status).toBe(409);
      expect((await call(`${base}/pool/stats`)).body.running).toBe(false);

      held.stop(true);
      blocker = null;
      const started = await call(`${base}/pool/start`, "POST");
      expect(started).toMatchObject({ status: 200, body: { mode: "host", running: true, listening: { stratum: native, stratum_json: jsonPort } } });
      expect((await call(`${base}/pool/stats`)).body).toMatchObject({ mode: "host", running: true });
      expect(await accepts(native)).toBe(true);
      expect(await accepts(jsonPort)).toBe(true);
      expect((await call(`${base}/health`)).status).toBe(200);
    } finally {
      blocker?.stop(true);
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
    const log = await new Response(proc.stderr).text();
    expect(log).not.toMatch(/unhandled|Unhandled/);
    expect(log).toContain('"event":"pool.start_failed"');
  });
});

// A --peer that cannot be reached is logged and shown in /api/peers; when it comes up, the node connects.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, waitFor } from "../helpers";

interface Node {
  api: string;
  p2p: number;
  proc: ReturnType<typeof Bun.spawn>;
  log: Record<string, unknown>[];
}
const nodes: Node[] = [];

function startNode(args: string[], p2p = freePort()): Node {
  const api = `127.0.0.1:${freePort()}`;
  const data = mkdtempSync(join(tmpdir(), "rignode-peers-"));
  const proc = Bun.spawn([bin(), "node", "--api", api, "--p2p", `127.0.0.1:${p2p}`, "--data-dir", data, ...args], {
    stdout: "ignore", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" },
  });
  const n: Node = { api, p2p, proc, log: [] };
  (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      const lines = (rest + dec.decode(chunk)).split("\n");
      rest = lines.pop()!;
      for (const l of lines) if (l) n.log.push(JSON.parse(l));
    }
  })();
  nodes.push(n);
  return n;
}

const peers = async (n: Node) => {
  try {
    return (await (await fetch(`http://${n.api}/api/peers`)).json()) as { peers: any[]; configured: any[]; banned: any[] };
  } catch {
    return undefined;
  }
};

afterAll(async () => {
  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc.exited));
});

describe("configured peers", () => {
  test("an unreachable --peer: a warning with the error, /api/peers shows it failed with its next retry; once it is up, connected", async () => {
    const closed = freePort();
    const target = `127.0.0.1:${closed}`;
    const a = startNode(["--peer", target, "--discover=false"]);
    const warned = await waitFor(() => a.log.find((l) => l.event === "p2p.dial_failed" && l.level === "warn"));
    expect(warned).toMatchObject({ peer: target, failures: 1, retry_in_s: 1 });
    expect(String(warned.error)).toContain("ECONNREFUSED");

    const failed = await waitFor(async () => (await peers(a))?.configured.find((p) => p.state === "failed"));
    expect(failed.address).toBe(target);
    expect(failed.last_error).toContain("ECONNREFUSED");
    expect(failed.failures).toBeGreaterThanOrEqual(1);
    expect(Date.parse(failed.next_retry_at)).toBeGreaterThanOrEqual(Date.parse(failed.last_error_at));
    expect((await peers(a))!.peers).toEqual([]);
    // Retries go on (backoff), but only the first failure is a warning within the first minute.
    await waitFor(async () => ((await peers(a))?.configured[0].failures >= 3 ? true : undefined), 20_000);
    expect(a.log.filter((l) => l.event === "p2p.dial_failed" && l.level === "warn")).toHaveLength(1);

    // The peer comes up on that port: the next retry connects and the view says so.
    const b = startNode([], closed);
    const connected = await waitFor(async () => (await peers(a))?.configured.find((p) => p.state === "connected"), 30_000);
    expect(connected.address).toBe(target);
    expect(connected.failures).toBe(0);
    expect((await peers(a))!.peers.filter((p) => p.ready)).toHaveLength(1);
    const line = a.log.find((l) => l.event === "p2p.connected");
    expect(line).toMatchObject({ dialed: target });
    expect(line!.after_failures as number).toBeGreaterThanOrEqual(3);
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
  }, 90_000);

  test("a --peer that answers but is not a rignode P2P port: failed with the reason, not silence", async () => {
    // A plain TCP server that accepts and says nothing (as a wrong port would).
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const target = `127.0.0.1:${silent.port}`;
      const a = startNode(["--peer", target, "--discover=false"]);
      const failed = await waitFor(async () => (await peers(a))?.configured.find((p) => p.state === "failed"), 40_000);
      expect(failed.address).toBe(target);
      expect(failed.last_error).toContain("no handshake");
      expect(a.log.some((l) => l.event === "p2p.dial_failed" && l.level === "warn" && String(l.error).includes("no handshake"))).toBe(true);
    } finally {
      silent.stop(true);
    }
  }, 60_000);
});

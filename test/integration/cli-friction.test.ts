// The first hour on one host, as real processes: exit codes that tell bad input (2) from runtime failures (1),
// busy ports that name the flag to pass, APIs that move to the next free port when no address was given, the
// worker taking a CPU miner's command line, and wallet amounts in coins.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, run, waitFor } from "../helpers";

/** A loopback port this test holds, so that whatever starts on it finds it in use. */
function hold(port = 0): { port: number; release(): void } | null {
  try {
    const s = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    return { port: s.port, release: () => s.stop(true) };
  } catch {
    return null; // someone else holds it: just as busy
  }
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rignode-${name}-`));

let held: { port: number; release(): void };
let address: string;
beforeAll(() => {
  held = hold()!;
  address = run([bin(), "wallet", "new", "--data-dir", tmp("wallet")]).stdout.trim();
});
afterAll(() => held.release());

describe("runtime failures exit 1 with a message naming the flag; bad input stays 2", () => {
  test("an --api port in use", () => {
    const r = run([bin(), "node", "--p2p", "off", "--api", `127.0.0.1:${held.port}`, "--data-dir", tmp("node")]);
    expect(r.stderr).toContain(`rignode: API port 127.0.0.1:${held.port} is in use (another rignode?); pass --api HOST:PORT, e.g. --api 127.0.0.1:${held.port + 10}`);
    expect(r.code).toBe(1);
  });

  test("RIGNODE_API is an explicit address too: no moving, exit 1", () => {
    const r = run([bin(), "node", "--p2p", "off", "--data-dir", tmp("node")], { env: { RIGNODE_API: `127.0.0.1:${held.port}` } });
    expect(r.stderr).toContain(`API port 127.0.0.1:${held.port} is in use`);
    expect(r.code).toBe(1);
  });

  test("a P2P port in use", () => {
    const r = run([bin(), "node", "--p2p", `127.0.0.1:${held.port}`, "--api", `127.0.0.1:${freePort()}`, "--data-dir", tmp("node")]);
    expect(r.stderr).toContain(`P2P port 127.0.0.1:${held.port} is in use (another rignode?); pass --p2p HOST:PORT`);
    expect(r.code).toBe(1);
  });

  test("a Stratum V1 port in use", () => {
    const r = run([bin(), "pool", "--p2p", "off", "--stratum", "off", "--stratum-json", `127.0.0.1:${held.port}`, "--api", `127.0.0.1:${freePort()}`, "--data-dir", tmp("pool")]);
    expect(r.stderr).toContain(`Stratum V1 (JSON) port 127.0.0.1:${held.port} is in use (another rignode?); pass --stratum-json HOST:PORT`);
    expect(r.code).toBe(1);
  });

  test("wallet balance with no node running", () => {
    const r = run([bin(), "wallet", "balance", address, "--api", `127.0.0.1:${freePort()}`]);
    expect(r.stderr).toMatch(/no node answers at 127\.0\.0\.1:\d+ \(start one with 'rignode node', or pass --api HOST:PORT\)/);
    expect(r.code).toBe(1);
  });

  test("wallet pointed at a worker's API (the node moved to another port) says so", async () => {
    const api = `127.0.0.1:${freePort()}`;
    const { proc } = await startUntil(["worker", "--pool", `127.0.0.1:${freePort()}`, "--user", address, "--threads", "1", "--pin=false", "--api", api], "api.listening");
    try {
      const r = run([bin(), "wallet", "balance", address, "--api", api]);
      expect(r.stderr).toContain(`the API at ${api} is not a node's (a worker's?); pass the node's --api HOST:PORT (its log says api.listening)`);
      expect(r.code).toBe(1);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 30_000);

  test("a bad flag value is still bad input", () => {
    const r = run([bin(), "node", "--api", "localhost", "--data-dir", tmp("node")]);
    expect(r.stderr).toContain(`--api: "localhost" is not allowed; expected HOST:PORT`);
    expect(r.code).toBe(2);
  });
});

/** Starts rignode with JSON logs and reads its log until `event` appears; returns that line's fields. */
async function startUntil(args: string[], event: string, env: Record<string, string> = {}) {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) base[k] = v;
  const proc = Bun.spawn([bin(), ...args], { stdout: "ignore", stderr: "pipe", env: { ...base, RIGNODE_LOG_JSON: "true", ...env } });
  const reader = proc.stderr.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`rignode exited (${await proc.exited}) before ${event}:\n${text}`);
    text += new TextDecoder().decode(value);
    const line = text.split("\n").find((l) => l.includes(`"event":"${event}"`));
    if (line) {
      reader.releaseLock();
      void proc.stderr.pipeTo(new WritableStream()); // keep draining so the process never blocks on a full pipe
      return { proc, fields: JSON.parse(line) as Record<string, string> };
    }
  }
}

describe("one host, many processes: without --api the API takes the next free port from 8420", () => {
  // Whether or not something on this host already holds 8420, holding it here makes it busy for sure.
  let h8420: ReturnType<typeof hold>;
  beforeAll(() => (h8420 = hold(8420)));
  afterAll(() => h8420?.release());

  for (const role of ["worker", "node"] as const) {
    test(`${role}: 8420 in use → a later port, logged as moved, serving this process`, async () => {
      const args =
        role === "worker"
          ? ["worker", "--pool", `127.0.0.1:${freePort()}`, "--user", `${address}.friction`, "--threads", "1", "--pin=false"]
          : ["node", "--p2p", "off", "--data-dir", tmp("node")];
      const { proc, fields } = await startUntil(args, "api.listening");
      try {
        const port = Number(fields.address!.split(":")[1]);
        expect(fields.address).toStartWith("127.0.0.1:");
        expect(port).toBeGreaterThan(8420);
        expect(port).toBeLessThan(8440);
        expect(port).not.toBe(8421); // the P2P default: a node started later on this host wants it
        expect(fields.moved).toBe(`8420 in use, took ${port}`);
        const info = (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as { role: string; worker?: { user: string } };
        expect(info.role).toBe(role);
        if (role === "worker") expect(info.worker!.user).toBe(`${address}.friction`);
      } finally {
        proc.kill("SIGTERM");
      }
      expect(await proc.exited).toBe(0);
    }, 30_000);
  }
});

describe("rignode worker takes a CPU miner's flags", () => {
  test("-o stratum+tcp://… -o … --url … -u -p -t -a reach the pool and the engine as --pool, --user, --password, --threads, --algo", async () => {
    // A Stratum V1 pool that answers subscribe and authorize and remembers what the worker sent.
    const seen: { method: string; params: unknown[] }[] = [];
    const pool = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock, chunk) {
          for (const line of new TextDecoder().decode(chunk).split("\n").filter(Boolean)) {
            const m = JSON.parse(line) as { id: number; method: string; params: unknown[] };
            seen.push(m);
            const result = m.method === "mining.subscribe" ? [[["mining.notify", "1"]], "aabbccdd", 4] : true;
            sock.write(JSON.stringify({ id: m.id, result, error: null }) + "\n");
          }
        },
      },
    });
    const backup = `127.0.0.1:${freePort()}`;
    const third = `stratum+tcp://127.0.0.1:${freePort()}`;
    const args = ["worker", "-o", `stratum+tcp://127.0.0.1:${pool.port}`, "-o", backup, `--url=${third}`, "-u", `${address}.rig7`, "-p", "d=0.25", "-t", "1", "-a", "scrypt", "--pin=false", "--api", `127.0.0.1:${freePort()}`];
    const { proc, fields } = await startUntil(args, "worker.started");
    try {
      expect(fields).toMatchObject({ pools: `stratum+tcp://127.0.0.1:${pool.port},${backup},${third}`, user: `${address}.rig7`, algo: "scrypt", threads: 1 });
      const auth = await waitFor(() => seen.find((m) => m.method === "mining.authorize"));
      expect(auth.params).toEqual([`${address}.rig7`, "d=0.25"]);
    } finally {
      proc.kill("SIGTERM");
      pool.stop(true);
    }
    expect(await proc.exited).toBe(0);
  }, 30_000);

  test("the same flags on another command are refused as bad input", () => {
    for (const [args, message] of [
      [["bench", "-t", "1"], "unknown option -t for 'bench'"],
      [["node", "--url", "127.0.0.1:1"], "unknown option --url for 'node'"],
    ] as const) {
      const r = run([bin(), ...args]);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
    }
  });
});

describe("wallet amounts in coins; base units only in the API's JSON", () => {
  test("balance in coins; a transfer beyond it refused in coins (exit 1), the API keeping base units", async () => {
    const data = tmp("wallet-node");
    const me = run([bin(), "wallet", "new", "--data-dir", data]).stdout.trim();
    const api = `127.0.0.1:${freePort()}`;
    const { proc } = await startUntil(["node", "--p2p", "off", "--api", api, "--data-dir", data], "api.listening");
    try {
      const bal = run([bin(), "wallet", "balance", "--api", api, "--data-dir", data]);
      expect(bal.stdout.trim()).toBe(`0 coins at ${me}`);
      expect(bal.code).toBe(0);
      const sent = run([bin(), "wallet", "send", "--to", address, "--amount", "1000000", "--api", api, "--data-dir", data]);
      expect(sent.stderr.trim()).toBe("rignode: node refused: insufficient-funds: available 0 coins, needed 1000000.0001 coins (amount + fee)");
      expect(sent.stdout).toBe("");
      expect(sent.code).toBe(1);
      // The API's answer stays in base units, with the numbers as details for programs.
      const nonce = (await (await fetch(`http://${api}/api/balance/${me}`)).json()) as { balance: string; next_nonce: string };
      expect(nonce.balance).toBe("0");
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 30_000);
});

// Stratum over TLS (issue 13, item 9), in process: the pool's TLS port runs the JSON port's session inside TLS, the
// worker's client connects with stratum+ssl:// trusting a self-signed certificate given as its CA, a plain client on
// the TLS port is closed cleanly, and bad certificate or key files are one-line errors naming the file.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger, RignodeError } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, loadStratumTls, PoolServer } from "../../src/pool";
import { parsePoolUrl, StratumClient } from "../../src/stratum";
import { Store } from "../../src/store";
import { kernel } from "../chain/helpers";
import { makeCert } from "./tls-cert";

const params = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };
const user = `${encodeAddress(generateKeyPair().publicKey, params.addressVersion)}.tls`;
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

const dir = mkdtempSync(join(tmpdir(), "rignode-tls-"));
const files = makeCert(dir);

function startPool(limits: Partial<typeof DEFAULT_LIMITS> = {}) {
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-pool-tls-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash(params.algo, h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 100,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, ...limits }, jobRefreshSeconds: 30, instanceId: 7,
  });
  server.start();
  const tls = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: 16 * 1024, log, tls: loadStratumTls(files.cert, files.key) });
  const plain = listenStratum(server, { host: "127.0.0.1", port: 0, codec: "json", maxBytes: 16 * 1024, log });
  stops.push(() => (tls.stop(), plain.stop(), server.stop()));
  return { server, port: tls.port, plainPort: plain.port, lines };
}

function client(port: number, tlsCa?: string) {
  const lines: any[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const work: unknown[] = [];
  const c = new StratumClient({ pools: [parsePoolUrl(`stratum+ssl://127.0.0.1:${port}`)], user, password: "x", log, onWork: (w) => work.push(w), backoffMinMs: 50, backoffMaxMs: 100, handshakeTimeoutMs: 2000, tlsCa });
  c.start();
  stops.push(() => c.stop());
  return { c, lines, work };
}

async function until<T>(f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
}

describe("Stratum over TLS", () => {
  test("stratum+ssl:// and stratum+tls:// parse as JSON over TLS; stratum+tcp:// stays plain", () => {
    expect(parsePoolUrl("stratum+ssl://pool.example:3335")).toEqual({ host: "pool.example", port: 3335, codec: "json", tls: true });
    expect(parsePoolUrl("stratum+tls://[::1]:3335")).toEqual({ host: "::1", port: 3335, codec: "json", tls: true });
    expect(parsePoolUrl("stratum+tcp://127.0.0.1:3333")).toEqual({ host: "127.0.0.1", port: 3333, codec: "json" });
  });

  test("a worker trusting the pool's self-signed certificate subscribes, authorizes and gets work over TLS", async () => {
    const { server, port, lines } = startPool();
    const { c, work } = client(port, await Bun.file(files.cert).text());
    await until(() => (work.length ? true : undefined));
    expect(c.isConnected()).toBe(true);
    expect(server.conns.size).toBe(1);
    expect([...[...server.conns][0]!.users.keys()]).toEqual([user]);
    expect(lines.find((l) => l.event === "stratum.listening")).toMatchObject({ codec: "json", tls: true });
  });

  test("without the certificate as its CA the worker refuses the pool and says what to pass", async () => {
    const { port } = startPool();
    const { lines, work } = client(port);
    const failed = await until(() => lines.find((l) => l.event === "worker.tls_failed"));
    expect(failed.level).toBe("warn");
    expect(failed.error).toContain("--tls-ca FILE");
    expect(work).toHaveLength(0);
  });

  test("a plain-TCP client on the TLS port is closed cleanly (logged with its IP) and the port keeps serving", async () => {
    const { server, port, lines } = startPool();
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, close: () => closed(), error: () => closed() } });
    s.write(JSON.stringify({ id: 1, method: "mining.subscribe", params: [] }) + "\n");
    await gone;
    const failed = await until(() => lines.find((l) => l.event === "stratum.tls_failed"));
    expect(failed.ip).toBe("127.0.0.1");
    await until(() => (server.conns.size === 0 ? true : undefined));
    expect(server.guard.connections("127.0.0.1")).toBe(0);
    const { work } = client(port, await Bun.file(files.cert).text());
    await until(() => (work.length ? true : undefined));
  });

  test("a refused TLS connection is told why after the handshake (client.show_message), like a plain one", async () => {
    const { port } = startPool({ maxPerIp: 1 });
    const first = client(port, await Bun.file(files.cert).text());
    await until(() => (first.work.length ? true : undefined));
    const second = client(port, await Bun.file(files.cert).text());
    const said = await until(() => second.lines.find((l) => l.event === "worker.pool_message"));
    expect(said.message).toBe("more than 1 connections from 127.0.0.1");
  });

  test("stratum+ssl:// pointed at a plain Stratum V1 port: the worker says it may not be a TLS port", async () => {
    const { plainPort, lines: poolLines } = startPool();
    const { lines } = client(plainPort, await Bun.file(files.cert).text());
    const failed = await until(() => lines.find((l) => l.event === "worker.tls_failed"));
    expect(failed.error).toContain(`is 127.0.0.1:${plainPort} a TLS port? (a plain Stratum V1 port is stratum+tcp://)`);
    expect(poolLines.find((l) => l.event === "stratum.wrong_protocol")).toMatchObject({ ip: "127.0.0.1", detected: "tls" });
  });

  test("bad certificate or key files: one line naming the file", () => {
    const other = makeCert(dir, "other");
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    const fails = (cert: string, key: string) => {
      try {
        loadStratumTls(cert, key);
      } catch (e) {
        expect(e).toBeInstanceOf(RignodeError);
        expect((e as Error).message).not.toContain("\n");
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(fails(join(dir, "missing.crt"), files.key)).toBe(`TLS certificate (--tls-cert) ${join(dir, "missing.crt")}: cannot be read (ENOENT)`);
    expect(fails(junk, files.key)).toStartWith(`TLS certificate (--tls-cert) ${junk}: not a PEM certificate`);
    expect(fails(files.cert, junk)).toStartWith(`TLS key (--tls-key) ${junk}: not a PEM private key`);
    expect(fails(files.cert, other.key)).toBe(`TLS key (--tls-key) ${other.key} is not the key of the certificate ${files.cert}`);
    expect(fails(dir, files.key)).toBe(`TLS certificate (--tls-cert) ${dir}: a directory, not a regular file`);
    expect(fails(files.cert, "")).toBe("--stratum-tls needs --tls-cert FILE and --tls-key FILE (PEM)");
  });
});

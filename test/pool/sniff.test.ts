// The port trap: a Stratum V1 miner on the native port, an HTTP request, or a native worker on the JSON port each get
// a hint in the protocol they speak, and the pool's log says what happened (not "frame length 2065852772").
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, generateKeyPair, NETWORKS } from "../../src/chain";
import { createLogger } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, listenStratum, PoolServer } from "../../src/pool";
import { sniffProtocol, wrongProtocol } from "../../src/pool/sniff";
import { encodeStratum, FrameDecoder, LOOSE_CODEC } from "../../src/stratum";
import { Store } from "../../src/store";
import { freePort } from "../helpers";
import { kernel } from "../chain/helpers";

const params = NETWORKS.devnet!;
const logLines: any[] = [];
const log = createLogger({ json: true, level: "debug", write: (l) => logLines.push(JSON.parse(l)) });
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

const subscribe = { id: 1, method: "mining.subscribe", params: ["test/1"] };

/** A pool with both listeners on loopback. */
function pool() {
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-sniff-")));
  const chain = new Chain({ store, params, powHash: (h) => kernel.hash("sha256d", h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: generateKeyPair().publicKey, poolFeeBps: 0,
    scheme: "pplns", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1, limits: DEFAULT_LIMITS, jobRefreshSeconds: 30, instanceId: 1,
  });
  server.start();
  const ports = { native: freePort(), json: freePort() };
  const n = listenStratum(server, { host: "127.0.0.1", port: ports.native, codec: "native", maxBytes: 16384, log, otherPort: () => ports.json });
  const j = listenStratum(server, { host: "127.0.0.1", port: ports.json, codec: "json", maxBytes: 16384, log, otherPort: () => ports.native });
  stops.push(() => (n.stop(), j.stop(), server.stop()));
  return ports;
}

/** Sends bytes, collects what comes back until the pool closes (or `enough` says so), then closes. */
async function exchange(port: number, send: Uint8Array | string, enough: (b: Buffer) => boolean = () => false): Promise<{ bytes: Buffer; closedByPool: boolean }> {
  const chunks: Buffer[] = [];
  let closedByPool = true;
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(send),
        data: (s, c) => {
          chunks.push(Buffer.from(c));
          if (enough(Buffer.concat(chunks))) {
            closedByPool = false;
            s.end();
          }
        },
        close: () => resolve(),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
  return { bytes: Buffer.concat(chunks), closedByPool };
}

describe("protocol sniffing", () => {
  test("first bytes: JSON line, HTTP methods, TLS, a native frame, and anything else", () => {
    expect(sniffProtocol(Buffer.from('{"id":1,"method":"mining.subscribe","params":[]}\n'))).toBe("json");
    expect(sniffProtocol(Buffer.from(' \r\n{"id":1}'))).toBe("json");
    for (const m of ["GET / HTTP/1.1\r\n", "POST /x HTTP/1.1\r\n", "HEAD / HTTP/1.0\r\n", "OPTIONS * HTTP/1.1\r\n", "GET"]) expect(sniffProtocol(Buffer.from(m))).toBe("http");
    expect(sniffProtocol(Buffer.from("GETS / HTTP/1.1"))).toBe("unknown");
    expect(sniffProtocol(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00))).toBe("tls");
    expect(sniffProtocol(encodeStratum("native", subscribe, 1 << 16))).toBe("native");
    // A length that no native frame has, or a body that is not a msgpack map.
    expect(sniffProtocol(Uint8Array.of(0x7f, 0, 0, 5, 0x81))).toBe("unknown");
    expect(sniffProtocol(Uint8Array.of(0, 0, 0, 5, 0x93))).toBe("unknown");
    expect(sniffProtocol(new Uint8Array(0))).toBe("unknown");
  });

  test("each listener leaves its own protocol alone and names the other port in its hints", () => {
    const at = { host: "10.0.0.5", port: 3334, otherPort: 3333 };
    expect(wrongProtocol("native", encodeStratum("native", subscribe, 1 << 16), at)).toBeNull();
    expect(wrongProtocol("json", Buffer.from('{"id":1}\n'), { ...at, port: 3333, otherPort: 3334 })).toBeNull();
    expect(wrongProtocol("native", Buffer.from("\x00\x00"), at)).toBeNull();
    expect(wrongProtocol("native", Buffer.from('{"id":1}\n'), at)!.hint).toBe("this is rignode's native port; Stratum V1 miners use stratum+tcp://10.0.0.5:3333");
    expect(wrongProtocol("native", Buffer.from('{"id":1}\n'), { ...at, otherPort: null })!.hint).toMatch(/no Stratum V1 JSON port open/);
    expect(wrongProtocol("json", encodeStratum("native", subscribe, 1 << 16), { host: "::1", port: 3333, otherPort: 3334 })!.hint).toBe(
      "this is rignode's Stratum V1 JSON port; use [::1]:3334 for the native protocol, or stratum+tcp://[::1]:3333 for this one",
    );
  });

  test("a Stratum V1 miner on the native port gets the hint as an error and as client.show_message; the log says what happened", async () => {
    const ports = pool();
    const { bytes, closedByPool } = await exchange(ports.native, JSON.stringify(subscribe) + "\n");
    expect(closedByPool).toBe(true);
    const lines = bytes.toString().trim().split("\n").map((l) => JSON.parse(l));
    const hint = `this is rignode's native port; Stratum V1 miners use stratum+tcp://127.0.0.1:${ports.json}`;
    expect(lines).toEqual([
      { id: null, error: [20, hint, null], result: null },
      { id: null, method: "client.show_message", params: [hint] },
    ]);
    const line = logLines.find((l) => l.event === "stratum.wrong_protocol" && l.detected === "json");
    expect(line).toMatchObject({ level: "info", what: "a Stratum V1 JSON client on the native port" });
    expect(logLines.some((l) => /frame length/.test(l.error ?? ""))).toBe(false);
  });

  test("an HTTP GET on the native port gets 400 Bad Request with the hint as its body", async () => {
    const ports = pool();
    const { bytes } = await exchange(ports.native, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const text = bytes.toString();
    expect(text.startsWith("HTTP/1.1 400 Bad Request\r\n")).toBe(true);
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    expect(body).toBe(`this is rignode's native port; Stratum V1 miners use stratum+tcp://127.0.0.1:${ports.json}\n`);
    expect(Number(/Content-Length: (\d+)/.exec(text)![1])).toBe(Buffer.byteLength(body));
    expect(logLines.some((l) => l.event === "stratum.wrong_protocol" && l.what === "an HTTP request on the native port")).toBe(true);
  });

  test("a native worker on the JSON port gets a native frame saying so", async () => {
    const ports = pool();
    const { bytes } = await exchange(ports.json, encodeStratum("native", subscribe, 1 << 16));
    const msgs = new FrameDecoder(1 << 16, LOOSE_CODEC).push(bytes);
    expect(msgs).toEqual([
      { id: null, error: [20, `this is rignode's Stratum V1 JSON port; use 127.0.0.1:${ports.native} for the native protocol, or stratum+tcp://127.0.0.1:${ports.json} for this one`, null], result: null },
    ]);
    expect(logLines.some((l) => l.event === "stratum.wrong_protocol" && l.what === "a native (msgpack frame) client on the Stratum V1 JSON port")).toBe(true);
  });

  test("the right protocol on each port is still served", async () => {
    const ports = pool();
    const frames = (b: Buffer) => new FrameDecoder(1 << 16, LOOSE_CODEC).push(b) as any[];
    const native = await exchange(ports.native, encodeStratum("native", subscribe, 1 << 16), (b) => frames(b).length > 0);
    expect(native.closedByPool).toBe(false);
    expect(frames(native.bytes)[0]).toMatchObject({ id: 1, error: null });
    const json = await exchange(ports.json, JSON.stringify(subscribe) + "\n", (b) => b.includes(10));
    expect(json.closedByPool).toBe(false);
    expect(JSON.parse(json.bytes.toString().split("\n")[0]!)).toMatchObject({ id: 1, error: null });
  });
});

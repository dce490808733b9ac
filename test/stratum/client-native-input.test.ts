// Found by the fuzzer (test/fuzz, target stratum-client) on the loose msgpack decoder of the time, which made maps
// without a prototype (String() of one throws) and integers past 2^53 bigints (JSON.stringify throws on them): a pool
// on the native port made the worker's message handler throw a TypeError with a merkle branch holding a map or an
// error whose text is a map or holds a bigint. The handler runs in the socket's data callback, so the throw dropped
// the connection and every message after it in the read. With msgpackr (plain objects, 64-bit integers as numbers)
// the map no longer throws but became the branch hash "[object Object]". Now: any value is shown as text without
// throwing, and a branch that is not all strings is a bad notify.
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger, type LooseValue } from "../../src/core";
import { frame, FrameDecoder, LOOSE_CODEC, StratumClient, stratumErrorText, type PoolWork } from "../../src/stratum";
import { waitFor } from "../helpers";

const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

const notify = (jobId: string, branch: LooseValue[]) => ({ id: null, method: "mining.notify", params: [jobId, "00".repeat(32), "01", "02", branch, "20000000", "1d00ffff", "5f5e1000", true] });

/**
 * A scripted native pool: subscribe and authorize answered, then `afterAuthorize(send)` runs; `send` writes its
 * messages as native frames in one write. Counts connections.
 */
function nativePool(afterAuthorize: (send: (ms: unknown[]) => void) => void) {
  const stats = { connects: 0 };
  const server = Bun.listen<FrameDecoder<LooseValue>>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        stats.connects++;
        s.data = new FrameDecoder<LooseValue>(1 << 20, LOOSE_CODEC);
      },
      data(s, chunk) {
        const send = (ms: unknown[]) => s.write(Buffer.concat(ms.map((x) => frame(x as LooseValue, 1 << 20, LOOSE_CODEC))));
        for (const m of s.data.push(new Uint8Array(chunk)) as { id: number; method: string }[]) {
          if (m.method === "mining.subscribe") send([{ id: m.id, result: [[["mining.notify", "s1"]], "00000001", 4], error: null }]);
          if (m.method === "mining.authorize") {
            send([{ id: m.id, result: true, error: null }]);
            afterAuthorize(send);
          }
        }
      },
    },
  });
  stops.push(() => server.stop(true));
  return { port: server.port, stats };
}

describe("stratum client: msgpack-only values from a native pool", () => {
  test("an error text that is a map without a prototype or holds a bigint is shown, not thrown", () => {
    const map = Object.assign(Object.create(null) as object, { reason: "full" });
    const big = { n: (1n << 64n) - 1n };
    expect(() => String(map)).toThrow(TypeError);
    expect(stratumErrorText([20, map, null])).toEqual({ code: 20, message: '{"reason":"full"}' });
    expect(stratumErrorText([map, "x", null])).toEqual({ code: null, message: "x" });
    expect(stratumErrorText({ message: map })).toEqual({ code: null, message: '{"reason":"full"}' });
    expect(stratumErrorText(big)).toEqual({ code: null, message: '{"n":"18446744073709551615"}' });
    expect(stratumErrorText([20, { reason: "x" }, null])).toEqual({ code: 20, message: '{"reason":"x"}' });
  });

  // Found by the fuzzer too: a client.reconnect to the same host with a port no socket takes (70000, 1.5, 2^53) made
  // the reconnect timer's Bun.connect throw, uncaught: the worker process exited.
  test("a client.reconnect to a port no socket can take is ignored, an answer too large to send is dropped; the link stays", async () => {
    const pool = nativePool((send) => {
      setTimeout(() => send(["70000", 70000, 1.5, -1, 2 ** 53].map((port) => ({ id: null, method: "client.reconnect", params: ["127.0.0.1", port, -5] }))), 50);
      // Found by the 1,000,000-input run: a request the worker answers "unsupported" with an id too large to
      // echo within the 16 KiB cap made the encoder throw in the data callback.
      setTimeout(() => send([{ id: "x".repeat(20_000), method: "pool.unknown", params: [] }]), 100);
      setTimeout(() => send([notify("after", [])]), 300);
    });
    const work: PoolWork[] = [];
    const log = createLogger({ json: true, level: "error" });
    const c = new StratumClient({ pools: [{ host: "127.0.0.1", port: pool.port, codec: "native" }], user: "ADDR.rig", password: "x", log, onWork: (w) => work.push(w), backoffMinMs: 20, backoffMaxMs: 50 });
    c.start();
    stops.push(() => c.stop());
    await waitFor(() => (work.length ? true : undefined), 10_000);
    expect(work.map((w) => w.jobId)).toEqual(["after"]);
    expect(pool.stats.connects).toBe(1);
    expect(c.isConnected()).toBe(true);
  }, 30_000);

  test("a notify whose branch holds a map is refused as a bad notify; the link and the next notify survive", async () => {
    const pool = nativePool((send) => {
      // Once the worker is authorized (a notify before that only replaces the one kept for then), in one read.
      setTimeout(() => send([
        notify("bad", [{ not: "a hash" }]),
        { id: null, result: null, error: [20, { reason: "a map" }, null] },
        { id: null, result: null, error: { n: (1n << 64n) - 1n } },
        notify("good", ["11".repeat(32)]),
      ]), 100);
    });
    const lines: { event: string }[] = [];
    const work: PoolWork[] = [];
    const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
    const c = new StratumClient({ pools: [{ host: "127.0.0.1", port: pool.port, codec: "native" }], user: "ADDR.rig", password: "x", log, onWork: (w) => work.push(w), backoffMinMs: 20, backoffMaxMs: 50 });
    c.start();
    stops.push(() => c.stop());
    await waitFor(() => (work.length ? true : undefined), 10_000);
    expect(work.map((w) => w.jobId)).toEqual(["good"]);
    expect(work[0]!.merkleBranch).toEqual(["11".repeat(32)]);
    expect(lines.filter((l) => l.event === "worker.bad_notify")).toHaveLength(1);
    const said = lines.filter((l) => l.event === "worker.pool_message").map((l) => (l as unknown as { message: string }).message);
    expect(said).toHaveLength(2);
    expect(said[0]).toBe('{"reason":"a map"}');
    expect(said[1]).toMatch(/^\{"n":"?1844674407370955\d+"?\}$/); // a bigint or the nearest double, by the decoder
    expect(pool.stats.connects).toBe(1);
  }, 30_000);
});

// `--max-workers-per-ip` across the members of one process (the shared workers' table of shard-conns.ts, as the
// shards and the main thread use it through their sessions) and across instances (the bus's per-IP worker counts):
// the cap holds over the sum, a worker's slot is given back when its last connection on a member closes, a dead
// member's column is cleared, and the other instances' workers count.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, encodeAddress, generateKeyPair } from "../../src/chain";
import { createLogger } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, Ledger, PoolServer, type PoolBus } from "../../src/pool";
import { MemoryBus, MemoryHub } from "../../src/pool/bus";
import type { PoolConn } from "../../src/pool/conn";
import { SharedConns } from "../../src/pool/shard-conns";
import { Store } from "../../src/store";
import { EASY, kernel } from "../chain/helpers";

const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));
const log = createLogger({ json: true, level: "error" });
const user = encodeAddress(generateKeyPair().publicKey, EASY.addressVersion);
const chain = new Chain({ store: Store.open(mkdtempSync(join(tmpdir(), "rignode-shw-"))), params: EASY, powHash: (h) => kernel.hash("sha256d", h) });

/** A pool member: its own sessions; with `tables`, member `index` of the process's shared per-IP tables. */
function member(maxWorkersPerIp: number, shard?: { index: number; conns: SharedArrayBuffer; workers: SharedArrayBuffer }, bus?: PoolBus) {
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(Store.open(mkdtempSync(join(tmpdir(), "rignode-shw-")))), log,
    poolAddress: generateKeyPair().publicKey, poolFeeBps: 0, scheme: "prop", pplnsWindow: "auto", vardiff: DEFAULT_VARDIFF, startDifficulty: 1,
    limits: { ...DEFAULT_LIMITS, maxWorkersPerIp }, jobRefreshSeconds: 30, instanceId: 3,
    ...(shard ? { shard: { index: shard.index, slots: new SharedConns(shard.conns, shard.index), workers: new SharedConns(shard.workers, shard.index) } } : {}),
    ...(bus ? { bus } : {}),
  });
  stops.push(() => server.stop());
  const open = (ip: string) => {
    const c = server.open({ ip, codec: "json", encode: () => new Uint8Array(), write() {}, flush() {}, close() {} } as never);
    if (typeof c === "string") throw new Error(c);
    return c;
  };
  /** true when admitted; the refusal's text otherwise. */
  const authorize = (c: PoolConn, name: string): true | string => {
    try {
      return server.authorize(c, `${user}.${name}`, "x") as true;
    } catch (e) {
      return (e as Error).message;
    }
  };
  return { server, open, authorize };
}

function process2(others = false) {
  const conns = SharedConns.create(3, 64, others);
  const workers = SharedConns.create(3, 64, others);
  return { conns, workers, table: new SharedConns(workers, 0) };
}

describe("distinct workers per IP across the members of one process", () => {
  test("exactly the cap over two members; a name held on one member counts again on the other (twice), not again on the same", () => {
    const { conns, workers, table } = process2();
    const A = member(4, { index: 1, conns, workers });
    const B = member(4, { index: 2, conns, workers });
    const [a1, a2, b1] = [A.open("10.0.0.1"), A.open("10.0.0.1"), B.open("10.0.0.1")];
    expect(A.authorize(a1, "w1")).toBe(true);
    expect(A.authorize(a1, "w2")).toBe(true);
    expect(B.authorize(b1, "w3")).toBe(true);
    expect(table.connections("10.0.0.1")).toBe(3);
    // w1 again on A (another connection): no new slot.
    expect(A.authorize(a2, "w1")).toBe(true);
    expect(table.connections("10.0.0.1")).toBe(3);
    // w1 on B: new to B, counted there too (4 = the cap).
    expect(B.authorize(b1, "w1")).toBe(true);
    expect(table.connections("10.0.0.1")).toBe(4);
    // Each member alone holds 2 or 3 distinct names, under the cap: refused by the sum, with the pool's message.
    expect(A.authorize(a2, "w5")).toBe("too many workers from 10.0.0.1 (4)");
    expect(B.authorize(b1, "w6")).toBe("too many workers from 10.0.0.1 (4)");
    // A refused name leaves no trace: on the connection or in the table.
    expect(a2.users.has(`${user}.w5`)).toBe(false);
    expect(table.connections("10.0.0.1")).toBe(4);
    // Another IP has its own count; a name already on a member is admitted on it at the cap.
    expect(B.authorize(B.open("10.0.0.2"), "w6")).toBe(true);
    expect(A.authorize(A.open("10.0.0.1"), "w2")).toBe(true);
  });

  test("a worker's slot is given back when its last connection on the member closes", () => {
    const { conns, workers, table } = process2();
    const A = member(3, { index: 1, conns, workers });
    const B = member(3, { index: 2, conns, workers });
    const [a1, a2] = [A.open("10.0.1.1"), A.open("10.0.1.1")];
    expect(A.authorize(a1, "x")).toBe(true);
    expect(A.authorize(a1, "y")).toBe(true);
    expect(A.authorize(a2, "x")).toBe(true);
    const b1 = B.open("10.0.1.1");
    expect(B.authorize(b1, "z")).toBe(true);
    expect(B.authorize(b1, "q")).toBe("too many workers from 10.0.1.1 (3)");
    // a1 closes: y had no other connection on A (given back), x is still open on a2 (kept).
    A.server.closed(a1);
    expect(table.connections("10.0.1.1")).toBe(2);
    expect(B.authorize(b1, "q")).toBe(true);
    expect(B.authorize(b1, "r")).toBe("too many workers from 10.0.1.1 (3)");
    A.server.closed(a2);
    B.server.closed(b1);
    expect(table.connections("10.0.1.1")).toBe(0);
  });

  test("a member that died has its column cleared: its workers no longer count", () => {
    const { conns, workers, table } = process2();
    const A = member(2, { index: 1, conns, workers });
    const B = member(2, { index: 2, conns, workers });
    const b = B.open("10.0.2.1");
    expect(B.authorize(b, "p")).toBe(true);
    expect(B.authorize(b, "q")).toBe(true);
    const a = A.open("10.0.2.1");
    expect(A.authorize(a, "r")).toBe("too many workers from 10.0.2.1 (2)");
    table.clear(2); // what the main thread does after B's Worker's close event
    expect(table.connections("10.0.2.1")).toBe(0);
    expect(A.authorize(a, "r")).toBe(true);
    expect(A.authorize(a, "s")).toBe(true);
    expect(A.authorize(a, "t")).toBe("too many workers from 10.0.2.1 (2)");
  });

  test("the other instances' column counts against the cap", () => {
    const { conns, workers, table } = process2(true);
    const A = member(3, { index: 1, conns, workers });
    const others = new SharedConns(workers, table.othersColumn);
    const written = others.setAll(new Map([["10.0.3.1", 2]]), new Set());
    const a = A.open("10.0.3.1");
    expect(A.authorize(a, "u")).toBe(true);
    expect(A.authorize(a, "v")).toBe("too many workers from 10.0.3.1 (3)");
    expect(table.local("10.0.3.1")).toBe(1);
    others.setAll(new Map(), written);
    expect(A.authorize(a, "v")).toBe(true);
  });

  test("no cap (0): every name admitted, still counted (the other members' caps may differ after a configure)", () => {
    const { conns, workers, table } = process2();
    const A = member(0, { index: 1, conns, workers });
    const a = A.open("10.0.4.1");
    for (let i = 0; i < 10; i++) expect(A.authorize(a, `n${i}`)).toBe(true);
    expect(table.connections("10.0.4.1")).toBe(10);
  });
});

describe("distinct workers per IP across instances (one thread each, the in-memory bus)", () => {
  test("each instance publishes its count; the other's count against the cap; a closed connection's workers stop counting", async () => {
    const hub = new MemoryHub();
    const [busA, busB] = [new MemoryBus(hub, "a"), new MemoryBus(hub, "b")];
    const A = member(3, undefined, busA);
    const B = member(3, undefined, busB);
    await busA.start();
    await busB.start();
    const a = A.open("10.0.5.1");
    expect(A.authorize(a, "w1")).toBe(true);
    expect(A.authorize(a, "w2")).toBe(true);
    expect(busB.othersWorkers("10.0.5.1")).toBe(2);
    const b = B.open("10.0.5.1");
    expect(B.authorize(b, "w3")).toBe(true);
    expect(B.authorize(b, "w4")).toBe("too many workers from 10.0.5.1 (3)");
    expect(A.authorize(a, "w5")).toBe("too many workers from 10.0.5.1 (3)");
    A.server.closed(a);
    expect(busB.othersWorkers("10.0.5.1")).toBe(0);
    expect(B.authorize(b, "w4")).toBe(true);
    expect(busA.othersWorkers("10.0.5.1")).toBe(2);
  });
});

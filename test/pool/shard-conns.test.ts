import { describe, expect, test } from "bun:test";
import { SharedConns } from "../../src/pool/shard-conns";

describe("connections per IP across shards (shared memory)", () => {
  test("the cap holds over the members' total; a slot given back is free again", () => {
    const sab = SharedConns.create(3);
    const [a, b] = [new SharedConns(sab, 1), new SharedConns(sab, 2)];
    expect(a.take("10.0.0.1", 3)).toBe(true);
    expect(b.take("10.0.0.1", 3)).toBe(true);
    expect(b.take("10.0.0.1", 3)).toBe(true);
    expect(a.take("10.0.0.1", 3)).toBe(false);
    expect(a.take("10.0.0.2", 3)).toBe(true); // another IP has its own count
    b.give("10.0.0.1");
    expect(a.connections("10.0.0.1")).toBe(2);
    expect(a.take("10.0.0.1", 3)).toBe(true);
    expect(a.take("10.0.0.1", 0)).toBe(true); // 0: no cap
  });

  test("removal keeps every other IP findable in a crowded table (probe runs shifted back)", () => {
    const sab = SharedConns.create(2, 64);
    const t = new SharedConns(sab, 0);
    const ips = Array.from({ length: 60 }, (_, i) => `192.168.${i >> 4}.${i}`);
    for (const ip of ips) expect(t.take(ip, 5)).toBe(true);
    for (const ip of ips.filter((_, i) => i % 3 === 0)) t.give(ip);
    for (const [i, ip] of ips.entries()) expect(t.connections(ip)).toBe(i % 3 === 0 ? 0 : 1);
    // Full beyond its slots: admitted uncounted rather than refused.
    for (let i = 0; i < 100; i++) t.take(`172.16.0.${i}`, 1);
    expect(t.take("172.16.1.1", 1)).toBe(true);
  });

  test("a member that died is cleared: its connections no longer count", () => {
    const sab = SharedConns.create(3);
    const [a, b] = [new SharedConns(sab, 1), new SharedConns(sab, 2)];
    for (let i = 0; i < 4; i++) b.take("10.0.0.9", 4);
    expect(a.take("10.0.0.9", 5)).toBe(true);
    expect(a.take("10.0.0.9", 5)).toBe(false);
    new SharedConns(sab, 0).clear(2);
    expect(a.connections("10.0.0.9")).toBe(1);
    expect(a.take("10.0.0.9", 5)).toBe(true);
  });

  test("a member whose thread ended holding the lock: clear frees it and the others admit again", () => {
    const sab = SharedConns.create(3);
    const [a, b] = [new SharedConns(sab, 1), new SharedConns(sab, 2)];
    b.take("10.0.0.7", 2);
    Atomics.store(new Int32Array(sab), 0, 3); // member 2's lock word, left held as its Worker was ended
    new SharedConns(sab, 0).clear(2);
    expect(Atomics.load(new Int32Array(sab), 0)).toBe(0);
    expect(a.take("10.0.0.7", 1)).toBe(true);
    expect(a.connections("10.0.0.7")).toBe(1);
  });

  test("the other instances' column counts against the cap in take() and is left out of local()", () => {
    const sab = SharedConns.create(3, 64, true);
    const [main, a] = [new SharedConns(sab, 0), new SharedConns(sab, 1)];
    const others = new SharedConns(sab, main.othersColumn);
    expect(main.othersColumn).toBe(3);
    let written = others.setAll(new Map([["10.0.0.3", 2], ["10.0.0.4", 1]]), new Set());
    expect(a.take("10.0.0.3", 3)).toBe(true);
    expect(a.take("10.0.0.3", 3)).toBe(false); // 2 elsewhere + 1 here
    expect(main.local("10.0.0.3")).toBe(1);
    expect(main.connections("10.0.0.3")).toBe(3);
    // The next copy: 10.0.0.4 gone from the others, 10.0.0.3 down to 0.
    written = others.setAll(new Map([["10.0.0.3", 0]]), written);
    expect(main.connections("10.0.0.4")).toBe(0);
    expect(a.take("10.0.0.3", 3)).toBe(true);
    expect(main.local("10.0.0.3")).toBe(2);
    expect([...written]).toEqual(["10.0.0.3"]);
  });
});

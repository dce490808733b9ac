import { describe, expect, test } from "bun:test";
import { AddrBook, sourceGroup } from "../../src/p2p/addrbook";
import { WantedQueue } from "../../src/p2p/wanted";
import { prng } from "../helpers";

const a = (i: number) => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 8421 });

describe("address book", () => {
  test("sources: the /16 of IPv4, each loopback address alone, the /32 of IPv6", () => {
    expect(sourceGroup("203.0.113.7")).toBe("203.0.0.0/16");
    expect(sourceGroup("::ffff:203.0.9.1")).toBe("203.0.0.0/16");
    expect(sourceGroup("127.0.0.5")).not.toBe(sourceGroup("127.0.0.6"));
    expect(sourceGroup("2001:db8:1::5")).toBe("2001:db8::/32");
  });

  test("one source fills at most its bucket; newer addresses replace its own older ones, not others'", () => {
    const book = new AddrBook({ maxTotal: 100, maxPerSource: 8, random: prng(1) });
    for (let i = 0; i < 5; i++) book.add(a(i), "honest");
    for (let i = 100; i < 100_000; i++) book.add(a(i), "flooder");
    expect(book.size).toBe(13);
    expect(book.sources).toBe(2);
    for (let i = 0; i < 5; i++) expect(book.has(a(i))).toBe(true);
    expect(book.add(a(0), "flooder")).toBe(true); // already there: not moved, not counted twice
    expect(book.size).toBe(13);
  });

  test("a full book makes room from its largest bucket; a source as large as the largest takes no more", () => {
    const book = new AddrBook({ maxTotal: 20, maxPerSource: 8, random: prng(2) });
    for (let s = 0; s < 3; s++) for (let i = 0; i < 8; i++) book.add(a(s * 100 + i), `s${s}`); // s2 takes room from the larger buckets
    expect(book.size).toBe(20);
    expect(book.add(a(999), "new")).toBe(true); // one of s0's or s1's goes
    expect(book.size).toBe(20);
    const small = new AddrBook({ maxTotal: 4, maxPerSource: 4, random: prng(3) });
    for (let i = 0; i < 4; i++) small.add(a(i), "only");
    expect(small.add(a(50), "other")).toBe(true);
    expect(small.add(a(51), "other")).toBe(true);
    expect(small.add(a(52), "other")).toBe(false); // 2 and 2: neither bucket is larger
    expect(small.size).toBe(4);
  });

  test("getaddr samples: at most sampleSize distinct addresses, the same list until sampleMs pass", () => {
    let now = 0;
    const book = new AddrBook({ maxTotal: 1024, maxPerSource: 1024, sampleSize: 100, sampleMs: 60_000, now: () => now, random: prng(4) });
    for (let i = 0; i < 1000; i++) book.add(a(i), "x");
    const s1 = book.cachedSample();
    expect(s1.length).toBe(100);
    expect(new Set(s1.map((x) => x.host)).size).toBe(100);
    for (let i = 1000; i < 1024; i++) book.add(a(i), "x");
    now += 59_000;
    expect(book.cachedSample()).toBe(s1);
    now += 2000;
    expect(book.cachedSample()).not.toBe(s1);
  });
});

describe("wanted blocks", () => {
  test("each hash once, in order, at most `max`", () => {
    const q = new WantedQueue(3);
    const h = (n: number) => new Uint8Array(32).fill(n);
    expect(q.push(h(1))).toBe(true);
    for (let i = 0; i < 1000; i++) expect(q.push(h(1))).toBe(false);
    q.push(h(2));
    q.push(h(3));
    expect(q.push(h(4))).toBe(false);
    expect(q.size).toBe(3);
    expect([q.shift(), q.shift()]).toEqual([h(1), h(2)]);
    expect(q.push(h(1))).toBe(true); // asked already: it may be queued again
    expect([q.shift(), q.shift(), q.shift()]).toEqual([h(3), h(1), null]);
    for (let i = 0; i < 5000; i++) {
      q.push(h(i & 255));
      q.shift();
    }
    expect(q.size).toBe(0);
  });
});

// The pool's guard on a fake clock: connection caps, worker bans that escalate, IP bans only after repeated worker
// bans or protocol abuse, operator lifts, and a new ban cap applied to the bans in force.
import { describe, expect, test } from "bun:test";
import { ABUSE_FOR_IP_BAN, banText, FIRST_BAN_SECONDS, Guard, STRIKE_MEMORY_MS } from "../../src/core/guard";

function guard(banSeconds = 3600, maxPerIp = 2) {
  const clock = { t: 1_000_000 };
  const g = new Guard({ maxPerIp, banSeconds }, () => clock.t);
  return { g, clock };
}

const seconds = (b: { since: number; until: number } | null) => (b ? (b.until - b.since) / 1000 : null);

describe("pool guard", () => {
  test("connections per IP are capped and given back", () => {
    const { g } = guard();
    expect(g.admit("10.0.0.1")).toBeNull();
    expect(g.admit("10.0.0.1")).toBeNull();
    expect(g.admit("10.0.0.1")).toBe("more than 2 connections from 10.0.0.1");
    expect(g.admit("10.0.0.2")).toBeNull();
    g.release("10.0.0.1");
    expect(g.admit("10.0.0.1")).toBeNull();
  });

  test("a worker ban starts at a minute, doubles with each repeat up to the cap, and keeps only that worker out", () => {
    const { g, clock } = guard(300);
    const first = g.banWorker("10.0.0.1", "A.rig", "30 of 100 shares invalid");
    expect(seconds(first)).toBe(FIRST_BAN_SECONDS);
    expect(g.banned("10.0.0.1", "A.rig")).toMatchObject({ worker: "A.rig", strikes: 1 });
    expect(g.banned("10.0.0.1", "B.rig")).toBeNull(); // another worker on that IP
    expect(g.banned("10.0.0.2", "A.rig")).toBeNull(); // the same worker elsewhere
    expect(g.admit("10.0.0.1")).toBeNull(); // the IP itself is not banned
    expect(banText(first!, clock.t + 15_000)).toBe("Banned worker A.rig: 30 of 100 shares invalid (45 s left)");
    clock.t += 61_000;
    expect(g.banned("10.0.0.1", "A.rig")).toBeNull();
    // Again within the hour: 120 s, then 240 s, then the 300 s cap.
    expect(seconds(g.banWorker("10.0.0.1", "A.rig", "again"))).toBe(120);
    clock.t += 121_000;
    const ipBan = g.banWorker("10.0.0.1", "A.rig", "again"); // the third worker ban from this IP: the IP goes too
    expect(ipBan).toMatchObject({ worker: null, strikes: 1 });
    expect(ipBan!.reason).toMatch(/^3 worker bans within an hour/);
    expect(g.admit("10.0.0.1")).toMatch(/^Banned: 3 worker bans/);
    expect(g.banned("10.0.0.1", "B.rig")).toMatchObject({ worker: null });
    clock.t += 300_000;
    expect(g.admit("10.0.0.1")).toBeNull();
    expect(seconds(g.banWorker("10.0.0.1", "A.rig", "fourth"))).toBe(300); // 480 capped
  });

  test("strikes are forgotten after an hour without one", () => {
    const { g, clock } = guard();
    g.banWorker("10.0.0.1", "A.rig", "x");
    clock.t += STRIKE_MEMORY_MS + 1;
    expect(seconds(g.banWorker("10.0.0.1", "A.rig", "x"))).toBe(FIRST_BAN_SECONDS);
  });

  test("protocol abuse bans the IP only when repeated", () => {
    const { g } = guard();
    for (let i = 1; i < ABUSE_FOR_IP_BAN; i++) expect(g.protocolAbuse("10.0.0.9", "bad frame")).toBeNull();
    expect(g.admit("10.0.0.9")).toBeNull();
    const b = g.protocolAbuse("10.0.0.9", "bad frame");
    expect(b).toMatchObject({ ip: "10.0.0.9", worker: null });
    expect(g.admit("10.0.0.9")).toMatch(/^Banned: 10 malformed connections/);
  });

  test("lifting an IP lifts its worker bans too and forgets its strikes; a new cap shortens the bans in force; 0 turns bans off", () => {
    const { g, clock } = guard(3600);
    g.banWorker("10.0.0.1", "A.rig", "x");
    g.banIp("10.0.0.2", "operator");
    g.banWorker("10.0.0.3", "C.rig", "x");
    expect(g.list().map((b) => b.ip).sort()).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    expect(g.lift("10.0.0.1")).toBe(1);
    expect(g.banned("10.0.0.1", "A.rig")).toBeNull();
    expect(g.lift("10.0.0.8")).toBe(0);
    clock.t += 40_000;
    expect(seconds(g.banWorker("10.0.0.1", "A.rig", "x"))).toBe(FIRST_BAN_SECONDS); // strikes forgotten
    // A cap of 30 s ends the bans older than that (10.0.0.2 and .3, 40 s old) and shortens the newer one.
    g.setBanSeconds(30);
    expect(g.list().map((b) => b.ip)).toEqual(["10.0.0.1"]);
    expect(seconds(g.list()[0]!)).toBe(30);
    g.setBanSeconds(0);
    expect(g.list()).toEqual([]);
    expect(g.banWorker("10.0.0.1", "A.rig", "x")).toBeNull();
    expect(g.banIp("10.0.0.1", "x")).toBeNull();
  });

  test("expired bans and old strikes are swept", () => {
    const { g, clock } = guard();
    g.banWorker("10.0.0.1", "A.rig", "x");
    clock.t += 61_000;
    g.sweep();
    expect(g.list()).toEqual([]);
  });
});

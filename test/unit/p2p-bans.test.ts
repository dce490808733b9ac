// The P2P node's bans, inbound slots per IP and per-second message limit, on a fake clock.
import { describe, expect, test } from "bun:test";
import { P2PBans } from "../../src/p2p";

function setup(o: { banSeconds?: number; maxMessagesPerSecond?: number; maxInboundPerIp?: number } = {}) {
  const clock = { t: 1_000_000 };
  return { clock, bans: new P2PBans({ ...o, now: () => clock.t }) };
}

describe("P2P bans", () => {
  test("a ban lasts banSeconds, refuses admission meanwhile, and is listed with the second it ends", () => {
    const { clock, bans } = setup({ banSeconds: 60 });
    expect(bans.ban("10.0.0.1", "flooding")).toBe(60);
    expect(bans.banned("10.0.0.1")).toBe(true);
    expect(bans.banned("10.0.0.2")).toBe(false);
    expect(bans.admit("10.0.0.1")).toEqual({ reason: "banned" });
    expect(bans.list()).toEqual([{ ip: "10.0.0.1", until: Math.floor((1_000_000 + 60_000) / 1000) }]);
    clock.t += 60_000;
    expect(bans.banned("10.0.0.1")).toBe(false);
    expect(bans.list()).toEqual([]);
    expect(bans.admit("10.0.0.1")).toBeNull();
    expect(bans.bannedUntil("10.0.0.1")).toBe(0);
    expect(bans.bannedUntil("10.0.0.9")).toBe(0);
  });

  test("bans are flat: a repeat is banSeconds again, not doubled (the shared guard escalates only for the pool)", () => {
    const { clock, bans } = setup({ banSeconds: 60 });
    expect(bans.ban("10.0.0.1", "x")).toBe(60);
    expect(bans.bannedUntil("10.0.0.1")).toBe(1_000_000 + 60_000);
    clock.t += 61_000;
    expect(bans.ban("10.0.0.1", "x")).toBe(60);
    expect(bans.bannedUntil("10.0.0.1")).toBe(clock.t + 60_000);
  });

  test("inbound slots per IP: the cap refuses with its limit, and a released slot is taken again", () => {
    const { bans } = setup({ maxInboundPerIp: 2 });
    expect(bans.admit("10.0.0.1")).toBeNull();
    expect(bans.admit("10.0.0.1")).toBeNull();
    expect(bans.admit("10.0.0.1")).toEqual({ reason: "inbound links per IP", limit: 2 });
    expect(bans.admit("10.0.0.2")).toBeNull();
    bans.release("10.0.0.1");
    expect(bans.admit("10.0.0.1")).toBeNull();
    expect(bans.admit("10.0.0.1")).toEqual({ reason: "inbound links per IP", limit: 2 });
  });

  test("messages: the limit is per second; one over it within the second is flooding, after the second it starts a new one", () => {
    const { clock, bans } = setup({ maxMessagesPerSecond: 3 });
    const w = bans.window();
    for (let i = 0; i < 3; i++) expect(bans.countMessage(w)).toBe(true);
    clock.t += 999;
    expect(bans.countMessage(w)).toBe(false);

    const w2 = bans.window();
    for (let i = 0; i < 3; i++) expect(bans.countMessage(w2)).toBe(true);
    clock.t += 1000;
    expect(bans.countMessage(w2)).toBe(true);
    expect(bans.countMessage(w2)).toBe(true);
    expect(bans.countMessage(w2)).toBe(true);
    expect(bans.countMessage(w2)).toBe(false);
  });
});

// The redial schedule of P2P peers and what it logs, on a fake clock.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core";
import { Dials } from "../../src/p2p";

function setup(quietMs = 60_000) {
  let t = 1_000_000;
  const lines: { level: string; event: string; [k: string]: unknown }[] = [];
  const log = createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const dials = new Dials({ log, now: () => t, minDelayMs: 1000, maxDelayMs: 10_000, quietMs });
  return { dials, lines, advance: (ms: number) => (t += ms), now: () => t };
}

/** One attempt that fails with `error`. */
function fail(d: Dials, addr: string, error = "Failed to connect: ECONNREFUSED", configured = true) {
  const a = d.started(addr, configured);
  d.failed(addr, a, error);
  d.settled(addr, a);
}

describe("P2P dial schedule", () => {
  test("retries at 1, 2, 4, 8 s then every 10 s; a handshake starts the schedule over", () => {
    const { dials, advance } = setup();
    const addr = "127.0.0.1:9";
    expect(dials.due(addr)).toBe(true);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      fail(dials, addr);
      let waited = 0;
      while (!dials.due(addr)) {
        advance(250);
        waited += 250;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    const a = dials.started(addr, true);
    expect(dials.due(addr)).toBe(false); // one attempt at a time
    expect(dials.connected(addr)).toBe(6);
    dials.settled(addr, a);
    expect(dials.due(addr)).toBe(true);
    fail(dials, addr);
    advance(999);
    expect(dials.due(addr)).toBe(false);
    advance(1);
    expect(dials.due(addr)).toBe(true);
  });

  test("a configured peer: warn on the first failure, then debug per retry and one warn a minute", () => {
    const { dials, lines, advance } = setup();
    const addr = "10.0.0.9:8421";
    fail(dials, addr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", event: "p2p.dial_failed", peer: addr, error: "Failed to connect: ECONNREFUSED", failures: 1, retry_in_s: 1 });
    // 70 s of retries: 1+2+4+8 s, then every 10 s.
    for (let elapsed = 0; elapsed < 70_000; ) {
      while (!dials.due(addr)) {
        advance(1000);
        elapsed += 1000;
      }
      fail(dials, addr);
    }
    const warns = lines.filter((l) => l.level === "warn");
    const debugs = lines.filter((l) => l.level === "debug");
    expect(warns).toHaveLength(2);
    expect(warns[1]).toMatchObject({ event: "p2p.dial_failed", note: "still unreachable" });
    expect(warns[1]!.failing_for_s as number).toBeGreaterThanOrEqual(60);
    expect(warns[1]!.debug_lines_since_last).toBe(debugs.filter((d) => (d.failures as number) < (warns[1]!.failures as number)).length);
    expect(debugs.length).toBeGreaterThanOrEqual(5);
    // Every failure was logged exactly once.
    expect(lines.length).toBe(lines.at(-1)!.failures as number);
  });

  test("an address learnt by gossip fails at debug only", () => {
    const { dials, lines } = setup();
    fail(dials, "10.0.0.7:8421", "x", false);
    expect(lines.map((l) => l.level)).toEqual(["debug"]);
  });

  test("an attempt is counted once: a late report (timeout, then the refusal) is ignored", () => {
    const { dials, lines } = setup();
    const addr = "10.0.0.8:8421";
    const a = dials.started(addr, true);
    dials.failed(addr, a, "no answer within 10 s");
    dials.failed(addr, a, "connect ETIMEDOUT");
    dials.settled(addr, a);
    expect(lines).toHaveLength(1);
    expect(dials.view(addr, false).last_error).toBe("no answer within 10 s");
    expect(dials.view(addr, false).failures).toBe(1);
  });

  test("the view: connecting before and during an attempt, failed with error and retry time, connected", () => {
    const { dials, advance, now } = setup();
    const addr = "127.0.0.1:9";
    expect(dials.view(addr, false)).toEqual({ address: addr, state: "connecting", failures: 0, last_error: null, last_error_at: null, next_retry_at: null });
    const t0 = now();
    fail(dials, addr);
    expect(dials.view(addr, false)).toEqual({
      address: addr, state: "failed", failures: 1, last_error: "Failed to connect: ECONNREFUSED",
      last_error_at: new Date(t0).toISOString(), next_retry_at: new Date(t0 + 1000).toISOString(),
    });
    // A ban on the address pushes the next retry to its end.
    expect(dials.view(addr, false, t0 + 3_600_000).next_retry_at).toBe(new Date(t0 + 3_600_000).toISOString());
    advance(1000);
    const a = dials.started(addr, true);
    expect(dials.view(addr, false).state).toBe("connecting");
    dials.connected(addr);
    dials.settled(addr, a);
    const v = dials.view(addr, true);
    expect(v.state).toBe("connected");
    expect(v.failures).toBe(0);
    expect(v.last_error).toBe("Failed to connect: ECONNREFUSED"); // history stays visible
  });
});

// What the worker says: the speed line's fields, and rejected shares one by one up to a limit, then summed up.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core";
import { formatHashrate, RejectLog, speedFields } from "../../src/node/worker-report";

function capture() {
  const lines: any[] = [];
  return { lines, log: createLogger({ json: true, level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}

describe("worker report", () => {
  test("hashrates in words", () => {
    expect(formatHashrate(0)).toBe("0 H/s");
    expect(formatHashrate(999)).toBe("999 H/s");
    expect(formatHashrate(21_170)).toBe("21.2 kH/s");
    expect(formatHashrate(5_430_000)).toBe("5.43 MH/s");
    expect(formatHashrate(87_680_000)).toBe("87.7 MH/s");
    expect(formatHashrate(123_456_789_000)).toBe("123 GH/s");
  });

  test("the speed line: three windows, share totals, pool and difficulty", () => {
    const f = speedFields({
      hashrate: { "10s": 44_280_000, "60s": 44_100_000, "15m": 43_000_000 },
      counts: { accepted: 12, rejected: 2, stale: 1, lost: 0, found: 15 },
      pool: "127.0.0.1:3334",
      difficulty: 0.25,
    });
    expect(f).toEqual({
      speed: "44.3 MH/s 44.1 MH/s 43.0 MH/s (10s/60s/15m)",
      hashrate_10s: 44_280_000, hashrate_60s: 44_100_000, hashrate_15m: 43_000_000,
      accepted: 12, rejected: 2, stale: 1, lost: 0, pool: "127.0.0.1:3334", difficulty: 0.25,
    });
    expect(speedFields({ hashrate: { "10s": 0, "60s": 0, "15m": 0 }, counts: { accepted: 0, rejected: 0, stale: 0, lost: 0, found: 0 }, pool: null, difficulty: null }).pool).toBe("none (not connected)");
  });

  test("rejects: 5 lines per 10 s with code and reason, then one summary of the rest by reason", () => {
    const { lines, log } = capture();
    let now = 1_000_000;
    const r = new RejectLog(log, { now: () => now });
    for (let i = 0; i < 5; i++) r.record({ job: `j${i}`, code: 23, reason: "Low difficulty share" });
    for (let i = 0; i < 6; i++) r.record({ job: "j", code: 23, reason: "Low difficulty share" });
    for (let i = 0; i < 2; i++) r.record({ job: "j", code: 20, reason: "More than 100 shares per second" });
    expect(lines.map((l) => l.event)).toEqual(Array(5).fill("worker.share_rejected"));
    expect(lines[0]).toMatchObject({ level: "warn", job: "j0", code: 23, reason: "Low difficulty share" });
    // Not before the window ends.
    now += 9_999;
    r.flush();
    expect(lines.length).toBe(5);
    now += 1;
    r.flush();
    expect(lines.length).toBe(6);
    expect(lines[5]).toMatchObject({
      level: "warn",
      event: "worker.share_rejected_more",
      more: 8,
      message: "8 more rejects in the last 10 s: 23 Low difficulty share ×6, 20 More than 100 shares per second ×2",
    });
    // A new window logs one by one again; a window with nothing held back ends without a summary.
    now += 60_000;
    r.record({ job: "k", code: 21, reason: "Job not found" });
    now += 10_000;
    r.flush();
    expect(lines.slice(6).map((l) => [l.event, l.reason])).toEqual([["worker.share_rejected", "Job not found"]]);
  });
});

// Issue 13, item 5: mining.authorize for 200,000 worker names on one JSON connection (pipelined, as the attack did)
// against a spawned `rignode pool`. Before the caps the pool's RSS went from 60 MB to 1.3 GB (1.1 GB after the
// disconnect) and /pool/stats to 65 MB; now 256 are authorized, the rest refused, and memory stays bounded.
import { describe, expect, test } from "bun:test";
import { bin } from "../helpers";
import { authorizeFlood } from "../../bench/pool-flood";

describe("authorize flood", () => {
  test("200,000 authorizes on one connection: 256 authorized, the rest refused with code 24; RSS and /pool/stats bounded; nothing kept after disconnect", async () => {
    const r = await authorizeFlood(bin(), 200_000);
    console.log(JSON.stringify(r));
    expect(r.answered).toBe(200_000);
    expect(r.authorized).toBe(256);
    expect(r.refusal).toBe("too many workers on this connection (256)");
    // Generous bounds: before the caps the peak was baseline + 1,200 MB.
    expect(r.rssPeakMb).toBeLessThan(r.rssBaselineMb + 150);
    expect(r.rssAfterMb).toBeLessThan(r.rssBaselineMb + 150);
    // 256 workers in the stats while connected (about 80 KiB), none after (they sent no share).
    expect(r.statsPeakBytes).toBeLessThan(1024 * 1024);
    expect(r.statsAfterBytes).toBeLessThan(16 * 1024);
  }, 300_000);
});

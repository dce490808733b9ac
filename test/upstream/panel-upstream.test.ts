// The panel of a pool on a real coin daemon (litecoind regtest), in Chromium, without a reload: a fresh daemon still
// in initial sync shows down with its error; once it has a block, up with its template (height, age); stopped, down.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base58CheckEncode } from "../../src/chain";
import { coin } from "../../src/pool";
import { bin, freePort, ROOT, waitFor } from "../helpers";
import { haveLitecoind, regtestPair } from "./litecoind";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && existsSync(p));
const OUT = join(ROOT, ".ci", "out");

describe.skipIf(!haveLitecoind || !CHROMIUM)("the panel of a pool on litecoind", () => {
  test("the upstream daemon's state, last error, template height and age, live", async () => {
    mkdirSync(OUT, { recursive: true });
    const pair = await regtestPair(mkdtempSync(join(tmpdir(), "rignode-panel-ltc-")), false);
    const api = freePort();
    const base = `http://127.0.0.1:${api}`;
    const pool = Bun.spawn(
      [bin(), "pool", "--upstream", pair.oracle.url, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-panel-up-")), "--api", `127.0.0.1:${api}`,
        "--stratum", `127.0.0.1:${freePort()}`, "--stratum-json", `127.0.0.1:${freePort()}`, "--pool-address", base58CheckEncode(0x3a, new Uint8Array(20).fill(0xc3))],
      { stdout: "ignore", stderr: "ignore" },
    );
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
    try {
      await waitFor(async () => ((await fetch(`${base}/info`).catch(() => null))?.ok ? true : undefined), 30_000);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(base);
      await page.locator("#upstream").waitFor({ state: "visible", timeout: 20_000 });
      const facts = page.locator("#upstream-facts");
      // A fresh regtest daemon has no block: it refuses templates while "in initial sync".
      await waitFor(async () => ((await facts.textContent())?.includes("Statedown") ? true : undefined), 20_000);
      expect(await facts.textContent()).toContain("initial sync");
      await pair.oracle.call("generatetoaddress", [1, coin.encodeSegwit("rltc", 0, new Uint8Array(32).fill(0xd4))]);
      await waitFor(async () => ((await facts.textContent())?.includes("height 2,") ? true : undefined), 30_000);
      const text = (await facts.textContent())!;
      expect(text).toContain("Stateup");
      expect(text).toMatch(/litecoin/);
      expect(text).toMatch(/height 2, \d+ transactions, \d+(s|m \d+s) old/);
      expect(text).toContain("submitted 0, accepted 0");
      expect(await page.locator("#rig").isHidden()).toBe(true);
      await page.locator("#pool").screenshot({ path: join(OUT, "panel-upstream.png") });

      await pair.stop();
      await waitFor(async () => ((await facts.textContent())?.includes("Statedown") ? true : undefined), 60_000);
      expect(await page.locator("#upstream-facts dd").nth(2).textContent()).not.toBe("none"); // the last error
      await page.close();
    } finally {
      await browser.close();
      pool.kill();
      await pool.exited;
      await pair.stop();
    }
  }, 150_000);
});

// The panel in a real browser (Debian's Chromium driven by playwright-core): a `rignode pool` and a `rignode worker`;
// the worker's row appears and its hashrate changes without a reload; a ban made by a misbehaving Stratum client is
// lifted from the page; the mode is switched from the page (the token asked once) and the API reports it; no request
// leaves the rig. Then a pool whose API listens beyond loopback: a write without the token is refused and the page
// says why. Screenshots of each section go to .ci/out/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { bin, freePort, ROOT, run, waitFor } from "../helpers";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && existsSync(p));
const OUT = join(ROOT, ".ci", "out");

interface Proc {
  proc: ReturnType<typeof Bun.spawn>;
  args: string[];
  base: string;
  data: string;
}

function start(args: string[], api: number, data: string): Proc {
  return spawn(args, `http://127.0.0.1:${api}`, data);
}

function spawn(args: string[], base: string, data: string): Proc {
  const proc = Bun.spawn([bin(), ...args, "--data-dir", data], { stdout: "ignore", stderr: "pipe", env: { ...process.env, RIGNODE_LOG_JSON: "true" } });
  return { proc, base, data, args } as Proc;
}

async function up(p: Proc): Promise<void> {
  await waitFor(async () => ((await fetch(`${p.base}/health`).catch(() => null))?.ok ? true : undefined), 30_000);
}

const json = async (url: string) => (await fetch(url)).json() as Promise<any>;

/** A Stratum V1 client that authorizes a worker and sends shares for a job that does not exist until it is banned. */
async function misbehave(port: number, user: string): Promise<void> {
  let got = "";
  const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (got += d.toString()) } });
  const send = (o: object) => sock.write(`${JSON.stringify(o)}\n`);
  send({ id: 1, method: "mining.subscribe", params: ["bad-miner/1.0"] });
  send({ id: 2, method: "mining.authorize", params: [user, "x"] });
  await waitFor(() => (got.includes('"id":2') ? true : undefined), 10_000);
  for (let i = 0; i < 150; i++) send({ id: 10 + i, method: "mining.submit", params: [user, "no-such-job", "00000000", "00000000", "00000000"] });
  sock.flush();
  await Bun.sleep(500);
  sock.end();
}

describe.skipIf(!CHROMIUM)("the panel in Chromium", () => {
  let browser: Browser;
  const procs: Proc[] = [];

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    for (const p of procs) p.proc.kill();
    await Promise.all(procs.map((p) => p.proc.exited));
  });

  /**
   * A page on `base` that records every request it makes, and every script error and console error: an exception in
   * a section, or a load the CSP refused ("Refused to load …"). Failed loads (a 401 the page handles, a rig being
   * restarted) are the network's, not the page's, and are left out.
   */
  async function open(base: string, width = 1280): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => void requests.push(r.url()));
    page.on("pageerror", (e) => void errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource|net::ERR_/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    await page.goto(base);
    await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
    return { page, requests, errors };
  }

  test("pool + worker: live worker row, a ban lifted, the mode switched, nothing fetched from outside the rig", async () => {
    const [api, native, jsonPort, wapi] = [freePort(), freePort(), freePort(), freePort()];
    const pool = start(["pool", "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`, "--shares-per-second", "0", "--stratum-threads", "2"], api, mkdtempSync(join(tmpdir(), "rignode-panel-pool-")));
    procs.push(pool);
    const wdata = mkdtempSync(join(tmpdir(), "rignode-panel-worker-"));
    expect(run([bin(), "wallet", "new", "--data-dir", wdata]).code).toBe(0);
    const addr = run([bin(), "wallet", "address", "--data-dir", wdata]).stdout.trim().split("\n").at(-1)!;
    await up(pool);
    const worker = start(["worker", "--pool", `127.0.0.1:${native}`, "--user", `${addr}.rig1`, "--threads", "1", "--api", `127.0.0.1:${wapi}`], wapi, wdata);
    procs.push(worker);
    await up(worker);

    const { page, requests, errors } = await open(pool.base);
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    // The worker's row appears, and its hashrate changes, without a reload.
    const row = page.locator(`#workers tr[data-user="${addr}.rig1"]`);
    await row.waitFor({ timeout: 60_000 });
    const rate = row.locator("td.rate");
    const first = await waitFor(async () => {
      const t = (await rate.textContent())!;
      return t !== "0 H/s" && t !== "–" ? t : undefined;
    }, 60_000);
    await waitFor(async () => ((await rate.textContent()) !== first ? true : undefined), 60_000);
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
    await page.locator("#rate").screenshot({ path: join(OUT, "panel-chart.png") });

    // Two Stratum shards: one row each, listening; the worker's connection is on one of them.
    await page.waitForSelector("#pool-shards:not([hidden]) #shards tbody tr:nth-child(2)", { timeout: 20_000 });
    const shardRows = page.locator("#shards tbody tr");
    expect(await shardRows.count()).toBe(2);
    expect(await shardRows.locator("td:nth-child(2)").allTextContents()).toEqual(["listening", "listening"]);
    await waitFor(async () => {
      const conns = (await shardRows.locator("td:nth-child(3)").allTextContents()).map(Number);
      return conns.reduce((a, b) => a + b, 0) >= 1 ? true : undefined;
    }, 20_000);

    // A block the worker found: its payout plan, read from the rig when opened, names the worker's address.
    const blockRow = page.locator("#pool-blocks tbody tr[data-height]").first();
    await blockRow.waitFor({ timeout: 60_000 });
    await blockRow.locator("summary").click();
    await blockRow.locator("details tbody tr").first().waitFor({ timeout: 10_000 });
    expect(await blockRow.locator("details tbody").textContent()).toContain(addr);

    // A client sending work for jobs that do not exist is banned; the page lists the ban and lifts it.
    await misbehave(jsonPort, `${addr}.bad`);
    const banRow = page.locator('#bans tr[data-ip="127.0.0.1"]');
    await banRow.waitFor({ timeout: 20_000 });
    expect((await json(`${pool.base}/pool/bans`)).bans.length).toBeGreaterThan(0);
    await page.locator("#pool").screenshot({ path: join(OUT, "panel-pool.png") });
    await banRow.getByRole("button", { name: /Lift the ban on 127\.0\.0\.1/ }).click();
    await waitFor(async () => ((await json(`${pool.base}/pool/bans`)).bans.length === 0 ? true : undefined), 10_000);
    await banRow.waitFor({ state: "detached", timeout: 10_000 });
    expect(await page.locator("#notice").textContent()).toContain("Lift the ban on 127.0.0.1: done");

    // The mode: a change of where hashrate goes needs the token even on loopback; the page asks for it once.
    const token = readFileSync(join(pool.data, "api-token"), "utf8").trim();
    await page.getByRole("radio", { name: /Solo/ }).check();
    await page.locator("#mode-apply").click();
    const dialog = page.locator("#token-dlg");
    await dialog.waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.locator("#token-why").textContent()).toContain("needs Authorization: Bearer");
    await page.locator("#token-input").fill(token);
    await page.locator("#token-ok").click();
    await waitFor(async () => ((await json(`${pool.base}/pool/mode`)).mode === "solo" ? true : undefined), 15_000);
    await page.locator('[data-kpi="pool-mode"] b', { hasText: "solo" }).waitFor({ timeout: 10_000 });
    // Back to host: the token is kept for the tab, no second question.
    await page.getByRole("radio", { name: /Host/ }).check();
    await page.locator("#mode-apply").click();
    await waitFor(async () => ((await json(`${pool.base}/pool/mode`)).mode === "host" ? true : undefined), 15_000);
    expect(await dialog.isVisible()).toBe(false);
    await page.locator('[data-kpi="pool-mode"] b', { hasText: "host" }).waitFor({ timeout: 10_000 });

    await page.locator("#chain").screenshot({ path: join(OUT, "panel-chain.png") });
    await page.screenshot({ path: join(OUT, "panel-pool-page.png"), fullPage: true });

    // The worker's own page: the rig section with its threads and pool link.
    const w = await open(worker.base, 900);
    await w.page.locator("#worker-link").waitFor({ timeout: 10_000 });
    await w.page.locator("#rig").screenshot({ path: join(OUT, "panel-rig.png") });
    // A phone-sized screen: one column, nothing cut off.
    const phone = await open(pool.base, 390);
    await phone.page.screenshot({ path: join(OUT, "panel-phone.png"), fullPage: true });

    // Accessibility (axe-core's WCAG 2 A/AA rules: labels, contrast, names, keyboard reach). axe is injected as an
    // inline script, which the page's CSP forbids, so this one page bypasses the CSP.
    for (const colorScheme of ["light", "dark"] as const) {
      const a11y = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true, colorScheme });
      await a11y.goto(pool.base);
      await a11y.waitForSelector("body[data-ready]");
      await a11y.addScriptTag({ content: readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8") });
      const violations = await a11y.evaluate(async () => {
        const r = await (globalThis as any).axe.run((globalThis as any).document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
        return r.violations.map((v: any) => `${v.id} (${v.impact}): ${v.nodes.length} × ${v.nodes[0]?.target.join(" ")}: ${v.help}`);
      });
      expect({ colorScheme, violations }).toEqual({ colorScheme, violations: [] });
      await a11y.close();
    }

    // Every request any of these pages made went to the rig itself.
    for (const [base, list] of [[pool.base, requests], [worker.base, w.requests], [pool.base, phone.requests]] as const) {
      expect(list.length).toBeGreaterThan(3);
      expect(list.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
    }
    // No section threw, nothing was refused by the CSP.
    expect([...errors, ...w.errors, ...phone.errors]).toEqual([]);
    await Promise.all([page, w.page, phone.page].map((p) => p.close()));
  }, 240_000);

  test("an API beyond loopback: a write from the page without the token is refused and the page says why", async () => {
    const [api, native, jsonPort] = [freePort(), freePort(), freePort()];
    const pool = start(["pool", "--p2p", "off", "--api", `0.0.0.0:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`], api, mkdtempSync(join(tmpdir(), "rignode-panel-lan-")));
    procs.push(pool);
    await up(pool);
    const { page, errors } = await open(pool.base);
    await page.locator("#pool-stop").click();
    await page.locator("#token-dlg").waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.locator("#token-why").textContent()).toContain("Refused without the API token");
    await page.locator("#token-dlg").screenshot({ path: join(OUT, "panel-token.png") });
    await page.locator("#token-cancel").click();
    const notice = page.locator("#notice");
    await notice.waitFor({ state: "visible" });
    expect(await notice.textContent()).toMatch(/Stop the pool refused: .*write requests need Authorization: Bearer/);
    expect((await json(`${pool.base}/pool/stats`)).running).toBe(true);

    // A wrong token is not taken, and the page says so; the right one goes through.
    await page.locator("#pool-stop").click();
    await page.locator("#token-input").fill("0".repeat(64));
    await page.locator("#token-ok").click();
    await waitFor(async () => ((await page.locator("#token-why").textContent())?.includes("The token was not accepted") ? true : undefined), 10_000);
    await page.locator("#token-input").fill(readFileSync(join(pool.data, "api-token"), "utf8").trim());
    await page.locator("#token-ok").click();
    await waitFor(async () => ((await json(`${pool.base}/pool/stats`)).running === false ? true : undefined), 10_000);

    // The rig restarts: the page says it lost the feed, then picks it up again by itself, in the same document.
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    pool.proc.kill();
    await pool.proc.exited;
    await page.locator("#live", { hasText: /reconnecting|disconnected/ }).waitFor({ timeout: 15_000 });
    const again = spawn(pool.args, pool.base, pool.data);
    procs.push(again);
    await up(again);
    const before = await page.evaluate(() => (globalThis as any).RN.stats.snapshots);
    await page.locator("#live", { hasText: "live" }).waitFor({ timeout: 30_000 });
    await page.waitForFunction((n) => (globalThis as any).RN.stats.snapshots > n + 1, before, { timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  test("a proof-of-sync node: its eligibility, slot, the next height's producers", async () => {
    const api = freePort();
    const node = start(["node", "--network", "devnet-sync", "--p2p", "off", "--api", `127.0.0.1:${api}`], api, mkdtempSync(join(tmpdir(), "rignode-panel-sync-")));
    procs.push(node);
    await up(node);
    const status = await json(`${node.base}/api/mining/status`);
    const { page, requests, errors } = await open(node.base);
    await page.locator("#sync").waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.locator("#sync-winners li").first().textContent()).toContain(`primary ${status.current_winner}`);
    expect(await page.locator("#sync-facts").textContent()).toContain(status.my_node_id.slice(0, 16));
    expect(await page.locator("#rig").isHidden()).toBe(true);
    expect(await page.locator("#pool").isHidden()).toBe(true);
    await page.locator("#sync").screenshot({ path: join(OUT, "panel-sync.png") });
    expect(requests.filter((u) => !u.startsWith(`${node.base}/`))).toEqual([]);
    // A node that neither mines nor pools has no hashrate to chart.
    expect(await page.locator("#rate").isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

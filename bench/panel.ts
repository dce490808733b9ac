// The panel's weight and speed: bytes of the page and its files (raw and gzip, as served), time to first render in
// Chromium (navigation start to the first snapshot drawn, median of several fresh loads), and the time to draw one
// snapshot with 1,000 workers in the pool (and that snapshot's size).
// usage: bun run bench/panel.ts [--workers 1000] [--loads 7] [--chromium /usr/bin/chromium]   (needs dist/rignode)
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { bin, freePort, waitFor } from "../test/helpers";

const { values } = parseArgs({ options: { workers: { type: "string", default: "1000" }, loads: { type: "string", default: "7" }, chromium: { type: "string", default: "/usr/bin/chromium" } } });
const WORKERS = Number(values.workers);
const LOADS = Number(values.loads);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const [api, native, jsonPort] = [freePort(), freePort(), freePort()];
const base = `http://127.0.0.1:${api}`;
const pool = Bun.spawn(
  [bin(), "pool", "--p2p", "off", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-bench-panel-")), "--api", `127.0.0.1:${api}`, "--stratum", `127.0.0.1:${native}`, "--stratum-json", `127.0.0.1:${jsonPort}`,
    "--max-conns-per-ip", "0", "--max-workers-per-conn", "0", "--max-workers-per-ip", "0"],
  { stdout: "ignore", stderr: "ignore" },
);
try {
  await waitFor(async () => ((await fetch(`${base}/health`).catch(() => null))?.ok ? true : undefined), 30_000);

  // Page weight as served to a browser (gzip).
  let raw = 0;
  let gz = 0;
  for (const path of ["/", "/panel/app.css", "/panel/uplot.js", "/panel/app.js"]) {
    const r = await fetch(`${base}${path}`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    const zipped = (await r.arrayBuffer()).byteLength;
    const plain = (await (await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } })).arrayBuffer()).byteLength;
    console.log(`${path.padEnd(16)} ${String(plain).padStart(7)} B raw  ${String(zipped).padStart(7)} B gzip`);
    raw += plain;
    gz += zipped;
  }
  console.log(`${"page total".padEnd(16)} ${String(raw).padStart(7)} B raw  ${String(gz).padStart(7)} B gzip (${(gz / 1024).toFixed(1)} KiB)`);

  // WORKERS workers, 50 per Stratum connection, authorized (no shares needed for a row).
  const socks: { end(): void }[] = [];
  for (let c = 0; c < Math.ceil(WORKERS / 50); c++) {
    const s = await Bun.connect({ hostname: "127.0.0.1", port: jsonPort, socket: { data() {} } });
    socks.push(s);
    s.write(`${JSON.stringify({ id: 1, method: "mining.subscribe", params: [] })}\n`);
    for (let i = 0; i < 50 && c * 50 + i < WORKERS; i++) s.write(`${JSON.stringify({ id: 2 + i, method: "mining.authorize", params: [`31jPauxrn3joP4uSg11R97udRc7RPvvs9kFp4qTyfC9nFMtY9W5.w${c * 50 + i}`, "x"] })}\n`);
  }
  await waitFor(async () => (((await (await fetch(`${base}/pool/stats`)).json()) as { workers: unknown[] }).workers.length >= WORKERS ? true : undefined), 60_000);
  const snap = await (await fetch(`${base}/api/panel/snapshot`)).text();
  const page = await (await fetch(`${base}/pool/workers?limit=50`)).text();
  const all = await (await fetch(`${base}/pool/stats`)).text();
  console.log(`with ${WORKERS} workers, per second: snapshot ${snap.length} B + workers page ${page.length} B (the full /pool/stats would be ${all.length} B)`);

  const browser = await chromium.launch({ executablePath: values.chromium, args: ["--no-sandbox"] });
  const first: number[] = [];
  const dcl: number[] = [];
  const draw: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(base);
    await page.waitForSelector("body[data-ready]", { timeout: 30_000 });
    first.push(await page.evaluate(() => (globalThis as any).RN.stats.firstRenderMs));
    dcl.push(await page.evaluate(() => (globalThis as any).performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd));
    if (i === 0) {
      // Draws of the following snapshots on the same page (one a second).
      for (let k = 0; k < 10; k++) {
        const n = await page.evaluate(() => (globalThis as any).RN.stats.snapshots);
        await page.waitForFunction((n) => (globalThis as any).RN.stats.snapshots > n, n, { timeout: 10_000 });
        draw.push(await page.evaluate(() => (globalThis as any).RN.stats.lastRenderMs));
      }
      const rows = await page.locator("#workers tbody tr").count();
      console.log(`workers table: ${rows} rows drawn of ${WORKERS}`);
    }
    await page.close();
  }
  await browser.close();
  for (const s of socks) s.end();
  console.log(`first render (navigation start -> first snapshot drawn), ${LOADS} fresh loads: median ${median(first).toFixed(0)} ms, min ${Math.min(...first).toFixed(0)}, max ${Math.max(...first).toFixed(0)}`);
  console.log(`of which to DOMContentLoaded (page, styles and scripts loaded and run): median ${median(dcl).toFixed(0)} ms`);
  console.log(`one snapshot drawn with ${WORKERS} workers, 10 draws: median ${median(draw).toFixed(1)} ms, max ${Math.max(...draw).toFixed(1)} ms`);
} finally {
  pool.kill();
  await pool.exited;
}

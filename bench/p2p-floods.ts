// A node's memory and CPU under one hostile P2P peer (issue 13): an addr flood, an inv flood of the same 1,000 ids,
// 4 frames of 4 MiB trickled in 1 KiB pieces. Prints RSS before, at its peak, and 10 s after each flood, and the
// node's CPU seconds during the trickle. Run it against any build to compare (e.g. main's and a branch's).
// usage: bun run bench/p2p-floods.ts [--bin PATH] [--addr N] [--inv N] [--trickle-seconds S]
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { freePort, getJson, waitFor } from "../test/helpers";
import { addrFrame, fakeIds, RawPeer, rssMb, rssSampler } from "../test/integration/rawpeer";
import { frame } from "../src/p2p";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const BIN = opt("bin", join(import.meta.dir, "..", "dist", "rignode"));
const ADDR_MSGS = Number(opt("addr", "9000"));
const INV_MSGS = Number(opt("inv", "6000"));
const TRICKLE_S = Number(opt("trickle-seconds", "10"));

const api = `127.0.0.1:${freePort()}`;
const p2p = freePort();
const proc = Bun.spawn([BIN, "node", "--api", api, "--p2p", `127.0.0.1:${p2p}`, "--data-dir", mkdtempSync(join(tmpdir(), "rignode-bench-floods-")), "--discover=false"], {
  stdout: "ignore", stderr: "ignore",
});
const get = (path: string) => getJson(`http://${api}${path}`);
/** utime + stime of the node, in seconds. */
const cpu = () => {
  const f = readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};

async function measure(name: string, ip: string, run: (p: RawPeer) => Promise<void>): Promise<void> {
  await Bun.sleep(2000);
  const before = rssMb(proc.pid);
  const peer = await RawPeer.open(p2p, ip);
  const rss = rssSampler(proc.pid);
  const t0 = performance.now();
  await run(peer);
  const secs = (performance.now() - t0) / 1000;
  const closed = peer.closed;
  const atEnd = rssMb(proc.pid);
  const health0 = performance.now();
  await get("/health");
  const healthMs = Math.round(performance.now() - health0);
  peer.close();
  await Bun.sleep(10_000);
  rss.stop();
  const view = await get("/api/peers");
  console.log(JSON.stringify({
    flood: name, seconds: +secs.toFixed(1), rss_before_mb: before, rss_peak_mb: rss.peak(), rss_at_end_mb: atEnd, rss_10s_after_mb: rssMb(proc.pid),
    health_ms_at_end: healthMs, attacker_closed: closed, banned_attacker: peer.closed && (view?.banned ?? []).some((b: any) => b.ip === ip), address_book: view?.addresses ?? "n/a",
  }));
}

try {
  await waitFor(() => get("/health"), 30_000);
  await measure(`addr x${ADDR_MSGS} (100 new addresses each, 300 msg/s)`, "127.0.0.61", (p) => p.flood(ADDR_MSGS, 30, addrFrame));
  const inv = frame(["inv", "block", fakeIds(9)], 1 << 20);
  await measure(`inv x${INV_MSGS} (the same 1,000 ids, 300 msg/s)`, "127.0.0.62", (p) => p.flood(INV_MSGS, 30, () => inv));

  // 4 links, each trickling a 4 MiB frame in 1 KiB writes for TRICKLE_S seconds (after the handshake).
  await Bun.sleep(2000);
  const links = await Promise.all([1, 2, 3, 4].map((i) => RawPeer.open(p2p, `127.0.0.7${i}`)));
  for (const l of links) l.socket.setNoDelay(true);
  const head = new Uint8Array([0, 0x3f, 0xff, 0xf0]);
  for (const l of links) await l.write(head);
  const c0 = cpu();
  const end = Date.now() + TRICKLE_S * 1000;
  let sent = 0;
  const piece = new Uint8Array(1024).fill(0xc1);
  while (Date.now() < end && sent < 4090 * 1024) {
    for (const l of links) l.socket.write(piece);
    sent += 1024;
    await Bun.sleep(1);
  }
  console.log(JSON.stringify({ flood: `4 x 4 MiB frames trickled in 1 KiB pieces for ${TRICKLE_S} s`, kib_per_link: sent / 1024, node_cpu_seconds: +(cpu() - c0).toFixed(2), rss_mb: rssMb(proc.pid) }));
  for (const l of links) l.close();

  // 40 silent links from one address (more than the 32 slots), then a new link from another: accepted or refused?
  const silent = Array.from({ length: 40 }, () => {
    const s = connect({ host: "127.0.0.1", port: p2p, localAddress: "127.0.0.80" });
    s.on("error", () => {});
    return s;
  });
  await Bun.sleep(1000);
  const ok = await RawPeer.open(p2p, "127.0.0.81").then((p) => waitFor(() => (p.received.length ? p : undefined), 3000).then(() => true, () => false));
  const view = await get("/api/peers");
  console.log(JSON.stringify({ flood: "40 silent links from one address (the node has 32 slots)", silent_links_held: view.peers.filter((p: any) => p.address.startsWith("127.0.0.80:")).length, another_address_answered: ok }));
  for (const s of silent) s.destroy();
} finally {
  proc.kill("SIGTERM");
  await proc.exited;
}

// Issue 13, item 9: `rignode pool --stratum-tls` with a certificate made by openssl, and `rignode worker
// stratum+ssl://... --tls-ca` mining accepted shares through it, as real processes on loopback; a plain-TCP client on
// the TLS port is closed and the pool keeps serving; a bad certificate file stops the pool with one line naming it.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, getJson, run, waitFor } from "../helpers";
import { encodeAddress, generateKeyPair, NETWORKS } from "../../src/chain";
import { makeCert } from "../pool/tls-cert";

const env = { ...process.env, RIGNODE_LOG_JSON: "true" };

describe("Stratum over TLS between real processes", () => {
  test("a worker on stratum+ssl:// (trusting the pool's self-signed certificate) mines accepted shares; a plain client on the TLS port is refused cleanly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-tls-int-"));
    const { cert, key } = makeCert(dir);
    const api = freePort();
    const tlsPort = freePort();
    const pool = Bun.spawn(
      [bin(), "pool", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-pool-")), "--p2p", "off", "--api", `127.0.0.1:${api}`, "--stratum", "off", "--stratum-json", "off",
        "--stratum-tls", `127.0.0.1:${tlsPort}`, "--tls-cert", cert, "--tls-key", key, "--start-difficulty", "0.0005", "--share-interval", "0.5"],
      { stdout: "ignore", stderr: "pipe", env },
    );
    const procs: Bun.Subprocess[] = [pool];
    try {
      const stats = await waitFor(async () => {
        const s = await getJson(`http://127.0.0.1:${api}/pool/stats`);
        return s?.running && s.job ? s : undefined;
      }, 30_000);
      expect(stats.listening).toEqual({ stratum: null, stratum_json: null, stratum_tls: tlsPort });

      // Plain Stratum on the TLS port: closed without an answer, and nothing is held for it.
      let closed!: () => void;
      const gone = new Promise<void>((r) => (closed = r));
      const plain = await Bun.connect({ hostname: "127.0.0.1", port: tlsPort, socket: { data() {}, close: () => closed(), error: () => closed() } });
      plain.write(JSON.stringify({ id: 1, method: "mining.subscribe", params: [] }) + "\n");
      await gone;

      const user = `${encodeAddress(generateKeyPair().publicKey, NETWORKS.devnet!.addressVersion)}.tls`;
      const wapi = freePort();
      const worker = Bun.spawn(
        [bin(), "worker", "--pool", `stratum+ssl://127.0.0.1:${tlsPort}`, "--tls-ca", cert, "--user", user, "--threads", "1", "--pin=false", "--api", `127.0.0.1:${wapi}`,
          "--data-dir", mkdtempSync(join(tmpdir(), "rignode-w-"))],
        { stdout: "ignore", stderr: "pipe", env },
      );
      procs.push(worker);
      const w = await waitFor(async () => {
        const s = await getJson(`http://127.0.0.1:${wapi}/api/worker`);
        return s?.shares?.accepted >= 3 ? s : undefined;
      }, 90_000);
      expect(w).toMatchObject({ connected: true, protocol: "json", pool: `127.0.0.1:${tlsPort}` });
      const after = await getJson(`http://127.0.0.1:${api}/pool/stats`);
      const mine = after.workers.find((x: any) => x.user === user);
      expect(mine.accepted).toBeGreaterThanOrEqual(3);
      expect(after.connections).toBe(1); // the worker; the plain client is long gone
    } finally {
      for (const p of procs.reverse()) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
    }
    const log = await new Response(pool.stderr).text();
    const failed = log.split("\n").filter((l) => l.includes('"stratum.tls_failed"')).map((l) => JSON.parse(l));
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0].ip).toBe("127.0.0.1");
  }, 150_000);

  test("a bad certificate or key file: the pool does not start, one line names the file, exit 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-tls-bad-"));
    const { cert, key } = makeCert(dir);
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    const start = (c: string, k: string) =>
      run([bin(), "pool", "--data-dir", mkdtempSync(join(tmpdir(), "rignode-pool-")), "--p2p", "off", "--api", `127.0.0.1:${freePort()}`, "--stratum", "off", "--stratum-json", "off",
        "--stratum-tls", `127.0.0.1:${freePort()}`, "--tls-cert", c, "--tls-key", k], { env: { RIGNODE_LOG_LEVEL: "warn" } });
    for (const [c, k, says] of [[junk, key, `TLS certificate (--tls-cert) ${junk}: not a PEM certificate`], [cert, junk, `TLS key (--tls-key) ${junk}: not a PEM private key`], [join(dir, "none.crt"), key, `TLS certificate (--tls-cert) ${join(dir, "none.crt")}: cannot be read (ENOENT)`]]) {
      const r = start(c!, k!);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith(`rignode: ${says}`);
    }
  });
});

// A self-signed certificate made by openssl, as an operator would make one, for the Stratum-over-TLS tests.
import { join } from "node:path";

/** A P-256 certificate for 127.0.0.1 (CN and IP subjectAltName), valid one day; the paths of its PEM files. */
export function makeCert(dir: string, name = "pool"): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = Bun.spawnSync([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ]);
  if (r.exitCode !== 0) throw new Error(`openssl failed (is it installed?): ${r.stderr.toString()}`);
  return { cert, key };
}

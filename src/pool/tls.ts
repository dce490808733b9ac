import { createPrivateKey, X509Certificate } from "node:crypto";
import { readRegularFile, RignodeError } from "../core";
import type { StratumTls } from "./transport";

/** Most bytes of a PEM certificate chain or key file (a chain is a few kilobytes). */
const MAX_PEM_BYTES = 1 << 20;

/**
 * The certificate and key of the Stratum TLS port, read and checked at start-up: a missing, unreadable or malformed
 * file, or a key that is not the certificate's, is a one-line error naming the file (exit 1), never a listener that
 * fails every handshake.
 */
export function loadStratumTls(certPath: string, keyPath: string): StratumTls {
  if (!certPath || !keyPath) throw new RignodeError("usage", "--stratum-tls needs --tls-cert FILE and --tls-key FILE (PEM)");
  const read = (path: string, what: string) => readRegularFile(path, { what, maxBytes: MAX_PEM_BYTES, code: "unavailable" });
  const cert = read(certPath, "TLS certificate (--tls-cert)");
  const key = read(keyPath, "TLS key (--tls-key)");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new RignodeError("unavailable", `TLS certificate (--tls-cert) ${certPath}: not a PEM certificate (${firstLine(e)})`);
  }
  let pk;
  try {
    pk = createPrivateKey(key);
  } catch (e) {
    throw new RignodeError("unavailable", `TLS key (--tls-key) ${keyPath}: not a PEM private key (${firstLine(e)})`);
  }
  if (!x509.checkPrivateKey(pk)) throw new RignodeError("unavailable", `TLS key (--tls-key) ${keyPath} is not the key of the certificate ${certPath}`);
  if (Date.parse(x509.validTo) < Date.now()) throw new RignodeError("unavailable", `TLS certificate (--tls-cert) ${certPath} expired on ${x509.validTo}`);
  return { cert, key };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0]!;
}

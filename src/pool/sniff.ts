import { encodeLine, encodeStratum, type StratumCodec } from "../stratum";

// The port trap: 3333 is the port every miner knows, so a Stratum V1 miner finds the native port and a native
// worker finds the JSON port. The first bytes of a connection tell which protocol the other side speaks; the
// wrong one gets a one-line hint in the protocol it does speak, then the connection is closed.

/** What the first bytes of a connection look like. */
export type Sniffed = "native" | "json" | "http" | "tls" | "unknown";

const HTTP_METHODS = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "].map((m) => Buffer.from(m));

/**
 * The protocol the first bytes of a connection are in: a JSON line starts with `{` (after blanks), an HTTP request
 * with a method and a space, TLS with a handshake record (0x16 0x03), a native frame with a 4-byte big-endian length
 * no larger than `maxFrame` followed by a msgpack map. A chunk shorter than a method name that matches its start
 * counts as HTTP: no native frame can begin with those bytes.
 */
export function sniffProtocol(first: Uint8Array, maxFrame = 1 << 20): Sniffed {
  let i = 0;
  while (i < first.length && (first[i] === 0x20 || first[i] === 0x09 || first[i] === 0x0a || first[i] === 0x0d)) i++;
  if (first[i] === 0x7b) return "json";
  for (const m of HTTP_METHODS) {
    const n = Math.min(m.length, first.length);
    if (n >= 3 && m.subarray(0, n).equals(first.subarray(0, n))) return "http";
  }
  if (first.length >= 2 && first[0] === 0x16 && first[1] === 0x03) return "tls";
  if (first.length >= 5) {
    const len = new DataView(first.buffer, first.byteOffset, 4).getUint32(0);
    const b = first[4]!;
    if (len > 0 && len <= maxFrame && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf)) return "native";
  }
  return "unknown";
}

/** A connection in the wrong protocol: what to log and the bytes to answer before closing. */
export interface WrongProtocol {
  detected: Sniffed;
  /** For the log: what happened, in words. */
  what: string;
  hint: string;
  reply: Uint8Array;
}

/** How to name this pool's ports in a hint: the address the client connected to. */
export interface HintAddress {
  host: string;
  port: number;
  /** The other codec's port (the JSON port for the native listener and the other way round); null when off. */
  otherPort: number | null;
}

/**
 * The answer for a connection whose first bytes are in another protocol than the listener's codec, or null when
 * they may be right (or are unrecognisable: the codec's own decoder then says what is wrong).
 */
export function wrongProtocol(codec: StratumCodec, first: Uint8Array, at: HintAddress): WrongProtocol | null {
  const seen = sniffProtocol(first);
  const host = at.host.includes(":") ? `[${at.host}]` : at.host;
  if (codec === "native") {
    if (seen !== "json" && seen !== "http" && seen !== "tls") return null;
    const hint =
      at.otherPort !== null
        ? `this is rignode's native port; Stratum V1 miners use stratum+tcp://${host}:${at.otherPort}`
        : "this is rignode's native port (4-byte length + msgpack); this pool has no Stratum V1 JSON port open";
    const what = { json: "a Stratum V1 JSON client on the native port", http: "an HTTP request on the native port", tls: "a TLS handshake on the native port (no TLS here)" }[seen];
    if (seen === "http") return { detected: seen, what, hint, reply: httpReply(hint) };
    // A Stratum V1 miner reads the error; cgminer-like miners print client.show_message.
    const reply = Buffer.concat([
      encodeLine({ id: null, error: [20, hint, null], result: null }),
      encodeLine({ id: null, method: "client.show_message", params: [hint] }),
    ]);
    return { detected: seen, what, hint, reply: seen === "tls" ? new Uint8Array(0) : reply };
  }
  if (seen === "native") {
    const hint =
      at.otherPort !== null
        ? `this is rignode's Stratum V1 JSON port; use ${host}:${at.otherPort} for the native protocol, or stratum+tcp://${host}:${at.port} for this one`
        : `this is rignode's Stratum V1 JSON port and the native port is off; use stratum+tcp://${host}:${at.port}`;
    const reply = encodeStratum("native", { id: null, error: [20, hint, null], result: null }, 1 << 16);
    return { detected: seen, what: "a native (msgpack frame) client on the Stratum V1 JSON port", hint, reply };
  }
  if (seen === "tls") {
    // A stratum+ssl:// miner: nothing it could read; closed, logged, never counted as abuse.
    return { detected: seen, what: "a TLS handshake on the Stratum V1 JSON port (no TLS here)", hint: "no TLS on this port", reply: new Uint8Array(0) };
  }
  if (seen === "http") {
    const hint = "this is rignode's Stratum V1 JSON port (one JSON object per line over TCP), not HTTP";
    return { detected: seen, what: "an HTTP request on the Stratum V1 JSON port", hint, reply: httpReply(hint) };
  }
  return null;
}

function httpReply(hint: string): Uint8Array {
  const body = hint + "\n";
  return Buffer.from(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

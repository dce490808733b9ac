import { RignodeError } from "../core";
import type { Value } from "../chain";

// P2P messages are arrays whose first item names the message. Each parser checks the shape it accepts, so a
// handler never sees a malformed message; a failed check is a protocol violation of the sender.

export const PROTOCOL_VERSION = 1;
/** Most headers in one `headers` message, and most blocks asked for in one `getblocks`. */
export const MAX_HEADERS = 2000;
export const MAX_BLOCKS_PER_MSG = 16;
export const MAX_INV = 1000;

export type Message =
  | { t: "hello"; version: number; chainId: string; genesis: Uint8Array; height: number; tip: Uint8Array; nodeId: Uint8Array; listenPort: number; challenge: Uint8Array }
  | { t: "auth"; sig: Uint8Array }
  | { t: "ping"; n: number }
  | { t: "pong"; n: number }
  | { t: "getheaders"; locator: Uint8Array[] }
  | { t: "headers"; headers: Uint8Array[] }
  | { t: "getblocks"; hashes: Uint8Array[] }
  | { t: "blocks"; blocks: Uint8Array[] }
  | { t: "inv"; kind: "block" | "tx"; ids: Uint8Array[] }
  | { t: "gettx"; ids: Uint8Array[] }
  | { t: "txs"; txs: Uint8Array[] }
  | { t: "getaddr" }
  | { t: "addr"; addrs: { host: string; port: number }[] };

function bad(msg: string): never {
  throw new RignodeError("input", `protocol: ${msg}`);
}

function bytesN(v: Value | undefined, n: number | null, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || (n !== null && v.length !== n)) bad(`${what} must be ${n ?? "some"} bytes`);
  return v;
}

function uint(v: Value | undefined, max: number, what: string): number {
  if (typeof v !== "number" || v > max) bad(`${what} must be an integer <= ${max}`);
  return v;
}

function list<T>(v: Value | undefined, max: number, what: string, item: (x: Value) => T): T[] {
  if (!Array.isArray(v) || v.length > max) bad(`${what} must be a list of at most ${max}`);
  return v.map(item);
}

/** Checks a decoded frame and turns it into a typed message. */
export function parseMessage(v: Value): Message {
  if (!Array.isArray(v) || typeof v[0] !== "string") bad("a message is [name, ...fields]");
  const h = (x: Value) => bytesN(x, 32, "hash");
  switch (v[0]) {
    case "hello":
      if (typeof v[2] !== "string") bad("hello chain id must be text");
      return {
        t: "hello", version: uint(v[1], 0xffff, "version"), chainId: v[2], genesis: h(v[3]!), height: uint(v[4], 2 ** 32, "height"),
        tip: h(v[5]!), nodeId: bytesN(v[6], 32, "node id"), listenPort: uint(v[7], 65535, "listen port"), challenge: bytesN(v[8], 32, "challenge"),
      };
    case "auth":
      return { t: "auth", sig: bytesN(v[1], 64, "signature") };
    case "ping":
    case "pong":
      return { t: v[0], n: uint(v[1], Number.MAX_SAFE_INTEGER, "ping number") };
    case "getheaders":
      return { t: "getheaders", locator: list(v[1], 64, "locator", h) };
    case "headers":
      return { t: "headers", headers: list(v[1], MAX_HEADERS, "headers", (x) => bytesN(x, 80, "header")) };
    case "getblocks":
      return { t: "getblocks", hashes: list(v[1], MAX_BLOCKS_PER_MSG, "block hashes", h) };
    case "blocks":
      return { t: "blocks", blocks: list(v[1], MAX_BLOCKS_PER_MSG, "blocks", (x) => bytesN(x, null, "block")) };
    case "inv":
      if (v[1] !== "block" && v[1] !== "tx") bad("inv kind must be block or tx");
      return { t: "inv", kind: v[1], ids: list(v[2], MAX_INV, "inv ids", h) };
    case "gettx":
      return { t: "gettx", ids: list(v[1], MAX_INV, "tx ids", h) };
    case "txs":
      return { t: "txs", txs: list(v[1], MAX_INV, "txs", (x) => bytesN(x, null, "tx")) };
    case "getaddr":
      return { t: "getaddr" };
    case "addr":
      return {
        t: "addr",
        addrs: list(v[1], 100, "addrs", (x) => {
          if (!Array.isArray(x) || typeof x[0] !== "string" || x[0].length > 64) bad("addr entry must be [host, port]");
          return { host: x[0], port: uint(x[1], 65535, "port") };
        }),
      };
    default:
      return bad(`unknown message '${String(v[0]).slice(0, 32)}'`);
  }
}

/** The wire value of a message. */
export function messageValue(m: Message): Value {
  switch (m.t) {
    case "hello":
      return ["hello", m.version, m.chainId, m.genesis, m.height, m.tip, m.nodeId, m.listenPort, m.challenge];
    case "auth":
      return ["auth", m.sig];
    case "ping":
    case "pong":
      return [m.t, m.n];
    case "getheaders":
      return ["getheaders", m.locator];
    case "headers":
      return ["headers", m.headers];
    case "getblocks":
      return ["getblocks", m.hashes];
    case "blocks":
      return ["blocks", m.blocks];
    case "inv":
      return ["inv", m.kind, m.ids];
    case "gettx":
      return ["gettx", m.ids];
    case "txs":
      return ["txs", m.txs];
    case "getaddr":
      return ["getaddr"];
    case "addr":
      return ["addr", m.addrs.map((a) => [a.host, a.port])];
  }
}

// Fuzz targets with state behind the parser: a real pool's Stratum sessions (both codecs), the config loader reading
// files from a temp dir, and the HTTP API's write routes on the real pool and chain (in process, app.request).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chainRoutes, createApp, minerRoutes, poolRoutes } from "../../src/api";
import { Chain, loadNetwork, NETWORKS } from "../../src/chain";
import { loadConfig, DEFAULTS, OPTIONS } from "../../src/config";
import { createLogger, encodeLoose, MetricsRegistry, RignodeError, toHex, type LooseValue } from "../../src/core";
import { ChainSource, DEFAULT_LIMITS, DEFAULT_VARDIFF, HttpWorkers, Ledger, PoolServer, type Link } from "../../src/pool";
import { Store } from "../../src/store";
import { encodeStratum, FrameWriter, MAX_MINER_MESSAGE_BYTES, MAX_POOL_MESSAGE_BYTES, PoolConnection, stratumDecoder, type PoolEndpoint, type StratumCodec } from "../../src/stratum";
import type { ConnectionEvents } from "../../src/stratum/connection";
import { ProtocolHints } from "../../src/stratum/pool-says";
import { kernel } from "../chain/helpers";
import { chunks, concat, frameOf, mutateBytes, mutateEncoded, mutateJson, type Rng } from "./gen";
import { ADDR_A, ADDR_B, KEY_A, MINER_MESSAGES, POOL_MESSAGES, TX_BYTES } from "./seeds";
import { count, describeError, expectRefusal, hex, type Outcome, type Target } from "./runner";

const MAX_INPUT = 40_000;
const log = createLogger({ json: true, level: "error" });
const POOL_PARAMS = { ...NETWORKS.devnet!, powLimitBits: 0x1f00ffff };

/** A real pool on a throwaway data dir (chain, ledger, kernel), started: jobs exist, shares are checked. */
function startPool(limits: Partial<typeof DEFAULT_LIMITS> = {}): { server: PoolServer; chain: Chain; store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "rignode-fuzz-pool-"));
  const store = Store.open(dir);
  const chain = new Chain({ store, params: POOL_PARAMS, powHash: (h) => kernel.hash(POOL_PARAMS.algo, h) });
  const server = new PoolServer({
    source: new ChainSource(chain), powHash: (h) => kernel.hash("sha256d", h), ledger: new Ledger(store), log, poolAddress: KEY_A.publicKey, poolFeeBps: 100,
    scheme: "pplns", pplnsWindow: "auto", vardiff: { ...DEFAULT_VARDIFF }, startDifficulty: 1, limits: { ...DEFAULT_LIMITS, ...limits }, jobRefreshSeconds: 30, instanceId: 3,
  });
  server.start();
  return { server, chain, store, dir };
}

const HANDSHAKE = [MINER_MESSAGES[0]!, MINER_MESSAGES[1]!];

/** The miner's messages with the pool's current job in the submits, so mutated shares reach the share checks. */
function minerSeeds(server: PoolServer): { job: unknown; msgs: Record<string, unknown>[]; lines: Uint8Array[]; bodies: Uint8Array[] } {
  const job = server.currentJob()?.params;
  const msgs = MINER_MESSAGES.map((m) => (m.method === "mining.submit" && job ? { ...m, params: (m.params as string[]).map((x, i) => (i === 1 ? String(job[0]) : i === 3 ? String(job[7]) : x)) } : m));
  return { job: job?.[0], msgs, lines: msgs.map((m) => new TextEncoder().encode(JSON.stringify(m))), bodies: msgs.map((m) => encodeLoose(m as LooseValue)) };
}

/** One connection's bytes in a codec: often a valid handshake first (so submit and friends are reached), then mutations. */
function sessionStream(r: Rng, codec: StratumCodec, seeds: ReturnType<typeof minerSeeds>): Uint8Array {
  const msgs: Uint8Array[] = [];
  const one = (m: Record<string, unknown>, mutate: boolean): Uint8Array => {
    if (codec === "json") return concat([mutate ? mutateJson(r, m, seeds.lines, MAX_INPUT) : new TextEncoder().encode(JSON.stringify(m)), new Uint8Array([10])]);
    const body = encodeLoose(m as LooseValue);
    return frameOf(mutate ? mutateEncoded(r, body, seeds.bodies, MAX_INPUT) : body);
  };
  if (r.chance(0.7)) for (const m of HANDSHAKE) msgs.push(one(m, false));
  for (let k = 1 + r.int(3); k > 0; k--) msgs.push(one(r.pick(seeds.msgs), r.chance(0.9)));
  return concat(msgs);
}

/**
 * Stratum sessions on a real pool: a connection per input (JSON lines or native frames), its bytes in random chunks
 * through the codec's decoder (refusals are "input" errors), every message into the session, whose answers are
 * encoded as the transport does. StratumSession.handle must never reject: it answers bad requests with errors.
 */
export function sessionTarget(): Target {
  // No bans: a banned worker's shares stop at the ban check, and these inputs are mostly invalid shares.
  const { server, store, dir } = startPool({ banSeconds: 0 });
  const ips = ["10.0.0.1", "10.0.0.2", "2001:db8::7"];
  let seeds = minerSeeds(server);
  const tally = new Map<string, number>();
  return {
    name: "stratum-session",
    tally,
    async run(r) {
      const codec: StratumCodec = r.chance(0.5) ? "json" : "native";
      if (server.currentJob()?.params[0] !== seeds.job) seeds = minerSeeds(server);
      const stream = sessionStream(r, codec, seeds);
      const show = () => `${codec} ${codec === "json" ? JSON.stringify(Buffer.from(stream).toString("latin1")).slice(0, 1000) : hex(stream)}`;
      let encodeError: unknown = null;
      const link: Link = {
        ip: r.pick(ips),
        codec,
        encode: (m) => {
          count(tally, "method" in m ? `sent ${m.method}` : m.error ? `answered error ${m.error[0]}` : "answered ok");
          try {
            return encodeStratum(codec, m, MAX_POOL_MESSAGE_BYTES);
          } catch (e) {
            encodeError ??= e;
            throw e;
          }
        },
        write: () => {},
        flush: () => {},
        send: () => {},
        close: () => server.closed(conn),
      };
      const opened = server.open(link);
      if (typeof opened === "string") return null; // banned or over the per-IP cap: refused, as designed
      const conn = opened;
      try {
        const decoder = stratumDecoder(codec, MAX_MINER_MESSAGE_BYTES);
        for (const c of chunks(r, stream)) {
          let msgs: unknown[];
          try {
            msgs = decoder.push(c);
          } catch (e) {
            if (e instanceof RignodeError) count(tally, "decoder refused");
            return null; // the transport closes the connection and says why
            return { error: `decoder: ${describeError(e)}`, input: show() };
          }
          for (const m of msgs) {
            if (conn.closed) return null;
            try {
              await conn.handle(m, Date.now());
            } catch (e) {
              return { error: `session.handle rejected: ${describeError(e)}`, input: show() };
            }
            if (encodeError) return { error: `answer not encodable: ${describeError(encodeError)}`, input: show() };
          }
        }
        return null;
      } finally {
        server.closed(conn);
      }
    },
    close() {
      server.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the worker's side ----

const POOL_LINES = POOL_MESSAGES.map((m) => new TextEncoder().encode(JSON.stringify(m)));
const POOL_BODIES = POOL_MESSAGES.map((m) => encodeLoose(m as LooseValue));

/**
 * What `rignode worker` does with a pool's messages: the bytes through the codec's decoder (1 MiB cap), each message
 * into PoolConnection's handler (notify, set_difficulty, set_extranonce, errors, bans, reconnect) on a connection past
 * its handshake. The handler has no error contract (it runs in the socket's data callback): any exception from it is
 * a crash, and so is a client.reconnect that would send the failover policy to a port no socket can take.
 */
export function clientTarget(): Target {
  const tally = new Map<string, number>();
  let moved: PoolEndpoint | null = null;
  const events: ConnectionEvents = {
    opened() {},
    ready() {},
    work: () => count(tally, "work"),
    banned: () => count(tally, "banned"),
    refused: () => count(tally, "refused"),
    move: (to) => void (moved = to),
    ended() {},
  };
  const hints = new ProtocolHints(log);
  // A socket that takes every write: answers to the pool's requests are encoded and sent as on a real link.
  const socket = { write: (b: Uint8Array) => b.length, end: () => {} };
  return {
    name: "stratum-client",
    tally,
    run(r) {
      const codec: StratumCodec = r.chance(0.5) ? "json" : "native";
      const parts: Uint8Array[] = [];
      for (let k = 1 + r.int(3); k > 0; k--) {
        const i = r.int(POOL_MESSAGES.length);
        if (codec === "json") parts.push(r.chance(0.9) ? mutateJson(r, POOL_MESSAGES[i], POOL_LINES, MAX_INPUT) : POOL_LINES[i]!, new Uint8Array([10]));
        else parts.push(frameOf(r.chance(0.9) ? mutateEncoded(r, POOL_BODIES[i]!, POOL_BODIES, MAX_INPUT) : POOL_BODIES[i]!));
      }
      const stream = concat(parts);
      const show = () => `${codec} ${codec === "json" ? JSON.stringify(Buffer.from(stream).toString("latin1")).slice(0, 1000) : hex(stream)}`;
      const decoder = stratumDecoder(codec, MAX_POOL_MESSAGE_BYTES);
      // A connection as it is once subscribed and authorized, built without dialling (no network in the fuzzer).
      const conn = Object.assign(Object.create(PoolConnection.prototype) as object, {
        o: { endpoint: { host: "127.0.0.1", port: 3334, codec }, user: ADDR_A, password: "x", log, difficulty: 1, hints, events },
        socket, writer: new FrameWriter(socket, 4 << 20), nextId: 1, pending: new Map(), handshakeTimer: null, closed: false,
        extranonce1: "00000001", extranonce2Size: 4, lastNotify: null, gotMessage: true, firstByte: null, said: new Set<string>(),
        opened: true, authorized: true, difficulty: 1,
      }) as unknown as { onMessage(m: unknown): void };
      moved = null;
      for (const c of chunks(r, stream)) {
        let msgs: unknown[];
        try {
          msgs = decoder.push(c);
        } catch (e) {
          if (e instanceof RignodeError) {
            count(tally, "decoder refused");
            return null;
          }
          return { error: `decoder: ${describeError(e)}`, input: show() };
        }
        for (const m of msgs) {
          try {
            conn.onMessage(m);
            count(tally, "accepted");
          } catch (e) {
            return { error: `client message handler threw: ${describeError(e)}`, input: show() };
          }
          // Where a client.reconnect would take the worker: Bun.connect throws (in a timer: the process exits) on a
          // port that is not a whole number 1..65535.
          const port = (moved as PoolEndpoint | null)?.port;
          if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) return { error: `client.reconnect accepted port ${port}`, input: show() };
        }
      }
      return null;
    },
    close() {},
  };
}

// ---- config ----

/** Object.prototype as it was: a config file must never change it (prototype pollution through "__proto__"). */
function prototypeSnapshot(): Map<string, PropertyDescriptor> {
  return new Map(Object.getOwnPropertyNames(Object.prototype).map((k) => [k, Object.getOwnPropertyDescriptor(Object.prototype, k)!]));
}

/** Says whether Object.prototype changed, and puts it back so the run goes on. */
function prototypeRestored(snap: Map<string, PropertyDescriptor>): string | null {
  const changed: string[] = [];
  for (const k of Object.getOwnPropertyNames(Object.prototype)) {
    const was = snap.get(k);
    const now = Object.getOwnPropertyDescriptor(Object.prototype, k)!;
    if (!was) (changed.push(`+${k}`), delete (Object.prototype as Record<string, unknown>)[k]);
    else if (was.value !== now.value || was.get !== now.get || was.set !== now.set) (changed.push(k), Object.defineProperty(Object.prototype, k, was));
  }
  return changed.length ? `Object.prototype changed: ${changed.join(", ")}` : null;
}

const CONFIG_DOCS: unknown[] = [
  DEFAULTS,
  { pool: { feePercent: 2.5, scheme: "prop", window: 1000, stratum: "off" }, log: { level: "debug", json: true } },
  { worker: { pools: ["stratum+tcp://pool.example:3333", "127.0.0.1:3334"], user: `${ADDR_A}.rig`, password: "d=0.5", printTime: 10 } },
  { dataDir: "/var/lib/rignode", network: "devnet-sync", p2p: { peers: ["[::1]:8421", "10.0.0.2:8421"], discover: false }, miner: { threads: 4, batch: 65536, mine: true } },
  { api: { listen: "0.0.0.0:8420", auth: "token" }, kernel: { variant: "v3" }, miner: { algo: "scrypt", address: ADDR_B } },
  {},
];
const CONFIG_TEXTS = CONFIG_DOCS.map((d) => new TextEncoder().encode(JSON.stringify(d)));

/**
 * The config loader: a mutated JSON file in a temp dir (and sometimes mutated RIGNODE_* variables and flags), through
 * loadConfig and then loadNetwork of the result (as start-up does). A "config"/"usage" RignodeError or a config; never another exception, never a changed Object.prototype.
 */
export function configTarget(): Target {
  const dir = mkdtempSync(join(tmpdir(), "rignode-fuzz-config-"));
  const file = join(dir, "rignode.json");
  const snap = prototypeSnapshot();
  const tally = new Map<string, number>();
  return {
    name: "config",
    tally,
    run(r) {
      const body = mutateJson(r, r.pick(CONFIG_DOCS), CONFIG_TEXTS, MAX_INPUT);
      writeFileSync(file, body);
      const env: Record<string, string> = {};
      const flags: Record<string, string | boolean | string[]> = {};
      if (r.chance(0.2)) {
        const o = r.pick(OPTIONS);
        const text = Buffer.from(mutateBytes(r, new TextEncoder().encode(r.pick(["auto", "1", "0.5", "true", "127.0.0.1:1", "a,b", ADDR_A, "off"])), [], 300)).toString("utf8");
        if (r.chance(0.5)) env[o.env] = text;
        else flags[o.flag] = r.chance(0.2) ? [text, text] : r.chance(0.1) ? true : text;
      }
      const show = () => `${Buffer.from(body).toString("latin1").slice(0, 1500)} env=${JSON.stringify(env)} flags=${JSON.stringify(flags)}`;
      // What start-up does next with a config: its network by name or file.
      const out = expectRefusal(show, () => void loadNetwork(loadConfig({ file, env, flags }).network), tally);
      const polluted = prototypeRestored(snap);
      return polluted ? { error: polluted, input: show() } : out;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- HTTP API ----

const OWNER = "o".repeat(64);
const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded", "application/json;", ""];

/**
 * The API's write routes on a real pool and chain: mutated JSON bodies (and sometimes a wrong Content-Type, no owner
 * token, or a bad path) through app.request. Any answer below 500 is the API doing its job; a 5xx is a crash.
 */
export async function apiTarget(): Promise<Target> {
  const { server, chain, store, dir } = startPool();
  const http = new HttpWorkers(server);
  let mode: { mode: "host" | "solo" | "join"; pool?: string; user?: string } = { mode: "host" };
  const app = createApp({
    token: null,
    ownerToken: OWNER,
    metrics: new MetricsRegistry(),
    log,
    health: () => ({ ok: true }),
    info: () => ({}),
    groups: [
      (a) => chainRoutes(a, { chain }),
      (a) => minerRoutes(a, () => null),
      // Mode switching itself needs a local miner (src/node/modes.ts); here the route's body checks are what is fuzzed.
      (a) => poolRoutes(a, { server, http, mode: () => mode, setMode: async (m) => void (mode = m), start: () => {}, stop: () => {} }),
    ],
  });
  const reg = await http.register(`${ADDR_A}.fuzz`, "d=0.001", "127.0.0.1");
  let job = server.currentJob();
  const share = () => ({ session: reg.session, job_id: String(job?.params[0] ?? "1"), extranonce2: "00000001", ntime: String(job?.params[7] ?? "6a000000"), nonce: "deadbeef", version_bits: "00002000" });
  const routes: { path: string; body: unknown }[] = [
    { path: "/api/tx", body: { raw: toHex(TX_BYTES[3]!) } },
    { path: "/pool/mode", body: { mode: "join", pool: "stratum+tcp://127.0.0.1:3333", user: ADDR_B } },
    { path: "/pool/mode", body: { mode: "solo" } },
    { path: "/pool/configure", body: { pool_fee_percent: 1.5, share_interval_s: 10, shares_per_second: 100, max_conns_per_ip: 256, ban_seconds: 3600 } },
    { path: "/pool/register", body: { user: `${ADDR_B}.web`, password: "d=0.5" } },
    { path: "/pool/share", body: share() },
    { path: "/api/miner/pause", body: {} },
  ];
  const texts = routes.map((x) => new TextEncoder().encode(JSON.stringify(x.body)));
  const settings = server.settings();
  const tally = new Map<string, number>();
  return {
    name: "api",
    tally,
    async run(r) {
      // The share seed follows the pool's current job (a new one every 30 s), so shares reach the share checks.
      if (server.currentJob()?.params[0] !== job?.params[0]) {
        job = server.currentJob();
        routes[5]!.body = share();
        texts[5] = new TextEncoder().encode(JSON.stringify(routes[5]!.body));
      }
      const route = r.pick(routes);
      const body = mutateJson(r, route.body, texts, MAX_INPUT);
      const headers: Record<string, string> = { "content-type": r.chance(0.9) ? "application/json" : r.pick(JSON_TYPES) };
      if (r.chance(0.9)) headers.authorization = `Bearer ${OWNER}`;
      const path = r.chance(0.97) ? route.path : `${route.path}${r.pick(["/", "/x", "?a=%zz", "/%00", "/../..", "%2e%2e"])}`;
      const show = () => `POST ${path} ${JSON.stringify(headers)} ${Buffer.from(body).toString("latin1").slice(0, 1500)}`;
      let res: Response;
      try {
        res = await app.request(path, { method: r.chance(0.97) ? "POST" : r.pick(["PUT", "DELETE", "PATCH"]), headers, body });
        await res.arrayBuffer();
      } catch (e) {
        return { error: `app.request threw: ${describeError(e)}`, input: show() };
      } finally {
        // A configure that took effect is put back, so later inputs meet the pool the seeds were made for.
        if (route.path === "/pool/configure") server.configure({ poolFeeBps: Math.round(settings.pool_fee_percent * 100), shareInterval: settings.share_interval_s, sharesPerSecond: settings.shares_per_second, maxPerIp: settings.max_conns_per_ip, banSeconds: settings.ban_seconds });
      }
      count(tally, `${route.path} ${res.status}`);
      return res.status >= 500 ? { error: `HTTP ${res.status}`, input: show() } : null;
    },
    close() {
      server.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { expectRefusal, type Outcome };

import type { Socket, TCPSocketListener } from "bun";
import { randomBytes } from "node:crypto";
import { leToDisplayHex, listenError, RignodeError, type Logger } from "../core";
import {
  blockHash, decodeBlock, decodeHeader, decodeTx, encode, encodeBlock, encodeTx, genesisBlock, signMessage,
  ValidationError, verifySignature, type Chain, type KeyPair,
} from "../chain";
import { frame, FrameDecoder, FrameWriter } from "../stratum";
import { MAX_BLOCKS_PER_MSG, MAX_HEADERS, messageValue, parseMessage, PROTOCOL_VERSION, type Message } from "./messages";
import { headersAfter, locator } from "./sync";
import { Dials, type DialView } from "./dials";
import { AddrBook, sourceGroup } from "./addrbook";
import { WantedQueue } from "./wanted";

export interface P2POptions {
  chain: Chain;
  /** Where to listen, or null for outbound only. */
  listen: { host: string; port: number } | null;
  /** HOST:PORT peers to keep connected (redialled with backoff). */
  peers: { host: string; port: number }[];
  nodeKey: KeyPair;
  log: Logger;
  /** Dial gossiped addresses as well as the configured peers (default true). */
  discover?: boolean;
  maxPeers?: number;
  maxFrameBytes?: number;
  banSeconds?: number;
  /** Messages a peer may send per second before it counts as flooding. */
  maxMessagesPerSecond?: number;
  /** Longest wait between two dials of an unreachable peer (default 10 s; the wait doubles from 1 s). */
  maxRedialMs?: number;
  /** Inbound links one IP address may hold, handshake done or not (default 8). */
  maxInboundPerIp?: number;
}

export interface PeerInfo {
  id: string | null;
  address: string;
  inbound: boolean;
  ready: boolean;
  /**
   * The best height this peer has proven: a block of ours it showed (its hello tip, an inv, a block it sent) or the
   * last of a run of headers it sent that builds on our chain and passes the header checks. Never its bare claim.
   */
  height: number | null;
  /** The height its hello claimed (for display only: nothing is decided on it). */
  claimed_height: number | null;
  listen_port: number | null;
  /** Blocks queued to ask it for, and asked and not yet received (both capped). */
  wanted: number;
  inflight: number;
}

interface PeerState {
  socket: Socket<PeerState>;
  inbound: boolean;
  address: string;
  ip: string;
  decoder: FrameDecoder;
  writer: FrameWriter;
  challenge: Uint8Array;
  hello: Extract<Message, { t: "hello" }> | null;
  /** The best height this peer has proven (see PeerInfo.height); its hello's claim is only `claimed`. */
  height: number;
  claimed: number;
  /** When we asked it for headers and have had none since (0: nothing asked). */
  headersAskedAt: number;
  /** When blocks were asked of it and none has come since (0: none in flight). */
  blocksAskedAt: number;
  /** When bytes of a message still in transit last came from it: a slow link still delivering is making progress. */
  lastBytes: number;
  authed: boolean;
  ready: boolean;
  /** Block hashes this peer has shown it has (sent or announced): no need to announce them to it. */
  knows: Set<string>;
  /** Blocks asked of this peer and not yet received. */
  inflight: Set<string>;
  /** Blocks this peer named (headers, invs) still to be asked for, in order, each once, at most MAX_WANTED. */
  wanted: WantedQueue;
  /** Addresses it may still send us (a bucket refilled at ADDR_RATE per second up to ADDR_BURST). */
  addrTokens: number;
  addrAt: number;
  /** It has asked for addresses on this link (answered once). */
  askedAddr: boolean;
  lastHeadersFull: boolean;
  window: { start: number; count: number };
  lastSeen: number;
  /** When the link opened (for the handshake timeout). */
  opened: number;
  /** The address this node dialled for this link, and the dial attempt (see Dials). */
  dialed?: string;
  attempt?: number;
}

const HANDSHAKE_TAG = "rignode-p2p-auth";
const MAX_INFLIGHT = 64;
/** Blocks queued per peer: one full headers message; beyond that, later headers name them again. */
const MAX_WANTED = MAX_HEADERS;
/** Addresses a peer may send at once, and per second after that; the rest is ignored (not banned: gossip relays). */
const ADDR_BURST = 1000;
const ADDR_RATE = 10;
/** A message still arriving pauses a peer's answer deadlines only when it is this large (a block, not a pong). */
const LARGE_FRAME = 64 * 1024;
/** Outbound links a node keeps, using gossiped addresses beyond the configured peers. */
const TARGET_OUTBOUND = 8;
/** A dial that neither connects nor fails within this is reported as failed (the kernel may take minutes). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A link that has not completed the handshake within this is closed: not a rignode P2P port, or a stuck peer. */
const HANDSHAKE_TIMEOUT_MS = 5_000;
/**
 * A peer asked for headers, or for blocks its headers or invs named, that sends nothing of them within this is
 * misbehaving: an honest peer answers from its store at once, and a claim it does not back must not linger.
 */
const PROOF_TIMEOUT_MS = 30_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/**
 * The P2P side of a node: a listener, dialled peers, the hello handshake (chain, genesis, node key signing the
 * peer's challenge), headers-first sync, block and transaction relay, address gossip, and bans for peers that
 * send malformed frames, invalid blocks, another chain, or too many messages.
 */
export class P2PNode {
  private listener: TCPSocketListener<PeerState> | null = null;
  private readonly peers = new Set<PeerState>();
  private readonly bans = new Map<string, number>();
  private readonly book = new AddrBook();
  private readonly dials: Dials;
  private readonly genesis: Uint8Array;
  private timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private pingN = 0;
  private announceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: P2POptions) {
    this.genesis = blockHash(genesisBlock(o.chain.params).header);
    this.dials = new Dials({ log: o.log, maxDelayMs: o.maxRedialMs });
    o.chain.onTip(() => this.scheduleTipAnnounce());
  }

  private get maxFrame(): number {
    return this.o.maxFrameBytes ?? 4 * 1024 * 1024;
  }

  /** Starts listening and dialling; resolves once the listener is up. Returns the port it listens on. */
  start(): number | null {
    if (this.o.listen) {
      try {
        this.listener = Bun.listen<PeerState>({
          hostname: this.o.listen.host,
          port: this.o.listen.port,
          socket: this.handlers(true),
        });
      } catch (cause) {
        throw listenError("P2P", "p2p", this.o.listen.host, this.o.listen.port, cause);
      }
      this.o.log.info("p2p.listening", { address: `${this.o.listen.host}:${this.listener.port}` });
    }
    // Configured peers are offered in getaddr answers too (their own bucket).
    for (const p of this.o.peers) this.book.add(p, "config");
    this.timers.push(setInterval(() => this.maintain(), 1000));
    this.maintain();
    return this.listener?.port ?? null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.listener?.stop(true);
    for (const p of this.peers) p.socket.end();
    this.peers.clear();
  }

  /**
   * Announces the tip at most every 50 ms: while syncing, hundreds of blocks connect per second and one inv
   * per block would look like flooding to the peers (and tell them nothing the last one does not).
   */
  private scheduleTipAnnounce(): void {
    if (this.announceTimer || this.stopped) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      const tip = this.o.chain.tip().hash;
      const key = hex(tip);
      for (const p of this.peers) if (p.ready && !p.knows.has(key)) this.send(p, { t: "inv", kind: "block", ids: [tip] });
    }, 50);
  }

  /** Connected peers for GET /api/peers. */
  peerInfo(): PeerInfo[] {
    return [...this.peers].map((p) => ({
      id: p.hello ? hex(p.hello.nodeId) : null,
      address: p.address,
      inbound: p.inbound,
      ready: p.ready,
      height: p.hello ? p.height : null,
      claimed_height: p.hello ? p.claimed : null,
      listen_port: p.hello?.listenPort ?? null,
      wanted: p.wanted.size,
      inflight: p.inflight.size,
    }));
  }

  /** The address book's size and how many sources filled it, for GET /api/peers. */
  addressBook(): { size: number; sources: number } {
    return { size: this.book.size, sources: this.book.sources };
  }

  /** The configured peers (--peer) with their state, last error and next retry, for GET /api/peers. */
  configuredPeers(): DialView[] {
    return this.o.peers.map((t) => {
      const key = `${t.host}:${t.port}`;
      return this.dials.view(key, this.linked(key, true), this.bans.get(t.host) ?? 0);
    });
  }

  /** Announces a transaction this node accepted (from its API) to every peer. */
  relayTx(id: Uint8Array): void {
    this.broadcast({ t: "inv", kind: "tx", ids: [id] });
  }

  /** Addresses banned now, with the second their ban ends. */
  banned(): { ip: string; until: number }[] {
    const now = Date.now();
    return [...this.bans].filter(([, u]) => u > now).map(([ip, until]) => ({ ip, until: Math.floor(until / 1000) }));
  }

  private handlers(inbound: boolean) {
    return {
      open: (socket: Socket<PeerState>) => {
        const ip = socket.remoteAddress;
        const until = this.bans.get(ip);
        if (until && until > Date.now()) {
          this.o.log.info("p2p.refused", { peer: ip, reason: "banned" });
          socket.end();
          return;
        }
        if (inbound && !this.admit(ip)) {
          socket.end();
          return;
        }
        const p: PeerState = {
          socket, inbound, ip, address: `${ip}:${socket.remotePort}`,
          decoder: new FrameDecoder(this.maxFrame),
          writer: new FrameWriter(socket, 4 * this.maxFrame),
          challenge: new Uint8Array(randomBytes(32)), hello: null, height: 0, claimed: 0, headersAskedAt: 0, blocksAskedAt: 0, lastBytes: 0, authed: false, ready: false,
          knows: new Set(), inflight: new Set(), wanted: new WantedQueue(MAX_WANTED), addrTokens: ADDR_BURST, addrAt: Date.now(), askedAddr: false, lastHeadersFull: false, window: { start: Date.now(), count: 0 }, lastSeen: Date.now(),
          opened: Date.now(), dialed: socket.data?.dialed, attempt: socket.data?.attempt,
        };
        socket.data = p;
        this.peers.add(p);
        const tip = this.o.chain.tip();
        this.send(p, {
          t: "hello", version: PROTOCOL_VERSION, chainId: this.o.chain.params.chainId, genesis: this.genesis, height: tip.height, tip: tip.hash,
          nodeId: this.o.nodeKey.publicKey, listenPort: this.listener?.port ?? 0, challenge: p.challenge,
        });
      },
      data: (socket: Socket<PeerState>, chunk: Buffer) => {
        const p = socket.data;
        if (!p || !this.peers.has(p)) return;
        let values;
        try {
          values = p.decoder.push(new Uint8Array(chunk));
        } catch (e) {
          return this.misbehave(p, `bad frame: ${(e as Error).message}`);
        }
        // A large message still arriving (blocks over a slow link) is progress; a small one (a pong, an inv) is not.
        // Its own deadline (see maintain) stops a frame that never finishes from pausing them for long.
        if (p.decoder.expected() >= LARGE_FRAME) p.lastBytes = Date.now();
        for (const v of values) {
          if (!this.peers.has(p)) return;
          p.lastSeen = Date.now();
          if (++p.window.count > (this.o.maxMessagesPerSecond ?? 500)) {
            if (Date.now() - p.window.start < 1000) return this.misbehave(p, "flooding");
            p.window = { start: Date.now(), count: 1 };
          }
          let m: Message;
          try {
            m = parseMessage(v);
          } catch (e) {
            return this.misbehave(p, (e as Error).message);
          }
          try {
            this.handle(p, m);
          } catch (e) {
            // Malformed or invalid data is the sender's fault (a block whose parent we lack, or one we have, is not).
            const benign = e instanceof ValidationError && ["orphan", "duplicate", "known-invalid"].includes(e.rule);
            if (e instanceof RignodeError && e.code === "input" && !benign) return this.misbehave(p, `invalid data: ${e.message}`);
            if (!(e instanceof RignodeError)) this.o.log.error("p2p.handler_error", { peer: p.address, error: e as Error });
          }
        }
      },
      drain: (socket: Socket<PeerState>) => socket.data?.writer.drain(),
      close: (socket: Socket<PeerState>) => this.dropped(socket.data, "closed by the peer before the handshake"),
      error: (socket: Socket<PeerState>, e?: Error) => this.dropped(socket.data, `socket error before the handshake: ${e?.message ?? "unknown"}`),
      // A refused or unresolvable dial: dial() reports it from the rejected promise.
      connectError: () => {},
    };
  }

  /** Ends a link: forgotten first, so that the close event it causes does not replace `failure` (see dropped). */
  private close(p: PeerState, failure: string | null): void {
    this.dropped(p, failure);
    p.socket.end();
  }

  /**
   * Forgets a link. For a dialled link that never completed the handshake, `failure` is counted as a failed dial of
   * that address (null: not a failure, e.g. a second link to a peer already connected).
   */
  private dropped(p: PeerState | undefined, failure: string | null = "closed before the handshake"): void {
    if (!p || !this.peers.delete(p)) return;
    if (p.dialed && p.attempt) {
      if (!p.ready && failure !== null) this.dials.failed(p.dialed, p.attempt, failure);
      this.dials.settled(p.dialed, p.attempt);
    }
    this.o.log.info("p2p.disconnected", { peer: p.address, id: p.hello ? hex(p.hello.nodeId).slice(0, 16) : undefined });
    if (p.inflight.size || p.wanted.size) this.rotate(p);
  }

  /**
   * Blocks a dropped peer still owed us are asked of another: the ready peer that proved the most beyond our tip
   * is asked for headers, and its answer queues whichever of them it has.
   */
  private rotate(gone: PeerState): void {
    if (this.stopped) return;
    const tip = this.o.chain.tip().height;
    let best: PeerState | null = null;
    for (const q of this.peers) if (q.ready && q !== gone && q.height > tip && (!best || q.height > best.height)) best = q;
    if (!best) return;
    this.o.log.info("p2p.rotate", { from: gone.address, to: best.address, owed: gone.inflight.size + gone.wanted.size });
    this.askHeaders(best);
  }

  private send(p: PeerState, m: Message): void {
    let bytes: Uint8Array;
    try {
      bytes = frame(messageValue(m), this.maxFrame);
    } catch (e) {
      this.o.log.warn("p2p.send_too_large", { peer: p.address, message: m.t, error: (e as Error).message });
      return;
    }
    if (!p.writer.send(bytes)) {
      this.o.log.warn("p2p.slow_peer", { peer: p.address, backlog: p.writer.backlog() });
      this.close(p, "our send backlog to it grew too large");
    }
  }

  private broadcast(m: Message, except?: PeerState): void {
    for (const p of this.peers) if (p.ready && p !== except) this.send(p, m);
  }

  /** Closes the link, bans the peer's address for a while, and says why. */
  private misbehave(p: PeerState, reason: string): void {
    const seconds = this.o.banSeconds ?? 3600;
    this.bans.set(p.ip, Date.now() + seconds * 1000);
    this.o.log.warn("p2p.banned", { peer: p.address, reason, seconds });
    this.close(p, `banned by this node for ${seconds} s: ${reason}`);
  }

  private handle(p: PeerState, m: Message): void {
    if (!p.ready && m.t !== "hello" && m.t !== "auth") return this.misbehave(p, `'${m.t}' before the handshake`);
    switch (m.t) {
      case "hello": {
        if (p.hello) return this.misbehave(p, "second hello");
        if (m.chainId !== this.o.chain.params.chainId || !Buffer.from(m.genesis).equals(this.genesis)) {
          return this.misbehave(p, `wrong chain ${m.chainId} (genesis ${leToDisplayHex(m.genesis).slice(0, 16)}…)`);
        }
        if (Buffer.from(m.nodeId).equals(this.o.nodeKey.publicKey)) {
          return this.close(p, "this is our own node (a self-connection)");
        }
        for (const q of this.peers) {
          if (q !== p && q.hello && Buffer.from(q.hello.nodeId).equals(m.nodeId)) {
            return this.close(p, null); // already linked to that node: nothing failed
          }
        }
        p.hello = m;
        // Its claimed height proves nothing (any number fits in a hello); its tip does when we hold that block.
        p.claimed = m.height;
        const known = this.o.chain.block(m.tip);
        p.height = known && known.status !== "invalid" ? known.height : 0;
        this.send(p, { t: "auth", sig: signMessage(this.o.nodeKey.seed, authBytes(this.o.chain.params.chainId, m.challenge)) });
        return this.maybeReady(p);
      }
      case "auth": {
        if (!p.hello || p.authed) return this.misbehave(p, "auth out of order");
        if (!verifySignature(p.hello.nodeId, authBytes(this.o.chain.params.chainId, p.challenge), m.sig)) return this.misbehave(p, "bad handshake signature");
        p.authed = true;
        return this.maybeReady(p);
      }
      case "ping":
        return this.send(p, { t: "pong", n: m.n });
      case "pong":
        return;
      case "getheaders":
        return this.send(p, { t: "headers", headers: headersAfter(this.o.chain, m.locator) });
      case "headers": {
        p.headersAskedAt = 0;
        const headers = m.headers.map((h) => decodeHeader(h));
        // Headers answer our locator, so they build on a block we hold, each on the one before: others are made up
        // (or another chain's) and no block is asked for them.
        const hashes = headers.map((h) => blockHash(h));
        const first = headers.length ? this.o.chain.block(headers[0]!.prevHash) : null;
        if (headers.length && (!first || first.status === "invalid")) return this.misbehave(p, "headers that do not connect to our chain");
        for (let i = 1; i < headers.length; i++) {
          if (!Buffer.from(headers[i]!.prevHash).equals(hashes[i - 1]!)) return this.misbehave(p, `headers that do not chain (at ${i})`);
        }
        const proven = this.o.chain.provenHeight(headers);
        if (proven !== null && proven > p.height) p.height = proven;
        let dropped = false;
        for (const hash of hashes) {
          const key = hex(hash);
          if (p.inflight.has(key) || p.wanted.has(key) || this.o.chain.block(hash)) continue;
          if (!p.wanted.push(hash, key)) dropped = true;
        }
        // Headers beyond the queue's cap are asked again once it drains.
        p.lastHeadersFull = m.headers.length === MAX_HEADERS || dropped;
        return this.requestBlocks(p);
      }
      case "getblocks": {
        // Split across messages so that each fits a frame (16 full blocks do not): the asker times out missing blocks.
        let blocks: Uint8Array[] = [];
        let bytes = 0;
        for (const h of m.hashes) {
          const b = this.o.chain.block(h);
          if (!b || b.status === "invalid") continue;
          const raw = encodeBlock(b.block);
          if (blocks.length && bytes + raw.length + 64 > this.maxFrame) {
            this.send(p, { t: "blocks", blocks });
            blocks = [];
            bytes = 0;
          }
          blocks.push(raw);
          bytes += raw.length + 8;
        }
        return this.send(p, { t: "blocks", blocks });
      }
      case "blocks": {
        let asked = 0;
        for (const raw of m.blocks) {
          const b = decodeBlock(raw);
          const hash = blockHash(b.header);
          if (p.inflight.delete(hex(hash))) asked++;
          this.remember(p, hash);
          try {
            p.height = Math.max(p.height, this.o.chain.acceptBlock(b, `peer ${p.address}`).height);
          } catch (e) {
            if (e instanceof ValidationError && e.rule === "orphan") {
              // A block whose parent we lack: catch up from this peer first.
              this.askHeaders(p);
              continue;
            }
            throw e;
          }
        }
        // The deadline restarts only for blocks we asked for: unasked ones (or an empty message) do not keep it off.
        if (!p.inflight.size) p.blocksAskedAt = 0;
        else if (asked) p.blocksAskedAt = Date.now();
        return this.requestBlocks(p);
      }
      case "inv": {
        if (m.kind === "block") {
          for (const id of m.ids) {
            const key = hex(id);
            // An id this peer named before costs a set lookup: a flood of repeats queues and looks up nothing.
            if (p.knows.has(key)) continue;
            this.remember(p, id, key);
            const h = this.o.chain.heightOf(id);
            if (h !== null) {
              if (h > p.height) p.height = h;
              continue;
            }
            // A full queue takes no more (the peer's headers name them again).
            if (p.inflight.has(key) || p.wanted.has(key) || this.o.chain.block(id)) continue;
            p.wanted.push(id, key);
          }
          return this.requestBlocks(p);
        }
        const missing = m.ids.filter((id) => !this.o.chain.txLocation(id) && !this.o.chain.mempoolTx(id));
        if (missing.length) this.send(p, { t: "gettx", ids: missing });
        return;
      }
      case "gettx": {
        const txs = m.ids.map((id) => this.o.chain.mempoolTx(id)).filter((t) => t !== null).map((t) => encodeTx(t));
        return this.send(p, { t: "txs", txs });
      }
      case "txs": {
        for (const raw of m.txs) {
          const t = decodeTx(raw);
          if (t.type !== "transfer") return this.misbehave(p, "a coinbase relayed as a transaction");
          try {
            const id = this.o.chain.addToMempool(t);
            this.broadcast({ t: "inv", kind: "tx", ids: [id] }, p);
          } catch (e) {
            if (e instanceof ValidationError && e.rule === "bad-signature") throw e;
            // Stale nonce, duplicate, full mempool: normal when transactions race; not the sender's fault.
          }
        }
        return;
      }
      case "getaddr":
        // Once per link (as Bitcoin Core): asking again learns nothing new and costs us a reply each time.
        if (p.askedAddr) return;
        p.askedAddr = true;
        return this.send(p, { t: "addr", addrs: this.addresses() });
      case "addr": {
        const now = Date.now();
        p.addrTokens = Math.min(ADDR_BURST, p.addrTokens + ((now - p.addrAt) / 1000) * ADDR_RATE);
        p.addrAt = now;
        const source = sourceGroup(p.ip);
        for (const a of m.addrs) {
          if (p.addrTokens < 1) {
            this.o.log.debug("p2p.addr_ignored", { peer: p.address, reason: "rate" });
            break;
          }
          p.addrTokens--;
          if (a.port > 0) this.book.add(a, source);
        }
        return;
      }
    }
  }

  private remember(p: PeerState, hash: Uint8Array, key = hex(hash)): void {
    if (p.knows.size > 4096) p.knows.clear();
    p.knows.add(key);
  }

  private maybeReady(p: PeerState): void {
    if (p.ready || !p.hello || !p.authed) return;
    p.ready = true;
    let failures = 0;
    if (p.dialed && p.attempt) {
      failures = this.dials.connected(p.dialed);
      this.dials.settled(p.dialed, p.attempt);
    }
    this.o.log.info("p2p.connected", {
      peer: p.address, dialed: p.dialed, id: hex(p.hello.nodeId).slice(0, 16), inbound: p.inbound, height: p.hello.height, after_failures: failures || undefined,
    });
    this.send(p, { t: "getaddr" });
    const tip = this.o.chain.tip();
    if (!this.o.chain.block(p.hello.tip) || p.hello.height > tip.height) this.askHeaders(p);
  }

  /** Asks for headers after our locator; the peer has PROOF_TIMEOUT_MS to send some (see maintain). */
  private askHeaders(p: PeerState): void {
    if (!p.headersAskedAt) p.headersAskedAt = Date.now();
    this.send(p, { t: "getheaders", locator: locator(this.o.chain, this.genesis) });
  }

  /** Asks for wanted blocks in order, keeping at most MAX_INFLIGHT outstanding; then more headers if there are. */
  private requestBlocks(p: PeerState): void {
    while (p.wanted.size && p.inflight.size < MAX_INFLIGHT) {
      const batch: Uint8Array[] = [];
      while (p.wanted.size && batch.length < MAX_BLOCKS_PER_MSG && p.inflight.size + batch.length < MAX_INFLIGHT) {
        const h = p.wanted.shift()!;
        if (this.o.chain.block(h) || p.inflight.has(hex(h))) continue;
        batch.push(h);
      }
      if (!batch.length) break;
      if (!p.inflight.size) p.blocksAskedAt = Date.now();
      for (const h of batch) p.inflight.add(hex(h));
      this.send(p, { t: "getblocks", hashes: batch });
    }
    if (!p.wanted.size && !p.inflight.size && p.lastHeadersFull) {
      p.lastHeadersFull = false;
      this.askHeaders(p);
    }
  }

  /** A getaddr answer: the peers linked now (a few dozen at most), then the book's cached sample, 100 in all. */
  private addresses(): { host: string; port: number }[] {
    const out = new Map<string, { host: string; port: number }>();
    for (const p of this.peers) if (p.ready && p.hello!.listenPort) out.set(`${p.ip}:${p.hello!.listenPort}`, { host: p.ip, port: p.hello!.listenPort });
    for (const a of this.book.cachedSample()) out.set(`${a.host}:${a.port}`, a);
    return [...out.values()].slice(0, 100);
  }

  /**
   * Whether an inbound link from `ip` may open: at most maxInboundPerIp per address, and while all maxPeers are
   * taken, room is made by closing the oldest inbound link that has not finished its handshake (silent links
   * cannot hold every slot, even from many addresses).
   */
  private admit(ip: string): boolean {
    let fromIp = 0;
    for (const q of this.peers) if (q.inbound && q.ip === ip) fromIp++;
    if (fromIp >= (this.o.maxInboundPerIp ?? 8)) {
      this.o.log.info("p2p.refused", { peer: ip, reason: "inbound links per IP", limit: this.o.maxInboundPerIp ?? 8 });
      return false;
    }
    if (this.peers.size < (this.o.maxPeers ?? 32)) return true;
    let oldest: PeerState | null = null;
    for (const q of this.peers) if (q.inbound && !q.ready && (!oldest || q.opened < oldest.opened)) oldest = q;
    if (!oldest) {
      this.o.log.info("p2p.refused", { peer: ip, reason: "full" });
      return false;
    }
    this.o.log.info("p2p.evicted", { peer: oldest.address, reason: "slots full; no handshake yet" });
    this.close(oldest, "evicted: slots full and no handshake yet");
    return true;
  }

  /** Once a second: redial configured peers that dropped (with backoff), ping, and drop silent peers. */
  private maintain(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const p of this.peers) {
      // Owed for 30 s with not a byte from the peer since we asked (a slow link that is still sending is fine).
      const owes = (askedAt: number) => askedAt > 0 && now - Math.max(askedAt, p.lastBytes) > PROOF_TIMEOUT_MS;
      const late = p.decoder.overdue(now);
      if (late) this.misbehave(p, late);
      else if (!p.ready && now - p.opened > HANDSHAKE_TIMEOUT_MS) {
        this.o.log.info("p2p.timeout", { peer: p.address, reason: "no handshake" });
        this.close(p, `no handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s (is it a rignode P2P port?)`);
      } else if (owes(p.headersAskedAt)) {
        const why = `no headers within ${PROOF_TIMEOUT_MS / 1000} s of asking (its hello claimed height ${p.claimed}, it has proven ${p.height})`;
        // It claimed more than we have and will not show it: the lie that holds producers back. Banned. Otherwise (a
        // stuck link) only dropped, and another peer is asked.
        if (p.claimed > this.o.chain.tip().height) this.misbehave(p, why);
        else {
          this.o.log.info("p2p.timeout", { peer: p.address, reason: "no headers", claimed: p.claimed, proven: p.height });
          this.close(p, why);
        }
      } else if (owes(p.blocksAskedAt)) {
        const why = `none of ${p.inflight.size} blocks it announced came within ${PROOF_TIMEOUT_MS / 1000} s of asking, and nothing else`;
        // Headers that promise blocks beyond our tip and then silence: the lie that holds producers back. Banned.
        // Otherwise (a stalled link) only dropped.
        if (p.height > this.o.chain.tip().height) this.misbehave(p, `${why} (it proved headers up to ${p.height})`);
        else {
          this.o.log.info("p2p.timeout", { peer: p.address, reason: "blocks not delivered" });
          this.close(p, why);
        }
      } else if (now - p.lastSeen > 120_000) {
        this.o.log.info("p2p.timeout", { peer: p.address });
        this.close(p, "silent for 120 s");
      } else if (p.ready && now - p.lastSeen > 30_000) this.send(p, { t: "ping", n: ++this.pingN });
    }
    // Configured peers always; addresses learnt by gossip while there are fewer than TARGET_OUTBOUND links.
    const outbound = [...this.peers].filter((p) => !p.inbound).length;
    const gossip = this.book.all().filter((a) => !this.o.peers.some((p) => p.host === a.host && p.port === a.port));
    const extra = this.o.discover !== false && outbound < TARGET_OUTBOUND ? gossip.slice(0, TARGET_OUTBOUND - outbound) : [];
    const targets = [...this.o.peers.map((t) => ({ ...t, configured: true })), ...extra.map((t) => ({ ...t, configured: false }))];
    for (const target of targets) {
      const key = `${target.host}:${target.port}`;
      if (this.linked(key, false) || this.isSelf(target) || !this.dials.due(key)) continue;
      const until = this.bans.get(target.host);
      if (until && until > now) continue;
      this.dial(key, target, target.configured);
    }
  }

  /** A link to `key` exists (dialled by us, or the peer's own listen address); with `ready`, only handshaken ones. */
  private linked(key: string, ready: boolean): boolean {
    for (const p of this.peers) {
      if (ready && !p.ready) continue;
      if (p.dialed === key || (p.hello && `${p.ip}:${p.hello.listenPort}` === key)) return true;
    }
    return false;
  }

  private isSelf(a: { host: string; port: number }): boolean {
    return !!this.listener && a.port === this.listener.port && (a.host === this.o.listen?.host || a.host === "127.0.0.1" || a.host === "0.0.0.0");
  }

  /** Dials `target`; a failure (refused, unresolvable, no answer) is reported to the schedule, which logs it. */
  private dial(key: string, target: { host: string; port: number }, configured: boolean): void {
    const attempt = this.dials.started(key, configured);
    const timer = setTimeout(() => this.stopped || this.dials.failed(key, attempt, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    Bun.connect<PeerState>({ hostname: target.host, port: target.port, data: { dialed: key, attempt } as PeerState, socket: this.handlers(false) })
      .then(
        () => {},
        (e: Error & { code?: string }) => {
          if (this.stopped) return;
          this.dials.failed(key, attempt, e.code && !e.message.includes(e.code) ? `${e.message}: ${e.code}` : e.message);
          this.dials.settled(key, attempt);
        },
      )
      .finally(() => clearTimeout(timer));
  }
}

function authBytes(chainId: string, challenge: Uint8Array): Uint8Array {
  return encode([HANDSHAKE_TAG, chainId, challenge]);
}


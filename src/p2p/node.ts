import type { Socket, TCPSocketListener } from "bun";
import { listenError, RignodeError, type Logger } from "../core";
import { blockHash, genesisBlock, ValidationError, type Chain, type KeyPair } from "../chain";
import { parseMessage, type Message } from "./messages";
import { Dials, type DialView } from "./dials";
import { P2PBans } from "./bans";
import { hex, Links, type PeerState } from "./peer";
import { Handshake } from "./handshake";
import { Sync } from "./sync";
import { Relay } from "./relay";
import { Gossip } from "./gossip";

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

/** A message still arriving pauses a peer's answer deadlines only when it is this large (a block, not a pong). */
const LARGE_FRAME = 64 * 1024;
/** Outbound links a node keeps, using gossiped addresses beyond the configured peers. */
const TARGET_OUTBOUND = 8;
/** A dial that neither connects nor fails within this is reported as failed (the kernel may take minutes). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The P2P side of a node: a listener, dialled peers, the hello handshake (chain, genesis, node key signing the
 * peer's challenge), headers-first sync, block and transaction relay, address gossip, and bans for peers that
 * send malformed frames, invalid blocks, another chain, or too many messages. This file wires the roles (peer.ts,
 * handshake.ts, sync.ts, relay.ts, gossip.ts, bans.ts) to the sockets and runs the once-a-second upkeep.
 */
export class P2PNode {
  private listener: TCPSocketListener<PeerState> | null = null;
  private readonly bans: P2PBans;
  private readonly dials: Dials;
  private readonly links: Links;
  private readonly handshake: Handshake;
  private readonly sync: Sync;
  private readonly relay: Relay;
  private readonly gossip: Gossip;
  private timers: ReturnType<typeof setInterval>[] = [];
  private pingN = 0;

  constructor(private readonly o: P2POptions) {
    this.bans = new P2PBans({ banSeconds: o.banSeconds, maxMessagesPerSecond: o.maxMessagesPerSecond, maxInboundPerIp: o.maxInboundPerIp });
    this.dials = new Dials({ log: o.log, maxDelayMs: o.maxRedialMs });
    this.links = new Links({
      chain: o.chain, log: o.log, bans: this.bans, dials: this.dials,
      genesis: blockHash(genesisBlock(o.chain.params).header), maxFrame: o.maxFrameBytes ?? 4 * 1024 * 1024,
    });
    this.sync = new Sync(this.links);
    this.handshake = new Handshake(this.links, this.sync, o.nodeKey, () => this.listener?.port ?? 0);
    this.relay = new Relay(this.links, this.sync);
    this.gossip = new Gossip(this.links);
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
    for (const p of this.o.peers) this.gossip.book.add(p, "config");
    this.timers.push(setInterval(() => this.maintain(), 1000));
    this.maintain();
    return this.listener?.port ?? null;
  }

  async stop(): Promise<void> {
    this.links.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.relay.stop();
    this.listener?.stop(true);
    for (const p of this.links.peers) p.socket.end();
    this.links.peers.clear();
  }

  /** Connected peers for GET /api/peers. */
  peerInfo(): PeerInfo[] {
    return [...this.links.peers].map((p) => ({
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
    return { size: this.gossip.book.size, sources: this.gossip.book.sources };
  }

  /** The configured peers (--peer) with their state, last error and next retry, for GET /api/peers. */
  configuredPeers(): DialView[] {
    return this.o.peers.map((t) => {
      const key = `${t.host}:${t.port}`;
      return this.dials.view(key, this.links.linked(key, true), this.bans.bannedUntil(t.host));
    });
  }

  /** Announces a transaction this node accepted (from its API) to every peer. */
  relayTx(id: Uint8Array): void {
    this.relay.relayTx(id);
  }

  /** Addresses banned now, with the second their ban ends. */
  banned(): { ip: string; until: number }[] {
    return this.bans.list();
  }

  private handlers(inbound: boolean) {
    const links = this.links;
    return {
      open: (socket: Socket<PeerState>) => {
        const ip = socket.remoteAddress;
        const refused = inbound ? this.bans.admit(ip) : this.bans.banned(ip) ? { reason: "banned" } : null;
        if (refused) {
          this.o.log.info("p2p.refused", { peer: ip, ...refused });
          socket.end();
          return;
        }
        if (inbound && !this.makeRoom(ip)) {
          this.bans.release(ip);
          socket.end();
          return;
        }
        this.handshake.greet(links.open(socket, inbound, ip));
      },
      data: (socket: Socket<PeerState>, chunk: Buffer) => {
        const p = socket.data;
        if (!p || !links.peers.has(p)) return;
        let values;
        try {
          values = p.decoder.push(new Uint8Array(chunk));
        } catch (e) {
          return links.misbehave(p, `bad frame: ${(e as Error).message}`);
        }
        // A large message still arriving (blocks over a slow link) is progress; a small one (a pong, an inv) is not.
        // Its own deadline (see maintain) stops a frame that never finishes from pausing them for long.
        if (p.decoder.expected() >= LARGE_FRAME) p.lastBytes = Date.now();
        for (const v of values) {
          if (!links.peers.has(p)) return;
          p.lastSeen = Date.now();
          if (!this.bans.countMessage(p.window)) return links.misbehave(p, "flooding");
          let m: Message;
          try {
            m = parseMessage(v);
          } catch (e) {
            return links.misbehave(p, (e as Error).message);
          }
          try {
            this.handle(p, m);
          } catch (e) {
            // Malformed or invalid data is the sender's fault (a block whose parent we lack, or one we have, is not).
            const benign = e instanceof ValidationError && ["orphan", "duplicate", "known-invalid"].includes(e.rule);
            if (e instanceof RignodeError && e.code === "input" && !benign) return links.misbehave(p, `invalid data: ${e.message}`);
            if (!(e instanceof RignodeError)) this.o.log.error("p2p.handler_error", { peer: p.address, error: e as Error });
          }
        }
      },
      drain: (socket: Socket<PeerState>) => socket.data?.writer.drain(),
      close: (socket: Socket<PeerState>) => links.dropped(socket.data, "closed by the peer before the handshake"),
      error: (socket: Socket<PeerState>, e?: Error) => links.dropped(socket.data, `socket error before the handshake: ${e?.message ?? "unknown"}`),
      // A refused or unresolvable dial: dial() reports it from the rejected promise.
      connectError: () => {},
    };
  }

  /** One message from a peer, to the role that handles it; nothing but the handshake before the link is ready. */
  private handle(p: PeerState, m: Message): void {
    if (!p.ready && m.t !== "hello" && m.t !== "auth") return this.links.misbehave(p, `'${m.t}' before the handshake`);
    switch (m.t) {
      case "hello": return this.handshake.onHello(p, m);
      case "auth": return this.handshake.onAuth(p, m);
      case "ping": return this.links.send(p, { t: "pong", n: m.n });
      case "pong": return;
      case "getheaders": return this.sync.onGetHeaders(p, m);
      case "headers": return this.sync.onHeaders(p, m);
      case "getblocks": return this.relay.onGetBlocks(p, m);
      case "blocks": return this.relay.onBlocks(p, m);
      case "inv": return this.relay.onInv(p, m);
      case "gettx": return this.relay.onGetTx(p, m);
      case "txs": return this.relay.onTxs(p, m);
      case "getaddr": return this.gossip.onGetAddr(p);
      case "addr": return this.gossip.onAddr(p, m);
    }
  }

  /**
   * Whether an inbound link may open while all maxPeers are taken: room is made by closing the oldest inbound link
   * that has not finished its handshake (silent links cannot hold every slot, even from many addresses). The per-IP
   * cap is the bans' admit.
   */
  private makeRoom(ip: string): boolean {
    if (this.links.peers.size < (this.o.maxPeers ?? 32)) return true;
    let oldest: PeerState | null = null;
    for (const q of this.links.peers) if (q.inbound && !q.ready && (!oldest || q.opened < oldest.opened)) oldest = q;
    if (!oldest) {
      this.o.log.info("p2p.refused", { peer: ip, reason: "full" });
      return false;
    }
    this.o.log.info("p2p.evicted", { peer: oldest.address, reason: "slots full; no handshake yet" });
    this.links.close(oldest, "evicted: slots full and no handshake yet");
    return true;
  }

  /** Once a second: redial configured peers that dropped (with backoff), ping, and drop silent peers. */
  private maintain(): void {
    if (this.links.stopped) return;
    this.bans.sweep();
    const now = Date.now();
    for (const p of this.links.peers) {
      const late = p.decoder.overdue(now);
      if (late) this.links.misbehave(p, late);
      else if (this.handshake.overdue(p, now) || this.sync.overdue(p, now)) continue;
      else if (now - p.lastSeen > 120_000) {
        this.o.log.info("p2p.timeout", { peer: p.address });
        this.links.close(p, "silent for 120 s");
      } else if (p.ready && now - p.lastSeen > 30_000) this.links.send(p, { t: "ping", n: ++this.pingN });
    }
    // Configured peers always; addresses learnt by gossip while there are fewer than TARGET_OUTBOUND links.
    const outbound = [...this.links.peers].filter((p) => !p.inbound).length;
    const gossip = this.gossip.book.all().filter((a) => !this.o.peers.some((p) => p.host === a.host && p.port === a.port));
    const extra = this.o.discover !== false && outbound < TARGET_OUTBOUND ? gossip.slice(0, TARGET_OUTBOUND - outbound) : [];
    const targets = [...this.o.peers.map((t) => ({ ...t, configured: true })), ...extra.map((t) => ({ ...t, configured: false }))];
    for (const target of targets) {
      const key = `${target.host}:${target.port}`;
      if (this.links.linked(key, false) || this.isSelf(target) || !this.dials.due(key)) continue;
      if (this.bans.banned(target.host)) continue;
      this.dial(key, target, target.configured);
    }
  }

  private isSelf(a: { host: string; port: number }): boolean {
    return !!this.listener && a.port === this.listener.port && (a.host === this.o.listen?.host || a.host === "127.0.0.1" || a.host === "0.0.0.0");
  }

  /** Dials `target`; a failure (refused, unresolvable, no answer) is reported to the schedule, which logs it. */
  private dial(key: string, target: { host: string; port: number }, configured: boolean): void {
    const attempt = this.dials.started(key, configured);
    const timer = setTimeout(() => this.links.stopped || this.dials.failed(key, attempt, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    Bun.connect<PeerState>({ hostname: target.host, port: target.port, data: { dialed: key, attempt } as PeerState, socket: this.handlers(false) })
      .then(
        () => {},
        (e: Error & { code?: string }) => {
          if (this.links.stopped) return;
          this.dials.failed(key, attempt, e.code && !e.message.includes(e.code) ? `${e.message}: ${e.code}` : e.message);
          this.dials.settled(key, attempt);
        },
      )
      .finally(() => clearTimeout(timer));
  }
}

import type { Socket } from "bun";
import { randomBytes } from "node:crypto";
import type { Chain } from "../chain";
import type { Logger } from "../core";
import { frame, FrameDecoder, FrameWriter } from "../stratum";
import { MAX_HEADERS, messageValue, type Message } from "./messages";
import type { P2PBans, MessageWindow } from "./bans";
import type { Dials } from "./dials";
import { WantedQueue } from "./wanted";

/** One link's state, from open to close. */
export interface PeerState {
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
  window: MessageWindow;
  lastSeen: number;
  /** When the link opened (for the handshake timeout). */
  opened: number;
  /** The address this node dialled for this link, and the dial attempt (see Dials). */
  dialed?: string;
  attempt?: number;
}

/** Blocks queued per peer: one full headers message; beyond that, later headers name them again. */
export const MAX_WANTED = MAX_HEADERS;
/** Addresses a peer may send at once, and per second after that; the rest is ignored (not banned: gossip relays). */
export const ADDR_BURST = 1000;
export const ADDR_RATE = 10;
export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export interface LinksOptions {
  chain: Chain;
  log: Logger;
  bans: P2PBans;
  dials: Dials;
  genesis: Uint8Array;
  maxFrame: number;
}

/**
 * The set of links and what every role does to one: open, send, broadcast, close, and ban for misbehaviour. Other
 * roles (handshake, sync, relay) work through this; `onGone` lets sync take over what a dropped peer still owed.
 */
export class Links {
  readonly peers = new Set<PeerState>();
  readonly chain: Chain;
  readonly log: Logger;
  readonly bans: P2PBans;
  readonly dials: Dials;
  readonly genesis: Uint8Array;
  readonly maxFrame: number;
  stopped = false;
  onGone: (p: PeerState) => void = () => {};

  constructor(o: LinksOptions) {
    this.chain = o.chain;
    this.log = o.log;
    this.bans = o.bans;
    this.dials = o.dials;
    this.genesis = o.genesis;
    this.maxFrame = o.maxFrame;
  }

  /** A new link's state, added to the set. */
  open(socket: Socket<PeerState>, inbound: boolean, ip: string): PeerState {
    const p: PeerState = {
      socket, inbound, ip, address: `${ip}:${socket.remotePort}`,
      decoder: new FrameDecoder(this.maxFrame),
      writer: new FrameWriter(socket, 4 * this.maxFrame),
      challenge: new Uint8Array(randomBytes(32)), hello: null, height: 0, claimed: 0, headersAskedAt: 0, blocksAskedAt: 0, lastBytes: 0, authed: false, ready: false,
      knows: new Set(), inflight: new Set(), wanted: new WantedQueue(MAX_WANTED), addrTokens: ADDR_BURST, addrAt: Date.now(), askedAddr: false, lastHeadersFull: false, window: this.bans.window(), lastSeen: Date.now(),
      opened: Date.now(), dialed: socket.data?.dialed, attempt: socket.data?.attempt,
    };
    socket.data = p;
    this.peers.add(p);
    return p;
  }

  /** Ends a link: forgotten first, so that the close event it causes does not replace `failure` (see dropped). */
  close(p: PeerState, failure: string | null): void {
    this.dropped(p, failure);
    p.socket.end();
  }

  /**
   * Forgets a link. For a dialled link that never completed the handshake, `failure` is counted as a failed dial of
   * that address (null: not a failure, e.g. a second link to a peer already connected).
   */
  dropped(p: PeerState | undefined, failure: string | null = "closed before the handshake"): void {
    if (!p || !this.peers.delete(p)) return;
    if (p.inbound) this.bans.release(p.ip);
    if (p.dialed && p.attempt) {
      if (!p.ready && failure !== null) this.dials.failed(p.dialed, p.attempt, failure);
      this.dials.settled(p.dialed, p.attempt);
    }
    this.log.info("p2p.disconnected", { peer: p.address, id: p.hello ? hex(p.hello.nodeId).slice(0, 16) : undefined });
    if (p.inflight.size || p.wanted.size) this.onGone(p);
  }

  send(p: PeerState, m: Message): void {
    let bytes: Uint8Array;
    try {
      bytes = frame(messageValue(m), this.maxFrame);
    } catch (e) {
      this.log.warn("p2p.send_too_large", { peer: p.address, message: m.t, error: (e as Error).message });
      return;
    }
    if (!p.writer.send(bytes)) {
      this.log.warn("p2p.slow_peer", { peer: p.address, backlog: p.writer.backlog() });
      this.close(p, "our send backlog to it grew too large");
    }
  }

  broadcast(m: Message, except?: PeerState): void {
    for (const p of this.peers) if (p.ready && p !== except) this.send(p, m);
  }

  /** Closes the link, bans the peer's address for a while, and says why. */
  misbehave(p: PeerState, reason: string): void {
    const seconds = this.bans.ban(p.ip, reason);
    this.log.warn("p2p.banned", { peer: p.address, reason, seconds });
    this.close(p, `banned by this node for ${seconds} s: ${reason}`);
  }

  /** Notes that the peer has this block (no need to announce it to it). */
  remember(p: PeerState, hash: Uint8Array, key = hex(hash)): void {
    if (p.knows.size > 4096) p.knows.clear();
    p.knows.add(key);
  }

  /** A link to `key` exists (dialled by us, or the peer's own listen address); with `ready`, only handshaken ones. */
  linked(key: string, ready: boolean): boolean {
    for (const p of this.peers) {
      if (ready && !p.ready) continue;
      if (p.dialed === key || (p.hello && `${p.ip}:${p.hello.listenPort}` === key)) return true;
    }
    return false;
  }
}

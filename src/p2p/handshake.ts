import { leToDisplayHex } from "../core";
import { encode, signMessage, verifySignature, type KeyPair } from "../chain";
import { PROTOCOL_VERSION, type Message } from "./messages";
import { hex, type Links, type PeerState } from "./peer";
import type { Sync } from "./sync";

const HANDSHAKE_TAG = "rignode-p2p-auth";
/** A link that has not completed the handshake within this is closed: not a rignode P2P port, or a stuck peer. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * The hello handshake: same chain and genesis, not ourselves, not a second link to a node already linked, and the
 * peer's node key signing our challenge. A link is ready once both hello and auth are in.
 */
export class Handshake {
  constructor(
    private readonly l: Links,
    private readonly sync: Sync,
    private readonly nodeKey: KeyPair,
    /** The port we listen on (0: outbound only), told in our hello. */
    private readonly listenPort: () => number,
  ) {}

  /** Our hello, sent as a link opens. */
  greet(p: PeerState): void {
    const tip = this.l.chain.tip();
    this.l.send(p, {
      t: "hello", version: PROTOCOL_VERSION, chainId: this.l.chain.params.chainId, genesis: this.l.genesis, height: tip.height, tip: tip.hash,
      nodeId: this.nodeKey.publicKey, listenPort: this.listenPort(), challenge: p.challenge,
    });
  }

  onHello(p: PeerState, m: Extract<Message, { t: "hello" }>): void {
    const chain = this.l.chain;
    if (p.hello) return this.l.misbehave(p, "second hello");
    if (m.chainId !== chain.params.chainId || !Buffer.from(m.genesis).equals(this.l.genesis)) {
      return this.l.misbehave(p, `wrong chain ${m.chainId} (genesis ${leToDisplayHex(m.genesis).slice(0, 16)}…)`);
    }
    if (Buffer.from(m.nodeId).equals(this.nodeKey.publicKey)) {
      return this.l.close(p, "this is our own node (a self-connection)");
    }
    for (const q of this.l.peers) {
      if (q !== p && q.hello && Buffer.from(q.hello.nodeId).equals(m.nodeId)) {
        return this.l.close(p, null); // already linked to that node: nothing failed
      }
    }
    p.hello = m;
    // Its claimed height proves nothing (any number fits in a hello); its tip does when we hold that block.
    p.claimed = m.height;
    const known = chain.block(m.tip);
    p.height = known && known.status !== "invalid" ? known.height : 0;
    this.l.send(p, { t: "auth", sig: signMessage(this.nodeKey.seed, authBytes(chain.params.chainId, m.challenge)) });
    return this.maybeReady(p);
  }

  onAuth(p: PeerState, m: Extract<Message, { t: "auth" }>): void {
    if (!p.hello || p.authed) return this.l.misbehave(p, "auth out of order");
    if (!verifySignature(p.hello.nodeId, authBytes(this.l.chain.params.chainId, p.challenge), m.sig)) return this.l.misbehave(p, "bad handshake signature");
    p.authed = true;
    return this.maybeReady(p);
  }

  /** Closes a link whose handshake is past its deadline; true when it did. */
  overdue(p: PeerState, now: number): boolean {
    if (p.ready || now - p.opened <= HANDSHAKE_TIMEOUT_MS) return false;
    this.l.log.info("p2p.timeout", { peer: p.address, reason: "no handshake" });
    this.l.close(p, `no handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s (is it a rignode P2P port?)`);
    return true;
  }

  private maybeReady(p: PeerState): void {
    if (p.ready || !p.hello || !p.authed) return;
    p.ready = true;
    let failures = 0;
    if (p.dialed && p.attempt) {
      failures = this.l.dials.connected(p.dialed);
      this.l.dials.settled(p.dialed, p.attempt);
    }
    this.l.log.info("p2p.connected", {
      peer: p.address, dialed: p.dialed, id: hex(p.hello.nodeId).slice(0, 16), inbound: p.inbound, height: p.hello.height, after_failures: failures || undefined,
    });
    this.l.send(p, { t: "getaddr" });
    const tip = this.l.chain.tip();
    if (!this.l.chain.block(p.hello.tip) || p.hello.height > tip.height) this.sync.askHeaders(p);
  }
}

function authBytes(chainId: string, challenge: Uint8Array): Uint8Array {
  return encode([HANDSHAKE_TAG, chainId, challenge]);
}

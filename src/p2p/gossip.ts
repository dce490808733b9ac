import type { Message } from "./messages";
import { AddrBook, sourceGroup } from "./addrbook";
import { ADDR_BURST, ADDR_RATE, type Links, type PeerState } from "./peer";

/** Address gossip: getaddr answered once per link, addr messages rate-limited per peer into the address book. */
export class Gossip {
  readonly book = new AddrBook();

  constructor(private readonly l: Links) {}

  onGetAddr(p: PeerState): void {
    // Once per link (as Bitcoin Core): asking again learns nothing new and costs us a reply each time.
    if (p.askedAddr) return;
    p.askedAddr = true;
    return this.l.send(p, { t: "addr", addrs: this.addresses() });
  }

  onAddr(p: PeerState, m: Extract<Message, { t: "addr" }>): void {
    const now = Date.now();
    p.addrTokens = Math.min(ADDR_BURST, p.addrTokens + ((now - p.addrAt) / 1000) * ADDR_RATE);
    p.addrAt = now;
    const source = sourceGroup(p.ip);
    for (const a of m.addrs) {
      if (p.addrTokens < 1) {
        this.l.log.debug("p2p.addr_ignored", { peer: p.address, reason: "rate" });
        break;
      }
      p.addrTokens--;
      if (a.port > 0) this.book.add(a, source);
    }
  }

  /** A getaddr answer: the peers linked now (a few dozen at most), then the book's cached sample, 100 in all. */
  private addresses(): { host: string; port: number }[] {
    const out = new Map<string, { host: string; port: number }>();
    for (const p of this.l.peers) if (p.ready && p.hello!.listenPort) out.set(`${p.ip}:${p.hello!.listenPort}`, { host: p.ip, port: p.hello!.listenPort });
    for (const a of this.book.cachedSample()) out.set(`${a.host}:${a.port}`, a);
    return [...out.values()].slice(0, 100);
  }
}

// Addresses learnt by gossip, bounded the way Bitcoin Core's addrman is: a total cap, and a bucket per source (the
// network of the peer that told us) so that one peer, or one /16 of peers, can fill only a small part of the book.

export interface Addr {
  host: string;
  port: number;
}

export interface AddrBookOptions {
  /** Most addresses held (default 1024). */
  maxTotal?: number;
  /** Most addresses one source may have in the book (default 64). */
  maxPerSource?: number;
  /** Most addresses in a getaddr answer (the `addr` message's limit, 100). */
  sampleSize?: number;
  /** How long a getaddr sample is reused before a new one is drawn (default 2 min). */
  sampleMs?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * The bucket a peer's addresses go in: the /16 of an IPv4 address (one operator rarely holds many), the /32 of an
 * IPv6 one, and each loopback address on its own (local test networks run many nodes on 127.0.0.1).
 */
export function sourceGroup(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.\d+\.\d+$/.exec(ip);
  if (v4) return v4[1] === "127" ? ip.replace(/^::ffff:/, "") : `${v4[1]}.${v4[2]}.0.0/16`;
  if (ip === "::1") return ip;
  const groups = ip.toLowerCase().split(":");
  return `${groups[0] ?? ""}:${groups[1] ?? ""}::/32`;
}

export class AddrBook {
  private readonly entries = new Map<string, Addr & { source: string }>();
  private readonly bySource = new Map<string, Set<string>>();
  private sample: { at: number; addrs: Addr[] } | null = null;
  private readonly maxTotal: number;
  private readonly maxPerSource: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly o: AddrBookOptions = {}) {
    this.maxTotal = o.maxTotal ?? 1024;
    this.maxPerSource = o.maxPerSource ?? 64;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Sources with addresses in the book. */
  get sources(): number {
    return this.bySource.size;
  }

  /**
   * Adds an address told by `source` (a sourceGroup). A full bucket makes room by forgetting one of its own at random;
   * a full book by forgetting one of the largest bucket's, unless the source's is already that large (then the
   * address is not taken). Returns whether it is in the book now.
   */
  add(a: Addr, source: string): boolean {
    const key = `${a.host}:${a.port}`;
    if (this.entries.has(key)) return true;
    let mine = this.bySource.get(source);
    if (mine && mine.size >= this.maxPerSource) this.remove(this.pick(mine));
    else if (this.entries.size >= this.maxTotal) {
      let largest: Set<string> | null = null;
      for (const s of this.bySource.values()) if (!largest || s.size > largest.size) largest = s;
      if (!largest || largest === mine || largest.size <= (mine?.size ?? 0)) return false;
      this.remove(this.pick(largest));
    }
    mine = this.bySource.get(source);
    if (!mine) this.bySource.set(source, (mine = new Set()));
    mine.add(key);
    this.entries.set(key, { host: a.host, port: a.port, source });
    return true;
  }

  has(a: Addr): boolean {
    return this.entries.has(`${a.host}:${a.port}`);
  }

  /** Every address (at most maxTotal). */
  all(): Addr[] {
    return [...this.entries.values()].map(({ host, port }) => ({ host, port }));
  }

  /**
   * A random sample of at most sampleSize addresses for a getaddr answer, drawn again at most every sampleMs: a
   * peer asking often learns nothing new and costs one copy of a short list.
   */
  cachedSample(): Addr[] {
    const now = this.now();
    if (this.sample && now - this.sample.at < (this.o.sampleMs ?? 120_000)) return this.sample.addrs;
    const all = this.all();
    const n = Math.min(all.length, this.o.sampleSize ?? 100);
    // A partial Fisher-Yates shuffle: the first n are a uniform sample.
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random() * (all.length - i));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    this.sample = { at: now, addrs: all.slice(0, n) };
    return this.sample.addrs;
  }

  private pick(keys: Set<string>): string {
    let i = Math.floor(this.random() * keys.size);
    for (const k of keys) if (i-- === 0) return k;
    return keys.values().next().value!;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const s = this.bySource.get(e.source);
    s?.delete(key);
    if (s && !s.size) this.bySource.delete(e.source);
  }
}

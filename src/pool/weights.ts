import type { StoredShare } from "./ledger-backend";

/** Shares with id < before, newest first (read lazily: the caller stops once the window is full). */
export type OlderShares = (before: number) => Iterable<StoredShare>;

/** One committed share as the running sums see it. */
export interface ShareEntry {
  id: number;
  /** Payout address, public-key hex. */
  key: string;
  weight: bigint;
}

/**
 * PPLNS running sums: the newest shares whose weights reach the window (the oldest one only for the part inside),
 * summed per address. Shares enter as they are committed and leave as newer ones push them out, so a plan costs
 * O(payees) instead of a scan of the shares table; the table is read once at start, and again only for older
 * shares when the window grows (the network difficulty rose).
 */
export class WindowSums {
  private ids: number[] = [];
  private keys: string[] = [];
  private ws: bigint[] = [];
  private head = 0;
  private total = 0n;
  /** Per address: its weight in the window, its shares there, and the one copy of its key every share points to. */
  private readonly sums = new Map<string, { w: bigint; n: number; key: string }>();
  /** False once the oldest share held is the oldest in the table (nothing older to read back). */
  private older = true;

  constructor(private readonly read: OlderShares, private window: bigint, upTo: number) {
    this.extend(upTo + 1);
  }

  add(s: ShareEntry): void {
    this.ids.push(s.id);
    this.keys.push(this.enter(s.key, s.weight));
    this.ws.push(s.weight);
    this.trim();
  }

  /** The weights for `window` (difficulty units x 2^32). */
  weights(window: bigint): Map<string, bigint> {
    if (window < this.window) {
      this.window = window;
      this.trim();
    } else if (window > this.window) {
      this.window = window;
      if (this.total < window && this.older) this.extend(this.head < this.ids.length ? this.ids[this.head]! : Number.MAX_SAFE_INTEGER);
    }
    const out = new Map<string, bigint>();
    for (const [k, v] of this.sums) out.set(k, v.w);
    // The share that crosses the edge counts only for the part inside.
    const excess = this.total - this.window;
    if (excess > 0n && this.head < this.ids.length) {
      const k = this.keys[this.head]!;
      out.set(k, out.get(k)! - excess);
    }
    return out;
  }

  /** Drops the oldest shares while the newer ones still reach the window. */
  private trim(): void {
    while (this.head < this.ids.length && this.total - this.ws[this.head]! >= this.window) {
      this.leave(this.keys[this.head]!, this.ws[this.head]!);
      this.head++;
      this.older = true;
    }
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.keys = this.keys.slice(this.head);
      this.ws = this.ws.slice(this.head);
      this.head = 0;
    }
  }

  /** Reads shares older than `before`, newest first, until the window is reached or the table has none left. */
  private extend(before: number): void {
    const got: ShareEntry[] = [];
    // A window may hold millions of shares: one bigint per distinct weight text, one key string per address.
    const weights = new Map<string, bigint>();
    const rows = this.read(before);
    this.older = false;
    for (const r of rows) {
      if (this.total >= this.window) {
        this.older = true;
        break;
      }
      let weight = weights.get(r.weight);
      if (weight === undefined) {
        if (weights.size > 4096) weights.clear();
        weights.set(r.weight, (weight = BigInt(r.weight)));
      }
      got.push({ id: r.id, key: this.enter(r.address, weight), weight });
    }
    got.reverse();
    this.ids = [...got.map((s) => s.id), ...this.ids.slice(this.head)];
    this.keys = [...got.map((s) => s.key), ...this.keys.slice(this.head)];
    this.ws = [...got.map((s) => s.weight), ...this.ws.slice(this.head)];
    this.head = 0;
  }

  /** Counts a share in; returns the address's one key string. */
  private enter(k: string, w: bigint): string {
    this.total += w;
    const e = this.sums.get(k);
    if (!e) {
      this.sums.set(k, { w, n: 1, key: k });
      return k;
    }
    e.w += w;
    e.n++;
    return e.key;
  }

  private leave(k: string, w: bigint): void {
    const e = this.sums.get(k)!;
    e.w -= w;
    if (--e.n === 0) this.sums.delete(k);
    this.total -= w;
  }
}

/** PROP running sums: every share after `from` (the last share the newest main-chain pool block counted). */
export class RoundSums {
  readonly sums = new Map<string, bigint>();

  /** Reads the round once from the table (at start, and when a found block or a reorganisation moves its start). */
  constructor(readonly from: number, rows: Iterable<StoredShare>) {
    for (const r of rows) this.add(r.address, BigInt(r.weight));
  }

  add(k: string, w: bigint): void {
    this.sums.set(k, (this.sums.get(k) ?? 0n) + w);
  }
}

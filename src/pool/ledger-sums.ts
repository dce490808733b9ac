// The plan weights of a shared ledger (PostgreSQL), kept between jobs: each read adds only the shares committed since
// the last one (every instance's), so a job costs O(new shares) instead of a scan of the window. Share ids are taken
// in commit order (ledger-postgres.ts), so "after the last id read" never misses a late commit.
import type { LedgerBackend, StoredShare } from "./ledger-backend";
import { RoundSums, WindowSums } from "./weights";

/** Shares read a page at a time. */
const PAGE = 10_000;
/** PPLNS windows kept at once (the window follows the network difficulty: a few in turn). */
const WINDOWS = 4;

export class SharedSums {
  private readonly windows = new Map<bigint, { sums: WindowSums; last: number }>();
  private round: { sums: RoundSums; last: number } | null = null;

  constructor(private readonly b: LedgerBackend) {}

  /** PPLNS weights over `window` up to share `upTo`. */
  async pplns(window: bigint, upTo: number): Promise<Map<string, bigint>> {
    let w = this.windows.get(window);
    if (w && upTo >= w.last) {
      for (const r of await this.after(w.last, upTo)) w.sums.add({ id: r.id, key: r.address, weight: BigInt(r.weight) });
      w.last = upTo;
    } else {
      const rows = await this.newest(window, upTo);
      // Read once here; the sums never need older rows for this window (a larger window is another entry).
      w = { sums: new WindowSums((before) => rows.filter((r) => r.id < before), window, upTo), last: upTo };
      this.windows.delete(window);
      this.windows.set(window, w);
      if (this.windows.size > WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    }
    return w.sums.weights(window);
  }

  /** PROP weights: every share after the round's start (the newest main-chain pool block's last share), up to `upTo`. */
  async prop(upTo: number): Promise<Map<string, bigint>> {
    const from = await this.b.roundStart();
    const r = this.round;
    if (r && r.sums.from === from && upTo >= r.last) {
      for (const s of await this.after(r.last, upTo)) r.sums.add(s.address, BigInt(s.weight));
      r.last = upTo;
    } else {
      this.round = { sums: new RoundSums(from, await this.after(from, upTo)), last: upTo };
    }
    return new Map(this.round!.sums.sums);
  }

  private async after(from: number, upTo: number): Promise<StoredShare[]> {
    return from >= upTo ? [] : await this.b.sharesBetween(from, upTo);
  }

  /** The newest shares up to `upTo` whose weights reach `window` (all there are if fewer), newest first. */
  private async newest(window: bigint, upTo: number): Promise<StoredShare[]> {
    const out: StoredShare[] = [];
    let total = 0n;
    let before = upTo + 1;
    while (total < window) {
      const page = await this.b.sharesBefore(before, PAGE);
      for (const r of page) {
        out.push(r);
        total += BigInt(r.weight);
        if (total >= window) break;
      }
      if (page.length < PAGE) break;
      before = page[page.length - 1]!.id;
    }
    return out;
  }
}

/** PPLNS over rows newest first: per address, until the weights reach `window` (the edge share only in part). */
export function pplnsFrom(rows: Iterable<StoredShare>, window: bigint): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let left = window;
  for (const r of rows) {
    if (left <= 0n) break;
    const w = BigInt(r.weight);
    const take = w < left ? w : left;
    out.set(r.address, (out.get(r.address) ?? 0n) + take);
    left -= take;
  }
  return out;
}

/** PPLNS read from any backend, a page at a time, up to share `upTo`. */
export async function pplnsOf(b: LedgerBackend, window: bigint, upTo: number): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  let left = window;
  let before = upTo + 1;
  while (left > 0n) {
    const page = await b.sharesBefore(before, PAGE);
    for (const [k, v] of pplnsFrom(page, left)) {
      out.set(k, (out.get(k) ?? 0n) + v);
      left -= v;
    }
    if (page.length < PAGE) break;
    before = page[page.length - 1]!.id;
  }
  return out;
}

/** PROP read from any backend: every share after the round's start, up to share `upTo`. */
export async function propOf(b: LedgerBackend, upTo: number): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const r of await b.sharesBetween(await b.roundStart(), upTo)) out.set(r.address, (out.get(r.address) ?? 0n) + BigInt(r.weight));
  return out;
}

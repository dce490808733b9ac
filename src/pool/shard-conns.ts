// Open connections per IP across the stratum shards of one process, in shared memory: a shard admits a connection
// by one atomic check-and-take under a spin lock (held for a few hundred nanoseconds), so `--max-conns-per-ip`
// holds exactly across shards, not "about" as a cache refreshed every second would. Each member (the main thread,
// each shard) has its own column: a shard that dies has its column cleared by the main thread, nothing leaks.
// A second table of the same kind counts distinct worker names per IP (`--max-workers-per-ip`): a member takes a
// slot when a name new to it appears for the IP and gives it back when that name's last connection on it closes. A
// name open on two members is counted by each (twice): stricter than the distinct names, never looser.

/** Members: the main thread (0) and up to 15 shards. */
export const MAX_MEMBERS = 16;
const KEY = 4;
const LOCK = 0;
const HEAD = 4;

export interface ConnSlots {
  /** Takes a connection slot for `ip` when the IP's total across members is under `cap` (0: no cap); false: refused. */
  take(ip: string, cap: number): boolean;
  /** Gives back a slot taken by this member. */
  give(ip: string): void;
}

/** The table on a SharedArrayBuffer, as one member sees it. */
export class SharedConns implements ConnSlots {
  private readonly a: Int32Array;
  private readonly cap: number;
  private readonly width: number;

  /**
   * A new table for `members` members and up to `slots` distinct IPs with open connections (a power of two). With
   * `others`, one more column: the other instances' connections (from the bus), written by the main thread, counted
   * by take() against the cap and left out of local().
   */
  static create(members: number, slots = 65_536, others = false): SharedArrayBuffer {
    if (members < 1 || members > MAX_MEMBERS) throw new Error(`1..${MAX_MEMBERS} members`);
    const columns = members + (others ? 1 : 0);
    const sab = new SharedArrayBuffer((HEAD + slots * (KEY + columns)) * 4);
    const a = new Int32Array(sab);
    a[1] = slots;
    a[2] = columns;
    a[3] = others ? members : -1;
    return sab;
  }

  /** The column of the other instances' counts (a member of its own), or -1. */
  get othersColumn(): number {
    return this.a[3]!;
  }

  /** Open connections of `ip` on this process's members (the other instances' left out). */
  local(ip: string): number {
    const k = keyOf(ip);
    return this.locked(() => {
      const s = this.find(k);
      return s < 0 ? 0 : this.total(s) - (this.a[3]! >= 0 ? this.a[s + KEY + this.a[3]!]! : 0);
    });
  }

  /** Sets this member's column to `counts` (IPs not in it: 0); `prev`: the IPs set last time. Returns the IPs set now. */
  setAll(counts: ReadonlyMap<string, number>, prev: Set<string>): Set<string> {
    for (const ip of prev) if (!counts.has(ip)) this.set(ip, 0);
    for (const [ip, n] of counts) this.set(ip, n);
    return new Set(counts.keys());
  }

  /** Sets this member's count for `ip` (the others' column, from the bus). */
  set(ip: string, n: number): void {
    const k = keyOf(ip);
    this.locked(() => {
      let s = this.find(k);
      if (s < 0 && n > 0) s = this.insert(k);
      if (s < 0) return;
      this.a[s + KEY + this.member] = n;
      if (this.total(s) === 0) this.remove(s);
    });
  }

  constructor(
    sab: SharedArrayBuffer,
    /** This member's column. */
    readonly member: number,
  ) {
    this.a = new Int32Array(sab);
    this.cap = this.a[1]!;
    this.width = KEY + this.a[2]!;
    if (member < 0 || member >= this.a[2]!) throw new Error(`member ${member} is not in the table`);
  }

  take(ip: string, cap: number): boolean {
    const k = keyOf(ip);
    return this.locked(() => {
      let s = this.find(k);
      if (s >= 0 && cap > 0 && this.total(s) >= cap) return false;
      if (s < 0) {
        s = this.insert(k);
        // Full (more distinct IPs than slots): admitted uncounted, the shard's own cap still applies.
        if (s < 0) return true;
      }
      const at = s + KEY + this.member;
      this.a[at] = this.a[at]! + 1;
      return true;
    });
  }

  give(ip: string): void {
    const k = keyOf(ip);
    this.locked(() => {
      const s = this.find(k);
      if (s < 0) return;
      const at = s + KEY + this.member;
      if (this.a[at]! > 0) this.a[at] = this.a[at]! - 1;
      if (this.total(s) === 0) this.remove(s);
    });
  }

  /** Open connections of `ip` on every member. */
  connections(ip: string): number {
    const k = keyOf(ip);
    return this.locked(() => {
      const s = this.find(k);
      return s < 0 ? 0 : this.total(s);
    });
  }

  /**
   * A member is gone (its thread ended: call only after its Worker's close event, never for a live member): its
   * connections no longer count, and the lock it may have held is freed.
   */
  clear(member: number): void {
    if (Atomics.load(this.a, LOCK) === member + 1) Atomics.store(this.a, LOCK, 0);
    this.locked(() => {
      for (let i = 0; i < this.cap; ) {
        const s = HEAD + i * this.width;
        if (this.a[s] !== 0) this.a[s + KEY + member] = 0;
        // An emptied slot is removed in place; the slot shifted into it is looked at again.
        if (this.a[s] !== 0 && this.total(s) === 0) this.remove(s);
        else i++;
      }
    });
  }

  private locked<T>(f: () => T): T {
    const me = this.member + 1;
    while (Atomics.compareExchange(this.a, LOCK, 0, me) !== 0) {
      // Contended only while another member admits or releases: wait briefly, never for long.
      Atomics.wait(this.a, LOCK, Atomics.load(this.a, LOCK), 1);
    }
    try {
      return f();
    } finally {
      Atomics.store(this.a, LOCK, 0);
      Atomics.notify(this.a, LOCK, 1);
    }
  }

  private total(s: number): number {
    let n = 0;
    for (let m = KEY; m < this.width; m++) n += this.a[s + m]!;
    return n;
  }

  private home(k: Int32Array): number {
    return (k[1]! >>> 0) & (this.cap - 1);
  }

  /** The slot (offset) holding key `k`, or -1 (linear probing; an empty slot ends the search). */
  private find(k: Int32Array): number {
    for (let i = this.home(k), n = 0; n < this.cap; i = (i + 1) & (this.cap - 1), n++) {
      const s = HEAD + i * this.width;
      if (this.a[s] === 0) return -1;
      if (this.a[s] === k[0] && this.a[s + 1] === k[1] && this.a[s + 2] === k[2] && this.a[s + 3] === k[3]) return s;
    }
    return -1;
  }

  private insert(k: Int32Array): number {
    for (let i = this.home(k), n = 0; n < this.cap - 1; i = (i + 1) & (this.cap - 1), n++) {
      const s = HEAD + i * this.width;
      if (this.a[s] !== 0) continue;
      this.a.set(k, s);
      return s;
    }
    return -1; // one slot always stays empty: searches end
  }

  /** Removes the slot at `s` and shifts later entries of its run back (no tombstones: the table never clogs). */
  private remove(s: number): void {
    const mask = this.cap - 1;
    let hole = (s - HEAD) / this.width;
    this.a.fill(0, s, s + this.width);
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const sj = HEAD + j * this.width;
      if (this.a[sj] === 0) return;
      const h = (this.a[sj + 1]! >>> 0) & mask;
      // Entry j may move into the hole when its home is not cyclically within (hole, j].
      const between = hole <= j ? h > hole && h <= j : h > hole || h <= j;
      if (between) continue;
      const sh = HEAD + hole * this.width;
      this.a.copyWithin(sh, sj, sj + this.width);
      this.a.fill(0, sj, sj + this.width);
      hole = j;
    }
  }
}

/** 128 bits of an IP's text (two seeded 64-bit hashes), the first word never 0 (0 marks an empty slot). */
function keyOf(ip: string): Int32Array {
  const h1 = Bun.hash.wyhash(ip, 0x5eed1n);
  const h2 = Bun.hash.wyhash(ip, 0x5eed2n);
  const k = new Int32Array(4);
  k[0] = Number(h1 & 0xffffffffn) | 1;
  k[1] = Number((h1 >> 32n) & 0xffffffffn);
  k[2] = Number(h2 & 0xffffffffn);
  k[3] = Number((h2 >> 32n) & 0xffffffffn);
  return k;
}

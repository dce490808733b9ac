// Connections and their sessions: admission through the guard, extranonce1s, authorization with the worker caps,
// the difficulty each connection is told, bans carried out on the sockets, and the once-a-second sweep.
import { toHex } from "../core";
import { EXTRANONCE_BYTES } from "../chain";
import { StratumError, STRATUM_ERROR } from "../stratum";
import { banText, type Ban } from "../core";
import { PoolConn, type ConnOwner, type Link } from "./conn";
import { Vardiff, roundDifficulty } from "./vardiff";
import type { PoolContext } from "./context";

/** What this part uses of the pool. */
type Pool = Pick<PoolContext, "o" | "now" | "guard" | "jobs" | "report" | keyof ConnOwner>;

export class Sessions {
  readonly conns = new Set<PoolConn>();
  private readonly en1InUse = new Set<number>();
  private en1Counter = 0;
  /** Per IP: the workers authorized on its open connections, with how many of them each is open on. */
  private readonly ipWorkers = new Map<string, Map<string, number>>();

  constructor(private readonly pool: Pool) {}

  /** A new connection, or the reason it is refused (its IP is banned or over the cap), to be told to the miner. */
  open(link: Link): PoolConn | string {
    // Open connections of the other pool members count too (a cached sum: admission stays synchronous).
    const bus = this.pool.o.bus;
    const refused = this.pool.guard.admit(link.ip, bus?.othersConnections(link.ip) ?? 0);
    if (refused !== null) return refused;
    // Shards of one process: the IP's total over every shard, checked and taken in one step.
    const shard = this.pool.o.shard;
    if (shard && !shard.slots.take(link.ip, this.pool.o.limits.maxPerIp)) {
      this.pool.guard.release(link.ip);
      return `more than ${this.pool.o.limits.maxPerIp} connections from ${link.ip}`;
    }
    bus?.setLocalConnections?.(link.ip, this.pool.guard.connections(link.ip));
    const c = new PoolConn(this.pool, link, this.pool.now());
    this.conns.add(c);
    return c;
  }

  /** A connection went away (closed by either side). */
  closed(c: PoolConn): void {
    if (c.closed) return;
    c.closed = true;
    this.conns.delete(c);
    this.pool.guard.release(c.link.ip);
    this.pool.o.shard?.slots.give(c.link.ip);
    this.pool.o.bus?.setLocalConnections?.(c.link.ip, this.pool.guard.connections(c.link.ip));
    if (c.en1Key >= 0) this.en1InUse.delete(c.en1Key);
    const now = this.pool.now();
    const mine = this.ipWorkers.get(c.link.ip);
    let gone = false;
    for (const user of c.users.keys()) {
      if (mine) {
        const n = (mine.get(user) ?? 1) - 1;
        if (n > 0) mine.set(user, n);
        else if (mine.delete(user)) {
          // The worker's last connection on this member: its slot in the shards' table is given back.
          this.pool.o.shard?.workers.give(c.link.ip);
          gone = true;
        }
      }
      this.pool.report.workerLeft(user, c.connectedAt, now);
    }
    if (mine && !mine.size) this.ipWorkers.delete(c.link.ip);
    if (gone) this.pool.o.bus?.setLocalWorkers?.(c.link.ip, mine?.size ?? 0);
  }

  subscribe(c: PoolConn): { extranonce1: string; extranonce2Size: number } {
    if (c.en1Key < 0) {
      // instance id in the first byte, a counter in the other three; never two live connections with one value.
      let key: number;
      // A shard of one process: its index in the next 4 bits, so no two shards hand out the same space.
      const sh = this.pool.o.shard;
      do key = ((this.pool.o.instanceId << 24) | (sh ? (sh.index << 20) | (this.en1Counter++ & 0xfffff) : this.en1Counter++ & 0xffffff)) >>> 0;
      while (this.en1InUse.has(key));
      this.en1InUse.add(key);
      c.en1Key = key;
      new DataView(c.en1.buffer).setUint32(0, key);
    }
    if (c.users.size) setImmediate(() => this.pool.jobs.sendWork(c));
    return { extranonce1: toHex(c.en1), extranonce2Size: EXTRANONCE_BYTES - 4 };
  }

  /** Authorizes `user` on a connection; refusals throw the reason the miner is told (code 24). */
  authorize(c: PoolConn, user: string, password: string): boolean {
    const source = this.pool.o.source;
    const address = this.parseUser(user);
    if (!address) {
      const dot = user.indexOf(".");
      const what = dot >= 0 && source.payee(user.slice(0, dot)) ? `worker name '${user.slice(dot + 1, dot + 65)}' must be 1-64 of A-Z a-z 0-9 _ -` : `'${user.slice(0, dot < 0 ? 100 : dot)}' is not a payout address of this pool's network`;
      throw new StratumError(STRATUM_ERROR.unauthorized, `${what} (user: ADDRESS[.NAME])`);
    }
    const ban = this.pool.guard.banned(c.link.ip, user);
    if (ban) throw new StratumError(STRATUM_ERROR.unauthorized, banText(ban, this.pool.now()));
    // Counted before anything about the connection changes: a refused worker leaves no trace on it.
    if (!c.users.has(user)) this.admitWorker(c, user);
    const m = /(?:^|,)\s*d=([0-9.eE+-]+)/.exec(password);
    if (m) {
      const d = Number(m[1]);
      if (Number.isFinite(d) && d > 0) {
        c.fixedDifficulty = true;
        c.difficulty = this.clampDifficulty(d);
      }
    }
    if (!c.users.has(user)) {
      c.users.set(user, address);
      this.pool.report.workerJoined(user, address, c.connectedAt, this.pool.now());
    }
    if (!c.fixedDifficulty && !c.vardiff) c.vardiff = this.newVardiff(c.difficulty);
    this.pool.jobs.payeeJoined(address);
    if (c.session.subscribed) setImmediate(() => this.pool.jobs.sendWork(c));
    return true;
  }

  /**
   * Counts a new worker of a connection against the caps per connection and per IP, or refuses it (code 24, not an
   * invalid share: nothing counts towards a ban). One connection cannot make the pool keep unbounded worker state.
   * Per IP, the other members' distinct workers count too: other instances' (the bus's cached sum) and, with stratum
   * shards, every shard's (taken in one step with the check, in shared memory). A worker name open on two members is
   * counted by each (twice): the cap is then stricter than the distinct names, never looser.
   */
  private admitWorker(c: PoolConn, user: string): void {
    const l = this.pool.o.limits;
    const ip = c.link.ip;
    let mine = this.ipWorkers.get(ip);
    const fresh = !mine?.has(user); // new to this member (its connections from this IP)
    const others = fresh && l.maxWorkersPerIp > 0 ? (this.pool.o.bus?.othersWorkers?.(ip) ?? 0) : 0;
    let why: string | null = null;
    if (l.maxWorkersPerConn > 0 && c.users.size >= l.maxWorkersPerConn) why = `too many workers on this connection (${l.maxWorkersPerConn})`;
    else if (l.maxWorkersPerIp > 0 && fresh && (mine?.size ?? 0) + others >= l.maxWorkersPerIp) why = `too many workers from ${ip} (${l.maxWorkersPerIp})`;
    else if (fresh && this.pool.o.shard && !this.pool.o.shard.workers.take(ip, l.maxWorkersPerIp)) why = `too many workers from ${ip} (${l.maxWorkersPerIp})`;
    if (why) {
      if (!c.capLogged) {
        c.capLogged = true;
        this.pool.o.log.warn("pool.workers_capped", { ip, reason: why, workers_on_conn: c.users.size, workers_on_ip: mine?.size ?? 0 });
      }
      throw new StratumError(STRATUM_ERROR.unauthorized, why);
    }
    if (!mine) this.ipWorkers.set(ip, (mine = new Map()));
    mine.set(user, (mine.get(user) ?? 0) + 1);
    if (fresh) this.pool.o.bus?.setLocalWorkers?.(ip, mine.size);
  }

  /** Distinct workers authorized on the open connections of `ip`. */
  workersFrom(ip: string): number {
    return this.ipWorkers.get(ip)?.size ?? 0;
  }

  /** A payout user: an address of the source's network, optionally ".worker" (1-64 of [A-Za-z0-9_-]). */
  parseUser(user: string): Uint8Array | null {
    const dot = user.indexOf(".");
    const addr = dot < 0 ? user : user.slice(0, dot);
    if (dot >= 0 && !/^[A-Za-z0-9_-]{1,64}$/.test(user.slice(dot + 1))) return null;
    return this.pool.o.source.payee(addr);
  }

  // ---- difficulty ----

  private newVardiff(d: number): Vardiff {
    return new Vardiff(d, this.pool.o.vardiff, this.pool.now() / 1000);
  }

  suggestDifficulty(c: PoolConn, d: number): void {
    if (c.fixedDifficulty) return;
    c.difficulty = this.clampDifficulty(d);
    c.vardiff = this.newVardiff(c.difficulty);
    if (c.workSent) c.tell(c.difficulty);
  }

  /** Every vardiff starts again from its connection's difficulty (the share interval changed). */
  restartVardiff(): void {
    for (const c of this.conns) if (c.vardiff) c.vardiff = this.newVardiff(c.difficulty);
  }

  /** Within the configured range, and never above the network's difficulty (a share harder than a block would let
   * a miner sit on blocks it cannot tell are blocks). */
  clampDifficulty(d: number): number {
    const v = this.pool.o.vardiff;
    const r = roundDifficulty(Math.min(v.maxDifficulty, Math.max(v.minDifficulty, d)));
    const net = this.pool.jobs.networkDifficulty;
    return r > net ? Math.max(net, v.minDifficulty) : r;
  }

  /** Lowers a connection's difficulty to the network's when a job makes it too high; true when it changed. */
  capDifficulty(c: PoolConn): boolean {
    const d = this.clampDifficulty(c.difficulty);
    if (d >= c.difficulty) return false;
    c.difficulty = d;
    // Vardiff starts again from here; what it asks for later is capped the same way, so it can rise with the network.
    if (c.vardiff) c.vardiff = this.newVardiff(d);
    return true;
  }

  /** Over the share rate: four times the difficulty from the job after `seq` (within the network's cap), unless fixed. */
  raiseDifficulty(c: PoolConn, seq: number): boolean {
    if (c.fixedDifficulty) return false;
    if (c.raisedAt === seq) return true; // raised for the next job already
    const next = this.clampDifficulty(c.difficulty * 4);
    if (next <= c.difficulty) return false;
    c.raisedAt = seq;
    c.difficulty = next;
    c.vardiff = this.newVardiff(next);
    this.tellLater(c);
    return true;
  }

  /** Vardiff after an accepted share: a new difficulty is told after the acknowledgement (it applies from the next notify). */
  retarget(c: PoolConn, nowMs: number): void {
    if (!c.vardiff) return;
    const v = c.vardiff.onShare(nowMs / 1000);
    const next = v === null ? null : this.clampDifficulty(v);
    if (next !== null && next !== c.difficulty) {
      c.difficulty = next;
      this.tellLater(c);
    }
  }

  private tellLater(c: PoolConn): void {
    setImmediate(() => !c.closed && c.told !== c.difficulty && c.tell(c.difficulty));
  }

  // ---- bans and the sweep ----

  /**
   * Applies a ban: logged, and every connection it covers is told why (an error to the request in hand, which the
   * caller throws, and client.show_message) and closed after that answer is written.
   */
  enforce(ban: Ban, restored = false): StratumError {
    const text = banText(ban, this.pool.now());
    // Kept in the ledger: a restart and the other instances on it apply it too (one they decided is not written back).
    if (!restored) this.pool.o.ledger.saveBan(ban);
    // The other members enforce it at once (they read the ledger's copy only before their next job, if ever).
    if (!restored) this.pool.o.bus?.publishBan({ subject: ban.worker === null ? ban.ip : `${ban.ip}/${ban.worker}`, ip: ban.ip, worker: ban.worker, until: ban.until, reason: ban.reason });
    if (!restored) this.pool.report.counters.bans++;
    this.pool.o.log.warn("pool.ban", { ip: ban.ip, worker: ban.worker, reason: ban.reason, seconds: Math.round((ban.until - ban.since) / 1000), strikes: ban.strikes });
    for (const c of [...this.conns]) {
      if (c.link.ip !== ban.ip || (ban.worker !== null && !c.users.has(ban.worker))) continue;
      setImmediate(() => {
        if (c.closed) return;
        c.link.write(c.link.encode({ id: null, method: "client.show_message", params: [text] }));
        c.link.flush();
        c.link.close(text);
      });
    }
    return new StratumError(STRATUM_ERROR.other, text);
  }

  /** Connections that never authorized or went silent are closed; the others' vardiff ticks. */
  sweep(now: number): void {
    const l = this.pool.o.limits;
    for (const c of [...this.conns]) {
      if (!c.users.size && now - c.connectedAt > l.authorizeSeconds * 1000) c.link.close("not authorized in time");
      else if (l.idleSeconds > 0 && now - c.lastMessage > l.idleSeconds * 1000) c.link.close("idle");
      else if (c.vardiff && !c.fixedDifficulty) {
        const v = c.vardiff.tick(now / 1000);
        const next = v === null ? null : this.clampDifficulty(v);
        if (next !== null && next !== c.difficulty) {
          c.difficulty = next;
          c.tell(next);
        }
      }
    }
  }

  /** One unit of weight per authorized payout address with an open connection (the plan for an empty window). */
  connectedPayees(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const c of this.conns) if (!c.closed) for (const a of c.users.values()) out.set(toHex(a), 1n);
    return out;
  }
}

// The connector's side of one connection: where its messages go (a Link) and its Stratum session with the state
// the pool keeps per connection (extranonce1, difficulty history, workers, counters).
import { StratumSession, type Outgoing, type SessionHandler, type SubmitParams } from "../stratum";
import { SecondRate } from "../core";
import type { Vardiff } from "./vardiff";

/** Where a connection's messages go: a socket with its codec, or an HTTP worker. */
export interface Link {
  readonly ip: string;
  /** Messages are encoded once per codec for a broadcast. */
  readonly codec: string;
  encode(m: Outgoing): Uint8Array;
  /** Queues bytes; they leave at the end of the current pass of the event loop, or at flush(). */
  write(bytes: Uint8Array): void;
  /** Sends what write() queued now. */
  flush(): void;
  /** Sends what write() queued and then `bytes`, now (a broadcast: no queue per connection, one send each). */
  send(bytes: Uint8Array): void;
  close(reason: string): void;
}

/** What a connection's session asks of the pool (the pool server); declared here so this file imports no part. */
export interface ConnOwner {
  readonly startDifficulty: number;
  readonly versionMask: number;
  subscribe(c: PoolConn): { extranonce1: string; extranonce2Size: number };
  authorize(c: PoolConn, user: string, password: string): boolean;
  submit(c: PoolConn, p: SubmitParams): Promise<void>;
  suggestDifficulty(c: PoolConn, d: number): void;
}

/** One connection's state: its session, extranonce1, difficulty history and counters. */
export class PoolConn implements SessionHandler {
  readonly session: StratumSession;
  en1 = new Uint8Array(4);
  en1Key = -1;
  difficulty: number;
  /** Difficulty changes: [first job sequence it applies to, difficulty], oldest first (a few kept). */
  private diffs: [number, number][] = [];
  /** The difficulty of the last entry in diffs: a broadcast checks this number, not the list (one object less per connection). */
  private noted = NaN;
  vardiff: Vardiff | null = null;
  fixedDifficulty = false;
  readonly users = new Map<string, Uint8Array>();
  readonly connectedAt: number;
  lastMessage: number;
  valid = 0;
  invalid = 0;
  /** Valid and invalid shares per worker on this connection: a ban goes to the worker whose work is wrong. */
  private readonly tallies = new Map<string, { valid: number; invalid: number }>();
  /** The difficulty the miner was last told (set_difficulty), or null before the first. */
  told: number | null = null;
  /** The job sequence the rate limit last raised the difficulty at (once per job: it applies from the next one). */
  raisedAt = -1;
  private readonly rate = new SecondRate();
  workSent = false;
  closed = false;
  /** An authorize over a worker cap was refused (logged once per connection). */
  capLogged = false;

  constructor(
    readonly server: ConnOwner,
    readonly link: Link,
    now: number,
  ) {
    this.session = new StratumSession((m) => link.write(link.encode(m)), this);
    this.difficulty = server.startDifficulty;
    this.connectedAt = now;
    this.lastMessage = now;
  }

  get versionMask(): number {
    return this.server.versionMask;
  }

  subscribe(): { extranonce1: string; extranonce2Size: number } {
    return this.server.subscribe(this);
  }

  authorize(_s: StratumSession, user: string, password: string): boolean {
    return this.server.authorize(this, user, password);
  }

  submit(_s: StratumSession, p: SubmitParams): Promise<void> {
    return this.server.submit(this, p);
  }

  suggestDifficulty(_s: StratumSession, d: number): void {
    this.server.suggestDifficulty(this, d);
  }

  /** The share counts of one worker on this connection. */
  tally(worker: string): { valid: number; invalid: number } {
    let t = this.tallies.get(worker);
    if (!t) this.tallies.set(worker, (t = { valid: 0, invalid: 0 }));
    return t;
  }

  /** mining.set_difficulty, remembered: a job is never sent at a difficulty the miner was not told. */
  tell(d: number): void {
    this.told = d;
    this.session.setDifficulty(d);
  }

  /** Feeds one decoded message. */
  handle(msg: unknown, now: number): Promise<void> {
    this.lastMessage = now;
    return this.session.handle(msg);
  }

  /** Records that jobs from sequence `seq` on are sent at difficulty `d`. */
  noteDifficulty(seq: number, d: number): void {
    if (d === this.noted) return;
    this.noted = d;
    const last = this.diffs[this.diffs.length - 1];
    if (last && last[0] === seq) last[1] = d;
    else this.diffs.push([seq, d]);
    if (this.diffs.length > 4) this.diffs.shift();
  }

  /**
   * The difficulty a share on job `seq` is checked and credited at: the one in force when the job was sent, or the
   * current one when that is lower (a miner that applies a lower set_difficulty at once is not penalised).
   */
  difficultyForJob(seq: number): number {
    let d = this.difficulty;
    for (const [from, v] of this.diffs) if (from <= seq) d = v;
    return Math.min(d, this.difficulty);
  }

  /** 0 when the share is within this second's allowance, else how many over it (1 for the first excess share). */
  overRate(nowMs: number, limit: number): number {
    return this.rate.over(nowMs, limit);
  }
}

// Pool members on one bus: one leader builds jobs from the work source and publishes them, every other member is a
// follower that adopts them (same ids, same notify bytes) and serves its own miners with them. The bus also carries
// per-IP counts (open connections, distinct workers), bans and each member's health. Redis between instances
// (bus-redis.ts), a Worker's message port between the shards of one process; MemoryBus below joins members of one
// process (tests).
import type { BanRow, StoredPlan } from "./ledger-backend";

/** A job on the bus (job-wire.ts turns a JobRecord into one and back). */
export interface WireJob {
  /** Job id = seq.toString(16); unique across leaders (a shared counter). */
  seq: number;
  /** The leader lease's fencing number: followers drop a job with an epoch lower than the highest seen. */
  epoch: number;
  clean: boolean;
  /** Hex of the 80-byte header of the work (merkle root and nonce are the miners'). */
  header: string;
  height: number;
  minTime: number;
  coinb1: string;
  coinb2: string;
  branch: string[];
  /** WorkSource.encodeData(work.data): what the finder's own source needs to assemble the block. */
  data: string;
  /** The plan the coinbase pays: recorded with a found block by whichever member finds it. */
  plan: StoredPlan;
  networkDifficulty: number;
  createdAt: number;
}


/** One member's health as the others see it (pool-wide figures are their sums). */
export interface MemberHealth {
  /** The member's identity on the bus (stamped by the bus). */
  member: string;
  instance: number;
  leader: boolean;
  /** When it was written (ms since the epoch). */
  at: number;
  connections: number;
  workers: number;
  hashrate: number;
  accepted: number;
  rejected: number;
  job: string | null;
  height: number | null;
  problems: string[];
  shards?: MemberHealth[];
  /**
   * While the plan pays by connection (no shares in the window yet: a fresh pool), the payees (hex) connected to this
   * member: the leader's plan counts them too, so a block found anywhere pays every connected worker.
   */
  payees?: string[];
}

export interface PoolBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  onLeadership(cb: (leading: boolean, epoch: number) => void): void;
  /** Leader only; also kept as "the current job" for members that join later. */
  publishJob(w: WireJob): Promise<void>;
  /** cb returns true when it took the job (checked and adopted): only then do its seq and epoch count on the bus. */
  onJob(cb: (w: WireJob) => boolean | void): void;
  /** Per-IP open connections of the OTHER members, a cached sum refreshed at least once a second (admission stays synchronous). */
  othersConnections(ip: string): number;
  /** Every IP the other members have connections from, with the sum (a process with stratum shards copies it to them). */
  othersByIp?(): ReadonlyMap<string, number>;
  /** A ban is enforced by every member at once (the ledger keeps it too). */
  publishBan(b: BanRow): void;
  onBan(cb: (b: BanRow) => void): void;
  /** A lift of an IP's bans, by every member at once (the ledger's rows are lifted by the member that was asked). */
  publishUnban?(ip: string): void;
  onUnban?(cb: (ip: string) => void): void;
  /** This member's health (the bus stamps `member` and `at`); members(): every live member's, this one's included. */
  publishHealth(h: MemberHealth): void;
  members(): MemberHealth[];
  /** Per-IP open connections of this member, as the others should count them (called by the server's guard). */
  setLocalConnections?(ip: string, n: number): void;
  /** Per-IP distinct workers of the OTHER members (against --max-workers-per-ip), a cached sum like othersConnections. */
  othersWorkers?(ip: string): number;
  /** Every IP the other members have workers from, with the sum (copied to a process's stratum shards). */
  othersWorkersByIp?(): ReadonlyMap<string, number>;
  /** Per-IP distinct workers of this member, as the others should count them. */
  setLocalWorkers?(ip: string, n: number): void;
  /**
   * The next job sequence for a leader: from a counter every leader shares, so ids stay unique across failovers.
   * Throws when none can be had (the job is then not built). Absent: the server counts on its own (one leader ever).
   */
  nextSeq?(): number;
}

/** Members of one process on one bus (tests, benches): the first member started leads; when it stops the next does. */
export class MemoryHub {
  readonly members: MemoryBus[] = [];
  epoch = 0;
  seq = 0;
  current: WireJob | null = null;
  leader: MemoryBus | null = null;

  bus(name: string): MemoryBus {
    return new MemoryBus(this, name);
  }

  /** Hands the lease to the first live member when none holds it (fencing: a new epoch each time). */
  elect(): void {
    if (this.leader && this.members.includes(this.leader)) return;
    this.leader = this.members[0] ?? null;
    if (!this.leader) return;
    const epoch = ++this.epoch;
    this.leader.lead(true, epoch);
  }

  /** The leader loses the lease without stopping (a partition, a missed renewal); another member takes it. */
  depose(): void {
    const old = this.leader;
    if (!old) return;
    this.leader = null;
    const i = this.members.indexOf(old);
    this.members.splice(i, 1);
    this.members.push(old);
    old.lead(false, this.epoch);
    this.elect();
  }
}

export class MemoryBus implements PoolBus {
  private readonly leadership: ((leading: boolean, epoch: number) => void)[] = [];
  private readonly jobs: ((w: WireJob) => boolean | void)[] = [];
  private readonly bans: ((b: BanRow) => void)[] = [];
  private readonly unbans: ((ip: string) => void)[] = [];
  private health: MemberHealth | null = null;
  readonly local = new Map<string, number>();
  readonly localWorkers = new Map<string, number>();

  constructor(
    private readonly hub: MemoryHub,
    readonly name: string,
  ) {}

  async start(): Promise<void> {
    this.hub.members.push(this);
    const cur = this.hub.current;
    if (cur) for (const cb of this.jobs) cb(cur);
    this.hub.elect();
  }

  async stop(): Promise<void> {
    const i = this.hub.members.indexOf(this);
    if (i >= 0) this.hub.members.splice(i, 1);
    if (this.hub.leader === this) {
      this.hub.leader = null;
      this.hub.elect();
    }
  }

  lead(leading: boolean, epoch: number): void {
    for (const cb of this.leadership) cb(leading, epoch);
  }

  onLeadership(cb: (leading: boolean, epoch: number) => void): void {
    this.leadership.push(cb);
  }

  async publishJob(w: WireJob): Promise<void> {
    // Fenced as Redis fences it: a job of an older epoch than the lease's is not published.
    if (w.epoch < this.hub.epoch || this.hub.leader !== this) return;
    this.hub.current = w;
    // Delivered later, as a real bus would: never inside the leader's own publish.
    const to = this.hub.members.filter((m) => m !== this);
    queueMicrotask(() => {
      for (const m of to) for (const cb of m.jobs) cb(w);
    });
  }

  onJob(cb: (w: WireJob) => boolean | void): void {
    this.jobs.push(cb);
  }

  othersConnections(ip: string): number {
    return this.othersByIp().get(ip) ?? 0;
  }

  othersByIp(kind: "local" | "localWorkers" = "local"): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.hub.members) if (m !== this) for (const [ip, n] of m[kind]) out.set(ip, (out.get(ip) ?? 0) + n);
    return out;
  }

  setLocalConnections(ip: string, n: number): void {
    if (n > 0) this.local.set(ip, n);
    else this.local.delete(ip);
  }

  othersWorkers(ip: string): number {
    return this.othersByIp("localWorkers").get(ip) ?? 0;
  }

  othersWorkersByIp(): Map<string, number> {
    return this.othersByIp("localWorkers");
  }

  setLocalWorkers(ip: string, n: number): void {
    if (n > 0) this.localWorkers.set(ip, n);
    else this.localWorkers.delete(ip);
  }

  publishBan(b: BanRow): void {
    for (const m of this.hub.members) if (m !== this) for (const cb of m.bans) cb(b);
  }

  onBan(cb: (b: BanRow) => void): void {
    this.bans.push(cb);
  }

  publishUnban(ip: string): void {
    for (const m of this.hub.members) if (m !== this) for (const cb of m.unbans) cb(ip);
  }

  onUnban(cb: (ip: string) => void): void {
    this.unbans.push(cb);
  }

  publishHealth(h: MemberHealth): void {
    this.health = { ...h, member: this.name, at: Date.now() };
  }

  members(): MemberHealth[] {
    return this.hub.members.flatMap((m) => (m.health ? [m.health] : []));
  }

  nextSeq(): number {
    return ++this.hub.seq;
  }
}

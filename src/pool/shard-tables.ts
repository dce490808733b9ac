// The per-IP tables of a pool process with stratum shards: open connections and distinct workers, each a SharedConns
// table with one column per member (the main thread 0, shards 1..N), plus, with a bus, a column of the other
// instances' counts copied from the bus every second. The bus is told the process's count per IP (every member's),
// and told again when a dead shard's column is cleared: other instances never go on counting what is gone.
import type { PoolBus } from "./bus";
import { SharedConns } from "./shard-conns";

/** One table: its memory, the main thread's view, the other instances' column, the IPs the bus was told of. */
export interface CountTable {
  readonly sab: SharedArrayBuffer;
  readonly local: SharedConns;
  others: { column: SharedConns; read: () => ReadonlyMap<string, number>; written: Set<string> } | null;
  /** IPs with a count on the bus now (this process's): told again after a clear, forgotten once told 0. */
  readonly published: Set<string>;
  tell: ((ip: string) => void) | null;
}

export class ProcessCounts {
  readonly conns: CountTable;
  readonly workers: CountTable;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(members: number, bus: PoolBus | undefined) {
    this.conns = table(members, bus?.othersByIp?.bind(bus));
    this.workers = table(members, bus?.othersWorkersByIp?.bind(bus));
    if (!bus) return;
    // The tables count the other instances already (their column): the server's own check must not add them again.
    if (this.conns.others) bus.othersConnections = () => 0;
    if (this.workers.others) bus.othersWorkers = () => 0;
    this.conns.tell = publisher(this.conns, bus.setLocalConnections?.bind(bus));
    if (this.conns.tell) bus.setLocalConnections = this.conns.tell;
    this.workers.tell = publisher(this.workers, bus.setLocalWorkers?.bind(bus));
    if (this.workers.tell) bus.setLocalWorkers = this.workers.tell;
  }

  /** Copies the other instances' counts into their columns every second (where every shard's take() reads them). */
  start(): void {
    if (this.columns().length && !this.timer) this.timer = setInterval(() => this.columns().forEach((x) => (x.written = x.column.setAll(x.read(), x.written))), 1000);
  }

  /** No more copies; the copied counts go too (a later start() must not count them before its first copy). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const x of this.columns()) x.written = x.column.setAll(new Map(), x.written);
  }

  private columns() {
    return [this.conns, this.workers].flatMap((t) => (t.others ? [t.others] : []));
  }

  /** A member is gone (its thread ended, or none runs yet): its counts no longer count, here or on the bus. */
  clear(member: number): void {
    for (const t of [this.conns, this.workers]) {
      t.local.clear(member);
      if (t.tell) for (const ip of [...t.published]) t.tell(ip);
    }
  }
}

function table(members: number, read: (() => ReadonlyMap<string, number>) | undefined): CountTable {
  const sab = SharedConns.create(members + 1, undefined, !!read);
  return { sab, local: new SharedConns(sab, 0), others: read ? { column: new SharedConns(sab, members + 1), read, written: new Set() } : null, published: new Set(), tell: null };
}

/** The bus is told the process's count for an IP (from the table); the IPs it holds a count for are remembered. */
function publisher(t: CountTable, set: ((ip: string, n: number) => void) | undefined): ((ip: string) => void) | null {
  if (!set) return null;
  return (ip) => {
    const n = t.local.local(ip);
    set(ip, n);
    if (n) t.published.add(ip);
    else t.published.delete(ip);
  };
}

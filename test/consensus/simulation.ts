// A deterministic discrete-event simulation of proof-of-sync (no sockets): N nodes with the real producer rules
// of src/consensus (seed, winners, jitter, eligibility, timestamp rule, fork choice), random message delays,
// crashes and restarts. Used by the test and by `bun run bench/sync-sim.ts`.
import { prng } from "../helpers";
import { checkClaim, compareBranches, Eligibility, epochSalt, jitterMs, producerPool, slotOpensAt, slotSeed, SYNC, winners } from "../../src/consensus";

export interface SimOptions {
  nodes: number;
  heights: number;
  seed: number;
  /** Mean seconds between crashes of one node, and the range of a downtime (s). */
  mtbfSeconds: number;
  downSeconds: [number, number];
  /** Message delay range (ms), and the chance of a slow message with its range. */
  delayMs: [number, number];
  slowChance: number;
  slowMs: [number, number];
  /** Blocks below a tip by this many are final. */
  finalDepth: number;
}

export const DEFAULT_SIM: SimOptions = {
  nodes: 50, heights: 10_000, seed: 1, mtbfSeconds: 600, downSeconds: [5, 60], delayMs: [10, 150], slowChance: 0.02, slowMs: [300, 1500], finalDepth: 6,
};

interface Block {
  hash: string;
  hashBytes: Uint8Array;
  parent: Block | null;
  height: number;
  slot: number;
  producer: string;
  primary: string;
  timeMs: number;
  slotSum: number;
}

interface Node {
  index: number;
  id: string;
  idBytes: Uint8Array;
  up: boolean;
  known: Map<string, Block>;
  orphans: Map<string, Block[]>;
  tip: Block;
  main: Block[];
  elig: Eligibility;
  lastAttempt: number;
  finalTo: number;
  produced: number;
}

export interface SimResult {
  finalHeight: number;
  /** Heights at which two nodes finalised different blocks, or a node changed a finalised block. */
  violations: string[];
  medianIntervalMs: number;
  meanIntervalMs: number;
  slotCounts: number[];
  forksSeen: number;
  crashes: number;
  simulatedSeconds: number;
}

/** A binary heap of events by time, ties in insertion order. */
class Events {
  private h: { t: number; n: number; f: () => void }[] = [];
  private n = 0;
  push(t: number, f: () => void): void {
    const e = { t, n: this.n++, f };
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(h[p]!, e)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }
  pop(): { t: number; f: () => void } | undefined {
    const h = this.h;
    if (!h.length) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && this.less(h[r]!, h[l]!) ? r : l;
        if (this.less(last, h[c]!)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
  private less(a: { t: number; n: number }, b: { t: number; n: number }): boolean {
    return a.t < b.t || (a.t === b.t && a.n < b.n);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha = (s: string) => new Uint8Array(new Bun.CryptoHasher("sha256").update(s).digest());

export function simulate(o: SimOptions = DEFAULT_SIM): SimResult {
  const rnd = prng(o.seed);
  const between = (r: [number, number]) => r[0] + rnd() * (r[1] - r[0]);
  const salt = epochSalt("rignode-sim");
  const genesisBytes = sha("genesis");
  const genesis: Block = { hash: hex(genesisBytes), hashBytes: genesisBytes, parent: null, height: 0, slot: 0, producer: "", primary: "", timeMs: 0, slotSum: 0 };
  const nodes: Node[] = Array.from({ length: o.nodes }, (_, i) => {
    const idBytes = sha(`node ${i}`);
    return {
      index: i, id: hex(idBytes), idBytes, up: true, known: new Map([[genesis.hash, genesis]]), orphans: new Map(), tip: genesis, main: [genesis],
      elig: new Eligibility(), lastAttempt: 0, finalTo: 0, produced: 0,
    };
  });
  const registered = nodes.map((n) => n.id).sort();
  const events = new Events();
  let now = 0;
  const violations: string[] = [];
  const finalized = new Map<number, string>();
  let forks = 0;
  let crashes = 0;
  let blockSeq = 0;
  const byHeight = new Map<string, Block>([[genesis.hash, genesis]]);

  // Deterministic functions of a branch, cached by the parent block (every node computes the same).
  const poolCache = new Map<string, string[]>();
  const poolAfter = (parent: Block): string[] => {
    let p = poolCache.get(parent.hash);
    if (!p) {
      const recent: { primary: string; slot: number }[] = [];
      for (let b: Block | null = parent; b && b.height > 0 && recent.length < SYNC.missedPrimaryPause; b = b.parent) recent.push({ primary: b.primary, slot: b.slot });
      p = producerPool(registered, recent.reverse());
      poolCache.set(parent.hash, p);
    }
    return p;
  };
  const winnersCache = new Map<string, string[]>();
  const winnersAfter = (parent: Block): string[] => {
    let w = winnersCache.get(parent.hash);
    if (!w) winnersCache.set(parent.hash, (w = winners(slotSeed(parent.hashBytes, parent.height + 1, salt), poolAfter(parent))));
    return w;
  };

  const setTip = (n: Node, b: Block) => {
    // Rebuild the main chain from the fork point.
    const path: Block[] = [];
    let x: Block | null = b;
    while (x && n.main[x.height] !== x) {
      path.push(x);
      x = x.parent;
    }
    if (n.main.length - 1 > (x?.height ?? 0)) forks++;
    n.main.length = (x?.height ?? -1) + 1;
    for (let i = path.length - 1; i >= 0; i--) n.main.push(path[i]!);
    n.tip = b;
    const forkAt = (x?.height ?? 0) + 1;
    // A final block (finalDepth below a tip) never changes...
    for (let h = forkAt; h <= n.finalTo; h++) {
      if (n.main[h]?.hash !== finalized.get(h) && violations.length < 20) violations.push(`node ${n.index} changed final height ${h}`);
    }
    // ...and every node finalises the same block at each height.
    for (let h = n.finalTo + 1; h <= n.tip.height - o.finalDepth; h++) {
      const f = finalized.get(h);
      if (f === undefined) finalized.set(h, n.main[h]!.hash);
      else if (f !== n.main[h]!.hash && violations.length < 20) violations.push(`height ${h}: node ${n.index} finalised a different block`);
      n.finalTo = h;
    }
  };

  const accept = (n: Node, b: Block) => {
    if (n.known.has(b.hash)) return;
    const parent = b.parent!;
    if (!n.known.has(parent.hash)) {
      const list = n.orphans.get(parent.hash) ?? [];
      list.push(b);
      n.orphans.set(parent.hash, list);
      return;
    }
    if (b.timeMs > now + SYNC.maxFutureMs) {
      events.push(b.timeMs - SYNC.maxFutureMs, () => n.up && accept(n, b));
      return;
    }
    const why = checkClaim({ height: b.height, slot: b.slot, producer: b.producer, timeMs: b.timeMs }, { hash: parent.hashBytes, timeMs: parent.timeMs }, poolAfter(parent), salt);
    if (why) {
      if (violations.length < 20) violations.push(`node ${n.index} refused a block: ${why}`);
      return;
    }
    n.known.set(b.hash, b);
    if (compareBranches({ hash: b.hashBytes, height: b.height, slotSum: b.slotSum }, { hash: n.tip.hashBytes, height: n.tip.height, slotSum: n.tip.slotSum }) < 0) setTip(n, b);
    const waiting = n.orphans.get(b.hash);
    if (waiting) {
      n.orphans.delete(b.hash);
      for (const c of waiting) accept(n, c);
    }
  };

  const delay = () => (rnd() < o.slowChance ? between(o.slowMs) : between(o.delayMs));
  const broadcast = (from: Node, b: Block) => {
    for (const m of nodes) if (m !== from) events.push(now + delay(), () => m.up && accept(m, b));
  };

  const produce = (n: Node, parent: Block, slot: number) => {
    if (!n.up || n.tip !== parent) return; // a block for this height came first, or we moved on
    const w = winnersAfter(parent);
    const timeMs = Math.max(now, slotOpensAt(parent.timeMs, slot));
    const hashBytes = sha(`block ${++blockSeq} ${n.id} ${parent.hash}`);
    const b: Block = { hash: hex(hashBytes), hashBytes, parent, height: parent.height + 1, slot, producer: n.id, primary: w[0]!, timeMs, slotSum: parent.slotSum + slot };
    n.produced++;
    byHeight.set(b.hash, b);
    accept(n, b);
    broadcast(n, b);
  };

  const tick = (n: Node) => {
    if (!n.up) return;
    let net = n.tip.height;
    let ready = 0;
    for (const m of nodes) if (m !== n && m.up) (ready++, (net = Math.max(net, m.tip.height)));
    if (n.elig.tick({ localHeight: n.tip.height, networkHeight: net, readyPeers: ready })) {
      const h = n.tip.height + 1;
      if (h > n.lastAttempt) {
        n.lastAttempt = h;
        const w = winnersAfter(n.tip);
        const slot = w.indexOf(n.id);
        if (slot >= 0) {
          const seed = slotSeed(n.tip.hashBytes, h, salt);
          const parent = n.tip;
          events.push(now + slot * SYNC.slotMs + jitterMs(seed, n.idBytes), () => produce(n, parent, slot));
        }
      }
    }
    events.push(now + SYNC.tickMs, () => tick(n));
  };

  const crash = (n: Node) => {
    if (n.up) {
      n.up = false;
      crashes++;
      n.elig = new Eligibility();
      events.push(now + between(o.downSeconds) * 1000, () => restart(n));
    }
  };
  const restart = (n: Node) => {
    n.up = true;
    n.lastAttempt = 0;
    // Sync from a random running peer: every block it has, after one message delay.
    const peers = nodes.filter((m) => m.up && m !== n);
    const peer = peers[Math.floor(rnd() * peers.length)];
    if (peer) {
      const blocks = peer.main.slice(1);
      events.push(now + delay(), () => n.up && blocks.forEach((b) => accept(n, b)));
    }
    events.push(now + SYNC.tickMs, () => tick(n));
    events.push(now + -Math.log(1 - rnd()) * o.mtbfSeconds * 1000, () => crash(n));
  };

  for (const n of nodes) {
    events.push(rnd() * SYNC.tickMs, () => tick(n));
    events.push(-Math.log(1 - rnd()) * o.mtbfSeconds * 1000, () => crash(n));
  }
  for (let e = events.pop(); e; e = events.pop()) {
    now = e.t;
    e.f();
    if (finalized.size >= o.heights) break;
  }

  // The finalised chain: intervals and the slots that produced it.
  const chain: Block[] = [];
  for (let h = 1; h <= finalized.size; h++) chain.push(byHeight.get(finalized.get(h)!)!);
  const intervals = chain.map((b) => b.timeMs - b.parent!.timeMs).sort((a, b) => a - b);
  const slotCounts = Array.from({ length: 1 + SYNC.backups }, () => 0);
  for (const b of chain) slotCounts[b.slot]!++;
  return {
    finalHeight: finalized.size,
    violations,
    medianIntervalMs: intervals[Math.floor(intervals.length / 2)] ?? NaN,
    meanIntervalMs: intervals.reduce((a, b) => a + b, 0) / Math.max(1, intervals.length),
    slotCounts,
    forksSeen: forks,
    crashes,
    simulatedSeconds: now / 1000,
  };
}

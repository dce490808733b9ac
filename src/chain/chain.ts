import type { Database } from "bun:sqlite";
import { leToBigInt, leToDisplayHex, RignodeError, type Logger, type ProducerRules } from "../core";
import type { Store } from "../store";
import { blockHash, decodeBlock, encodeBlock, merkleRoot, type Block } from "./block";
import { nextBits } from "./difficulty";
import { bitsToTarget, decodeHeader, encodeHeader, workForTarget, type Header } from "./header";
import { rewardAt, type NetworkParams } from "./params";
import { applyUndo, readAccount, StateWriter, type Account } from "./state";
import { decodeTx, encodeTx, EXTRANONCE_BYTES, txId, type CoinbaseOutput, type Transfer } from "./tx";
import { provenHeight } from "./headers";
import { checkBlockAlone, checkTransferAlone, ValidationError } from "./validate";
import { sealBytes } from "./block";
import { verifySignature } from "./keys";

export interface ChainOptions {
  store: Store;
  params: NetworkParams;
  /** Proof-of-work hash of an 80-byte header (the network's algorithm), as digest bytes. */
  powHash: (header80: Uint8Array) => Uint8Array;
  log?: Logger;
  /** Seconds since the epoch (tests move the clock). */
  now?: () => number;
  /** Milliseconds since the epoch, for the time between tips in the log (tests move it). */
  clockMs?: () => number;
  /** Most transactions the mempool holds. */
  mempoolLimit?: number;
  /** proof-of-sync networks: who may produce each height (from src/consensus, passed in by the node). */
  producers?: ProducerRules;
}

/** What a proof-of-sync block claims, parsed from its coinbase memo and header. */
export interface SyncClaim {
  producer: string;
  slot: number;
  timeMs: number;
}

const SYNC_MEMO = /^sync1:([0-9a-f]{64}):(\d{1,15})$/;

/** The coinbase memo of a proof-of-sync block: the producer and the block's time in ms (committed by the merkle root). */
export function syncMemo(producer: string, timeMs: number): string {
  return `sync1:${producer}:${timeMs}`;
}

/** Work of one proof-of-sync block: most blocks first, then fewer backup slots (slots are 0..6). */
const SYNC_BLOCK_WORK = 1n << 20n;

export interface Tip {
  height: number;
  hash: Uint8Array;
  work: bigint;
  header: Header;
}

export interface AcceptResult {
  status: "connected" | "reorg" | "side" | "duplicate";
  hash: Uint8Array;
  height: number;
  /** Blocks taken off the main chain by a reorganisation. */
  disconnected: number;
}

interface BlockRow {
  hash: Uint8Array;
  height: number;
  prev: Uint8Array;
  header: Uint8Array;
  work: string;
  status: "main" | "side" | "invalid";
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const workHex = (w: bigint) => w.toString(16).padStart(64, "0");

/** The genesis block of a network: no PoW check, a coinbase that pays nothing. */
export function genesisBlock(p: NetworkParams): Block {
  const coinbase = { type: "coinbase" as const, height: 0, outputs: [], extranonce: new Uint8Array(EXTRANONCE_BYTES), memo: p.genesis.memo };
  const header: Header = {
    version: 1,
    prevHash: new Uint8Array(32),
    merkleRoot: merkleRoot([txId(coinbase)]),
    time: p.genesis.time,
    bits: p.powLimitBits,
    nonce: p.genesis.nonce,
  };
  return { header, txs: [coinbase] };
}

/**
 * The chain in SQLite: blocks of every branch, the main chain, account state with undo records, the mempool.
 * Connecting a block, and a whole reorganisation, is one SQLite transaction: a crash leaves the state of
 * either before or after, never between.
 */
export class Chain {
  readonly params: NetworkParams;
  private readonly db: Database;
  private readonly listeners: ((tip: Tip, result: AcceptResult) => void)[] = [];
  private readonly now: () => number;
  private tipCache: Tip | null = null;
  /** When this process last saw the tip change (ms), for `since_last_s` in the log. */
  private lastTipAt: number | null = null;

  constructor(private readonly opts: ChainOptions) {
    this.params = opts.params;
    this.db = opts.store.db;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.init();
  }

  private init(): void {
    const g = genesisBlock(this.params);
    const gh = blockHash(g.header);
    const stored = this.opts.store.getMeta("genesis");
    if (stored && stored !== hex(gh)) {
      throw new RignodeError("config", `data dir holds another network's chain (genesis ${stored}); use another --data-dir`);
    }
    if (!stored) {
      this.db.transaction(() => {
        this.insertBlock(gh, 0, g, workForTarget(bitsToTarget(g.header.bits)), "main");
        this.db.query("INSERT INTO main_chain (height, hash) VALUES (0, ?)").run(gh);
        this.opts.store.setMeta("genesis", hex(gh));
        this.opts.store.setMeta("network", this.params.name);
      })();
    }
  }

  /** The best block of the main chain. */
  tip(): Tip {
    if (this.tipCache) return this.tipCache;
    const r = this.db.query<BlockRow, []>("SELECT b.* FROM main_chain m JOIN blocks b ON b.hash = m.hash ORDER BY m.height DESC LIMIT 1").get()!;
    this.tipCache = { height: r.height, hash: r.hash, work: BigInt("0x" + r.work), header: decodeHeader(r.header) };
    return this.tipCache;
  }

  /** Called after every change of the main chain's tip. */
  onTip(fn: (tip: Tip, result: AcceptResult) => void): void {
    this.listeners.push(fn);
  }

  /** The height of a stored block of any branch, or null. */
  heightOf(hash: Uint8Array): number | null {
    return this.db.query<{ height: number }, [Uint8Array]>("SELECT height FROM blocks WHERE hash = ?").get(hash)?.height ?? null;
  }

  /**
   * The height a peer's run of headers proves (see provenHeight): it builds on a block we hold that is not invalid,
   * links up and passes the header-only checks. null when it does not build on anything we hold.
   */
  provenHeight(headers: readonly Header[]): number | null {
    return provenHeight(headers, {
      params: this.params,
      powHash: this.opts.powHash,
      now: this.now,
      known: (hash) => {
        const r = this.db.query<{ height: number; header: Uint8Array; status: string }, [Uint8Array]>("SELECT height, header, status FROM blocks WHERE hash = ?").get(hash);
        return r && r.status !== "invalid" ? { height: r.height, time: decodeHeader(r.header).time } : null;
      },
    });
  }

  /** A block of any branch by hash, with its height and whether it is on the main chain. */
  block(hash: Uint8Array): { block: Block; height: number; status: string; work: bigint } | null {
    const r = this.db.query<BlockRow & { body: Uint8Array }, [Uint8Array]>("SELECT * FROM blocks WHERE hash = ?").get(hash);
    return r ? { block: decodeBlock(r.body), height: r.height, status: r.status, work: BigInt("0x" + r.work) } : null;
  }

  /** Hash of the main-chain block at a height. */
  hashAt(height: number): Uint8Array | null {
    return this.db.query<{ hash: Uint8Array }, [number]>("SELECT hash FROM main_chain WHERE height = ?").get(height)?.hash ?? null;
  }

  /** The 80 header bytes of the main-chain block at a height (no body decoded: what sync serves). */
  headerBytesAt(height: number): Uint8Array | null {
    return this.db.query<{ header: Uint8Array }, [number]>("SELECT b.header FROM main_chain m JOIN blocks b ON b.hash = m.hash WHERE m.height = ?").get(height)?.header ?? null;
  }

  /** Where a transaction was mined on the main chain. */
  txLocation(id: Uint8Array): { block: Uint8Array; height: number; index: number } | null {
    const r = this.db.query<{ block: Uint8Array; height: number; idx: number }, [Uint8Array]>("SELECT block, height, idx FROM txindex WHERE txid = ?").get(id);
    return r ? { block: r.block, height: r.height, index: r.idx } : null;
  }

  /** An account at the tip (zero balance and nonce if it never received anything). */
  account(address: Uint8Array): Account {
    return readAccount(this.db, address) ?? { balance: 0n, nonce: 0n };
  }

  /** The nonce a sender's next transfer must carry, counting its transfers already in the mempool. */
  nextNonce(address: Uint8Array): bigint {
    return this.account(address).nonce + BigInt(this.pendingOf(address).length);
  }

  /** Number of transactions waiting in the mempool. */
  mempoolSize(): number {
    return this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM mempool").get()?.n ?? 0;
  }

  /** Compact bits a child of `parent` must carry (LWMA over its own branch). */
  nextBitsAfter(parent: Uint8Array): number {
    if (this.params.consensus === "sync") return this.params.powLimitBits; // no proof of work to retarget
    const pts = this.ancestors(parent, this.params.lwmaWindow + 1).map((h) => ({ time: h.time, target: bitsToTarget(h.bits) }));
    return nextBits(pts, this.params.blockTime, this.params.lwmaWindow, this.params.powLimitBits);
  }

  /** Median time of the last mtpWindow blocks ending at `parent`: a child's time must be above it. */
  medianTimePast(parent: Uint8Array): number {
    const times = this.ancestors(parent, this.params.mtpWindow).map((h) => h.time).sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }

  /** Headers of the last `n` blocks ending at `hash` (inclusive), oldest first. */
  private ancestors(hash: Uint8Array, n: number): Header[] {
    const out: Header[] = [];
    let cur: Uint8Array | null = hash;
    while (cur && out.length < n) {
      const r: { header: Uint8Array; height: number } | null = this.db.query<{ header: Uint8Array; height: number }, [Uint8Array]>("SELECT header, height FROM blocks WHERE hash = ?").get(cur);
      if (!r) break;
      const h = decodeHeader(r.header);
      out.push(h);
      cur = r.height === 0 ? null : h.prevHash;
    }
    return out.reverse();
  }

  /**
   * Validates and stores a block; it joins the main chain if its branch has the most work (reorganising if
   * needed). An invalid block throws a ValidationError naming the rule; a block whose parent is unknown throws
   * rule "orphan". `from` says where the block came from ("miner", "peer HOST:PORT", …) in the tip's log line.
   */
  acceptBlock(b: Block, from?: string): AcceptResult {
    const hash = blockHash(b.header);
    const existing = this.db.query<{ status: string; height: number }, [Uint8Array]>("SELECT status, height FROM blocks WHERE hash = ?").get(hash);
    if (existing) {
      if (existing.status === "invalid") throw new ValidationError("known-invalid", `block ${leToDisplayHex(hash)} was found invalid before`);
      return { status: "duplicate", hash, height: existing.height, disconnected: 0 };
    }
    const parent = this.db.query<BlockRow, [Uint8Array]>("SELECT * FROM blocks WHERE hash = ?").get(b.header.prevHash);
    if (!parent) throw new ValidationError("orphan", `parent ${leToDisplayHex(b.header.prevHash)} is unknown`);
    if (parent.status === "invalid") throw new ValidationError("invalid-parent", `parent ${leToDisplayHex(b.header.prevHash)} is invalid`);
    const height = parent.height + 1;

    checkBlockAlone(b, this.params);
    const cb = b.txs[0]!;
    if (cb.type === "coinbase" && cb.height !== height) throw new ValidationError("coinbase-height", `coinbase says ${cb.height}, block is at ${height}`);
    const bits = this.nextBitsAfter(parent.hash);
    if (b.header.bits !== bits) throw new ValidationError("bad-bits", `bits 0x${b.header.bits.toString(16)}, expected 0x${bits.toString(16)}`);
    let work: bigint;
    if (this.params.consensus === "sync") {
      const claim = this.checkSyncClaim(b, hash, height, parent.hash);
      work = BigInt("0x" + parent.work) + SYNC_BLOCK_WORK - BigInt(claim.slot);
    } else {
      if (b.sig) throw new ValidationError("unexpected-signature", "a proof-of-work block carries no producer signature");
      const mtp = this.medianTimePast(parent.hash);
      if (b.header.time <= mtp) throw new ValidationError("time-too-old", `time ${b.header.time} <= median time past ${mtp}`);
      if (b.header.time > this.now() + this.params.maxFutureSeconds) throw new ValidationError("time-too-new", `time ${b.header.time} is more than ${this.params.maxFutureSeconds} s ahead`);
      const target = bitsToTarget(bits);
      const pow = leToBigInt(this.opts.powHash(encodeHeader(b.header)));
      if (pow > target) throw new ValidationError("high-hash", "proof of work does not meet the target");
      work = BigInt("0x" + parent.work) + workForTarget(target);
    }

    const tip = this.tip();
    // Equal work: proof-of-sync prefers the lower block hash (every node picks the same); proof of work keeps the first seen.
    const loses = work < tip.work || (work === tip.work && !(this.params.consensus === "sync" && Buffer.compare(hash, tip.hash) < 0));
    let result: AcceptResult;
    try {
      result = this.db.transaction((): AcceptResult => {
        this.insertBlock(hash, height, b, work, "side");
        if (loses) return { status: "side", hash, height, disconnected: 0 };
        const disconnected = this.switchTo(hash);
        return { status: disconnected > 0 ? "reorg" : "connected", hash, height, disconnected };
      })();
    } catch (e) {
      if (e instanceof ValidationError && e.rule !== "orphan") {
        // The branch failed when applied to the state: remember the block as invalid (outside the rolled-back
        // transaction) so it is never tried again.
        this.db.transaction(() => {
          this.insertBlock(hash, height, b, work, "invalid");
        })();
      }
      throw e;
    }
    this.tipCache = null;
    if (result.status !== "side") {
      // The one info line per block: who found it or sent it, and how long after the last one.
      const at = (this.opts.clockMs ?? Date.now)();
      this.opts.log?.info("chain.tip", {
        height: result.height,
        hash: leToDisplayHex(hash).slice(0, 16),
        txs: b.txs.length,
        from,
        since_last_s: this.lastTipAt === null ? undefined : Math.round(at - this.lastTipAt) / 1000,
        reorg_depth: result.disconnected || undefined,
      });
      this.lastTipAt = at;
      for (const l of this.listeners) l(this.tip(), result);
    }
    return result;
  }

  private insertBlock(hash: Uint8Array, height: number, b: Block, work: bigint, status: BlockRow["status"]): void {
    this.db
      .query("INSERT INTO blocks (hash, height, prev, header, body, work, status, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO UPDATE SET status = excluded.status")
      .run(hash, height, b.header.prevHash, encodeHeader(b.header), encodeBlock(b), workHex(work), status, Date.now());
  }

  /** Makes `hash` the tip: undoes main-chain blocks above the fork point, applies the branch. Returns blocks undone. */
  private switchTo(hash: Uint8Array): number {
    const branch: BlockRow[] = [];
    let cur = this.db.query<BlockRow, [Uint8Array]>("SELECT * FROM blocks WHERE hash = ?").get(hash)!;
    while (cur.status !== "main") {
      branch.push(cur);
      cur = this.db.query<BlockRow, [Uint8Array]>("SELECT * FROM blocks WHERE hash = ?").get(cur.prev)!;
    }
    const fork = cur.height;
    const tipHeight = this.tip().height;
    const back: Transfer[] = [];
    for (let h = tipHeight; h > fork; h--) back.push(...this.disconnect(this.hashAt(h)!, h));
    for (const row of branch.reverse()) this.connect(row.hash, row.height);
    // Transfers of abandoned blocks go back to the mempool when they still fit the new state.
    for (const t of back.reverse()) {
      try {
        this.addToMempool(t);
      } catch {
        /* mined on the new branch too, or no longer valid */
      }
    }
    this.pruneMempool();
    return tipHeight - fork;
  }

  private connect(hash: Uint8Array, height: number): void {
    const body = this.db.query<{ body: Uint8Array }, [Uint8Array]>("SELECT body FROM blocks WHERE hash = ?").get(hash)!.body;
    const b = decodeBlock(body);
    const sw = new StateWriter(this.db);
    let fees = 0n;
    for (const t of b.txs) {
      if (t.type !== "transfer") continue;
      const from = sw.get(t.from);
      if (t.nonce !== from.nonce) throw new ValidationError("bad-nonce", `transfer nonce ${t.nonce}, account expects ${from.nonce}`);
      if (from.balance < t.amount + t.fee) throw new ValidationError("insufficient-funds", `balance ${from.balance} < ${t.amount + t.fee}`, { available: from.balance, needed: t.amount + t.fee });
      sw.set(t.from, { balance: from.balance - t.amount - t.fee, nonce: from.nonce + 1n });
      const to = sw.get(t.to);
      sw.set(t.to, { balance: to.balance + t.amount, nonce: to.nonce });
      fees += t.fee;
    }
    const cb = b.txs[0]!;
    if (cb.type !== "coinbase") throw new ValidationError("coinbase-first", "no coinbase");
    const paid = cb.outputs.reduce((s, o) => s + o.amount, 0n);
    const due = rewardAt(this.params, height) + fees;
    if (paid !== due) throw new ValidationError("coinbase-amount", `coinbase pays ${paid}, reward + fees is ${due}`);
    for (const o of cb.outputs) {
      const a = sw.get(o.to);
      sw.set(o.to, { balance: a.balance + o.amount, nonce: a.nonce });
    }
    this.db.query("INSERT INTO undo (hash, data) VALUES (?, ?)").run(hash, sw.commit());
    this.db.query("INSERT INTO main_chain (height, hash) VALUES (?, ?)").run(height, hash);
    const idx = this.db.query("INSERT INTO txindex (txid, block, height, idx) VALUES (?, ?, ?, ?) ON CONFLICT(txid) DO NOTHING");
    const unpool = this.db.query("DELETE FROM mempool WHERE txid = ?");
    b.txs.forEach((t, i) => {
      const id = txId(t);
      idx.run(id, hash, height, i);
      unpool.run(id);
    });
    this.db.query("UPDATE blocks SET status = 'main' WHERE hash = ?").run(hash);
    this.tipCache = null;
  }

  private disconnect(hash: Uint8Array, height: number): Transfer[] {
    const undo = this.db.query<{ data: Uint8Array }, [Uint8Array]>("SELECT data FROM undo WHERE hash = ?").get(hash);
    if (!undo) throw new RignodeError("internal", `no undo record for main-chain block at ${height}`);
    applyUndo(this.db, undo.data);
    this.db.query("DELETE FROM undo WHERE hash = ?").run(hash);
    this.db.query("DELETE FROM main_chain WHERE height = ?").run(height);
    this.db.query("DELETE FROM txindex WHERE block = ?").run(hash);
    this.db.query("UPDATE blocks SET status = 'side' WHERE hash = ?").run(hash);
    this.tipCache = null;
    const b = decodeBlock(this.db.query<{ body: Uint8Array }, [Uint8Array]>("SELECT body FROM blocks WHERE hash = ?").get(hash)!.body);
    return b.txs.filter((t): t is Transfer => t.type === "transfer");
  }

  /** Validates a transfer against the tip state and the sender's pending transfers, and keeps it. Returns its id. */
  addToMempool(t: Transfer): Uint8Array {
    checkTransferAlone(t, this.params);
    const id = txId(t);
    if (this.db.query("SELECT 1 FROM mempool WHERE txid = ?").get(id)) throw new ValidationError("duplicate", "already in the mempool");
    if (this.txLocation(id)) throw new ValidationError("duplicate", "already in the chain");
    const count = (this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM mempool").get()?.n ?? 0);
    if (count >= (this.opts.mempoolLimit ?? 10_000)) throw new ValidationError("mempool-full", `the mempool holds ${count} transactions`);
    const acct = this.account(t.from);
    const pending = this.pendingOf(t.from);
    const expected = acct.nonce + BigInt(pending.length);
    if (t.nonce !== expected) throw new ValidationError("bad-nonce", `transfer nonce ${t.nonce}, next for this sender is ${expected}`);
    const committed = pending.reduce((s, p) => s + p.amount + p.fee, 0n);
    if (acct.balance - committed < t.amount + t.fee) throw new ValidationError("insufficient-funds", `available ${acct.balance - committed} < ${t.amount + t.fee}`, { available: acct.balance - committed, needed: t.amount + t.fee });
    this.db.query("INSERT INTO mempool (txid, raw, sender, nonce, fee, added) VALUES (?, ?, ?, ?, ?, ?)").run(id, encodeTx(t), t.from, Number(t.nonce), t.fee.toString(), Date.now());
    return id;
  }

  private pendingOf(sender: Uint8Array): Transfer[] {
    return this.db
      .query<{ raw: Uint8Array }, [Uint8Array]>("SELECT raw FROM mempool WHERE sender = ? ORDER BY nonce")
      .all(sender)
      .map((r) => decodeTx(r.raw) as Transfer);
  }

  /** Drops pending transfers whose nonce the chain has already used. */
  private pruneMempool(): void {
    for (const r of this.db.query<{ txid: Uint8Array; sender: Uint8Array; nonce: number }, []>("SELECT txid, sender, nonce FROM mempool").all()) {
      if (BigInt(r.nonce) < this.account(r.sender).nonce) this.db.query("DELETE FROM mempool WHERE txid = ?").run(r.txid);
    }
  }

  /** A pending transfer by id, without decoding the rest of the mempool. */
  mempoolTx(id: Uint8Array): Transfer | null {
    const r = this.db.query<{ raw: Uint8Array }, [Uint8Array]>("SELECT raw FROM mempool WHERE txid = ?").get(id);
    return r ? (decodeTx(r.raw) as Transfer) : null;
  }

  /** Pending transfers, oldest first. */
  mempool(): Transfer[] {
    return this.db.query<{ raw: Uint8Array }, []>("SELECT raw FROM mempool ORDER BY added, nonce").all().map((r) => decodeTx(r.raw) as Transfer);
  }

  /**
   * The proof-of-sync rules for a block on `parent`: its claim (coinbase memo, header nonce = slot, header time =
   * the ms time in seconds), the producer holding that slot for this branch, the slot's time come, not from the
   * future, and the producer's signature.
   */
  private checkSyncClaim(b: Block, hash: Uint8Array, height: number, parent: Uint8Array): SyncClaim {
    const rules = this.opts.producers;
    if (!rules) throw new RignodeError("config", "a proof-of-sync network needs its producer rules");
    const claim = this.claimOf(b);
    if (!claim) throw new ValidationError("bad-claim", "a proof-of-sync block names its producer and time in the coinbase memo (sync1:PRODUCER:MS)");
    if (b.header.time !== Math.floor(claim.timeMs / 1000)) throw new ValidationError("bad-claim", `header time ${b.header.time} is not the claim's ${claim.timeMs} ms`);
    const p = this.syncInfo(parent);
    const w = rules.winners(parent, height, this.recentSync(parent, rules.memory));
    if (claim.slot >= w.length) throw new ValidationError("bad-slot", `slot ${claim.slot} does not exist (${w.length} slots)`);
    if (w[claim.slot] !== claim.producer) throw new ValidationError("wrong-producer", `slot ${claim.slot} of height ${height} is not ${claim.producer.slice(0, 16)}'s`);
    const opens = p.timeMs + claim.slot * rules.slotMs;
    if (claim.timeMs < opens) throw new ValidationError("slot-not-open", `slot ${claim.slot} opens at ${opens} ms, block stamped ${claim.timeMs}`);
    if (claim.timeMs > (this.now() + 2) * 1000) throw new ValidationError("time-too-new", `block stamped ${claim.timeMs} ms, ahead of this node's clock`);
    if (!b.sig || !verifySignature(Buffer.from(claim.producer, "hex"), sealBytes(this.params.chainId, hash), b.sig)) {
      throw new ValidationError("bad-signature", "the block is not signed by its producer");
    }
    this.syncCache.set(hex(hash), { prev: hex(parent), primary: w[0]!, slot: claim.slot, timeMs: claim.timeMs });
    return claim;
  }

  /** A block's proof-of-sync claim, or null when its coinbase memo holds none. */
  claimOf(b: Block): SyncClaim | null {
    const cb = b.txs[0];
    const m = cb?.type === "coinbase" ? SYNC_MEMO.exec(cb.memo) : null;
    return m ? { producer: m[1]!, slot: b.header.nonce, timeMs: Number(m[2]) } : null;
  }

  private readonly syncCache = new Map<string, { prev: string; primary: string; slot: number; timeMs: number }>();

  /** Primary, slot and ms time of a stored block (genesis: no primary, its time in ms), computed once per block. */
  private syncInfo(hash: Uint8Array): { prev: string; primary: string; slot: number; timeMs: number } {
    const key = hex(hash);
    const hit = this.syncCache.get(key);
    if (hit) return hit;
    // Walk back to a known block, then fill forward: each primary needs the branch before it.
    const todo: { hash: Uint8Array; block: Block; height: number }[] = [];
    let cur: Uint8Array = hash;
    for (;;) {
      const r = this.db.query<{ body: Uint8Array; height: number }, [Uint8Array]>("SELECT body, height FROM blocks WHERE hash = ?").get(cur);
      if (!r) throw new RignodeError("internal", `block ${leToDisplayHex(cur)} is not stored`);
      const block = decodeBlock(r.body);
      if (r.height === 0) {
        this.syncCache.set(hex(cur), { prev: "", primary: "", slot: 0, timeMs: block.header.time * 1000 });
        break;
      }
      todo.push({ hash: cur, block, height: r.height });
      if (this.syncCache.has(hex(block.header.prevHash))) break;
      cur = block.header.prevHash;
    }
    const rules = this.opts.producers!;
    for (let i = todo.length - 1; i >= 0; i--) {
      const t = todo[i]!;
      const claim = this.claimOf(t.block)!;
      const w = rules.winners(t.block.header.prevHash, t.height, this.recentSync(t.block.header.prevHash, rules.memory));
      this.syncCache.set(hex(t.hash), { prev: hex(t.block.header.prevHash), primary: w[0] ?? "", slot: claim.slot, timeMs: claim.timeMs });
    }
    return this.syncCache.get(key)!;
  }

  /** The last `n` blocks of the branch ending at `hash` (genesis excluded), oldest first: primary and slot. */
  recentSync(hash: Uint8Array, n: number): { primary: string; slot: number }[] {
    const out: { primary: string; slot: number }[] = [];
    let info = this.syncInfo(hash);
    while (info.prev && out.length < n) {
      out.push({ primary: info.primary, slot: info.slot });
      info = this.syncCache.get(info.prev) ?? this.syncInfo(Buffer.from(info.prev, "hex"));
    }
    return out.reverse();
  }

  /** proof-of-sync: the producers of the height after `parent` (slot 0 first) and the parent's ms time. */
  syncWinners(parent: Uint8Array): { winners: string[]; pool: string[]; parentTimeMs: number; height: number } {
    const rules = this.opts.producers;
    if (!rules) throw new RignodeError("config", "not a proof-of-sync chain");
    const height = this.db.query<{ height: number }, [Uint8Array]>("SELECT height FROM blocks WHERE hash = ?").get(parent)!.height + 1;
    const recent = this.recentSync(parent, rules.memory);
    return { winners: rules.winners(parent, height, recent), pool: rules.pool(recent), parentTimeMs: this.syncInfo(parent).timeMs, height };
  }

  /**
   * A block to mine on the tip: pending transfers that apply in order (highest fee first, each sender's nonces in
   * sequence), a coinbase whose outputs `payout` makes from reward + fees, header nonce 0.
   */
  template(payout: (total: bigint) => CoinbaseOutput[], extranonce: Uint8Array, memo = ""): Block {
    const tip = this.tip();
    const height = tip.height + 1;
    const chosen: Transfer[] = [];
    const taken = new Set<Transfer>();
    const sim = new Map<string, Account>();
    const acct = (a: Uint8Array) => sim.get(hex(a)) ?? this.account(a);
    let size = 200 + memo.length + this.params.maxCoinbaseOutputs * 50;
    let fees = 0n;
    let pool = this.mempool().sort((a, b) => (b.fee > a.fee ? 1 : b.fee < a.fee ? -1 : 0));
    for (let progress = true; progress; ) {
      progress = false;
      for (const t of pool) {
        const from = acct(t.from);
        if (t.nonce !== from.nonce || from.balance < t.amount + t.fee) continue;
        const bytes = encodeTx(t).length + 5;
        if (size + bytes > this.params.maxBlockBytes) continue;
        sim.set(hex(t.from), { balance: from.balance - t.amount - t.fee, nonce: from.nonce + 1n });
        const to = acct(t.to);
        sim.set(hex(t.to), { balance: to.balance + t.amount, nonce: to.nonce });
        chosen.push(t);
        taken.add(t);
        fees += t.fee;
        size += bytes;
        progress = true;
      }
      pool = pool.filter((t) => !taken.has(t)); // a Set: a full mempool must not cost O(n^2) per template
    }
    const coinbase = { type: "coinbase" as const, height, outputs: payout(rewardAt(this.params, height) + fees), extranonce, memo };
    const txs = [coinbase, ...chosen];
    const time = Math.max(this.now(), this.medianTimePast(tip.hash) + 1);
    const header: Header = { version: 1, prevHash: tip.hash, merkleRoot: merkleRoot(txs.map((t) => txId(t))), time, bits: this.nextBitsAfter(tip.hash), nonce: 0 };
    return { header, txs };
  }
}

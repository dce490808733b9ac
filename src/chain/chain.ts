import { leToBigInt, leToDisplayHex, RignodeError, type Logger, type ProducerRules } from "../core";
import type { Store } from "../store";
import { blockHash, decodeBlock, encodeBlock, merkleRoot, type Block } from "./block";
import { bitsToTarget, encodeHeader, workForTarget, type Header } from "./header";
import { rewardAt, type NetworkParams } from "./params";
import { applyUndo, StateWriter } from "./state";
import { EXTRANONCE_BYTES, txId, type CoinbaseOutput, type Transfer } from "./tx";
import { ChainIndex, type BlockRow, type Tip } from "./chain-index";
import { checkBlockAlone, ValidationError } from "./validate";
import { Mempool } from "./mempool";
import { claimOf, SyncClaims, type SyncClaim } from "./sync-claims";
import { buildTemplate } from "./template";

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

/** Work of one proof-of-sync block: most blocks first, then fewer backup slots (slots are 0..6). */
const SYNC_BLOCK_WORK = 1n << 20n;

export interface AcceptResult {
  status: "connected" | "reorg" | "side" | "duplicate";
  hash: Uint8Array;
  height: number;
  /** Blocks taken off the main chain by a reorganisation. */
  disconnected: number;
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
export class Chain extends ChainIndex {
  private readonly listeners: ((tip: Tip, result: AcceptResult) => void)[] = [];
  /** When this process last saw the tip change (ms), for `since_last_s` in the log. */
  private lastTipAt: number | null = null;

  private readonly pool: Mempool;
  private readonly sync: SyncClaims | null;

  constructor(private readonly opts: ChainOptions) {
    super(opts.params, opts.store.db, opts.now ?? (() => Math.floor(Date.now() / 1000)), opts.powHash);
    this.pool = new Mempool(this.db, this.params, { account: (a) => this.account(a), isMined: (id) => this.txLocation(id) !== null }, opts.mempoolLimit);
    this.sync = opts.producers ? new SyncClaims(this.db, this.params, opts.producers, this.now) : null;
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

  /** Called after every change of the main chain's tip. */
  onTip(fn: (tip: Tip, result: AcceptResult) => void): void {
    this.listeners.push(fn);
  }

  /** The nonce a sender's next transfer must carry, counting its transfers already in the mempool. */
  nextNonce(address: Uint8Array): bigint {
    return this.pool.nextNonce(address);
  }

  /** Number of transactions waiting in the mempool. */
  mempoolSize(): number {
    return this.pool.size();
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
      if (!this.sync) throw new RignodeError("config", "a proof-of-sync network needs its producer rules");
      const claim = this.sync.check(b, hash, height, parent.hash);
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
        this.pool.add(t);
      } catch {
        /* mined on the new branch too, or no longer valid */
      }
    }
    this.pool.prune();
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
    return this.pool.add(t);
  }

  /** A pending transfer by id. */
  mempoolTx(id: Uint8Array): Transfer | null {
    return this.pool.get(id);
  }

  /** Pending transfers, oldest first. */
  mempool(): Transfer[] {
    return this.pool.all();
  }

  /** A block's proof-of-sync claim, or null when its coinbase memo holds none. */
  claimOf(b: Block): SyncClaim | null {
    return claimOf(b);
  }

  /** proof-of-sync: the last `n` blocks of the branch ending at `hash`: primary and slot, oldest first. */
  recentSync(hash: Uint8Array, n: number): { primary: string; slot: number }[] {
    return this.syncRules().recent(hash, n);
  }

  /** proof-of-sync: the producers of the height after `parent` (slot 0 first) and the parent's ms time. */
  syncWinners(parent: Uint8Array): { winners: string[]; pool: string[]; parentTimeMs: number; height: number } {
    return this.syncRules().winners(parent);
  }

  private syncRules(): SyncClaims {
    if (!this.sync) throw new RignodeError("config", "not a proof-of-sync chain");
    return this.sync;
  }

  /** A block to mine on the tip (see buildTemplate). */
  template(payout: (total: bigint) => CoinbaseOutput[], extranonce: Uint8Array, memo = ""): Block {
    return buildTemplate(
      { params: this.params, tip: () => this.tip(), account: (a) => this.account(a), pending: () => this.pool.all(), medianTimePast: (p) => this.medianTimePast(p), nextBitsAfter: (p) => this.nextBitsAfter(p), now: this.now },
      payout,
      extranonce,
      memo,
    );
  }
}

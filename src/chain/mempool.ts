import type { Database } from "bun:sqlite";
import type { Account } from "./state";
import type { NetworkParams } from "./params";
import { decodeTx, encodeTx, txId, type Transfer } from "./tx";
import { checkTransferAlone, ValidationError } from "./validate";

/** What the mempool reads of the chain: accounts at the tip, and where a transaction was mined. */
export interface MempoolView {
  account(address: Uint8Array): Account;
  isMined(id: Uint8Array): boolean;
}

/**
 * Transfers waiting for a block, in the chain's SQLite file (the `mempool` table): each checked against the tip's
 * state and the sender's pending transfers when it arrives, dropped when the chain uses its nonce.
 */
export class Mempool {
  constructor(
    private readonly db: Database,
    private readonly params: NetworkParams,
    private readonly view: MempoolView,
    /** Most transactions it holds. */
    private readonly limit = 10_000,
  ) {}

  /** Validates a transfer against the tip state and the sender's pending transfers, and keeps it. Returns its id. */
  add(t: Transfer): Uint8Array {
    checkTransferAlone(t, this.params);
    const id = txId(t);
    if (this.db.query("SELECT 1 FROM mempool WHERE txid = ?").get(id)) throw new ValidationError("duplicate", "already in the mempool");
    if (this.view.isMined(id)) throw new ValidationError("duplicate", "already in the chain");
    const count = this.size();
    if (count >= this.limit) throw new ValidationError("mempool-full", `the mempool holds ${count} transactions`);
    const acct = this.view.account(t.from);
    const pending = this.pendingOf(t.from);
    const expected = acct.nonce + BigInt(pending.length);
    if (t.nonce !== expected) throw new ValidationError("bad-nonce", `transfer nonce ${t.nonce}, next for this sender is ${expected}`);
    const committed = pending.reduce((s, p) => s + p.amount + p.fee, 0n);
    if (acct.balance - committed < t.amount + t.fee) throw new ValidationError("insufficient-funds", `available ${acct.balance - committed} < ${t.amount + t.fee}`, { available: acct.balance - committed, needed: t.amount + t.fee });
    this.db.query("INSERT INTO mempool (txid, raw, sender, nonce, fee, added) VALUES (?, ?, ?, ?, ?, ?)").run(id, encodeTx(t), t.from, Number(t.nonce), t.fee.toString(), Date.now());
    return id;
  }

  /** A sender's pending transfers, in nonce order. */
  pendingOf(sender: Uint8Array): Transfer[] {
    return this.db
      .query<{ raw: Uint8Array }, [Uint8Array]>("SELECT raw FROM mempool WHERE sender = ? ORDER BY nonce")
      .all(sender)
      .map((r) => decodeTx(r.raw) as Transfer);
  }

  /** The nonce a sender's next transfer must carry, counting its transfers already waiting. */
  nextNonce(address: Uint8Array): bigint {
    return this.view.account(address).nonce + BigInt(this.pendingOf(address).length);
  }

  /** Drops pending transfers whose nonce the chain has already used. */
  prune(): void {
    for (const r of this.db.query<{ txid: Uint8Array; sender: Uint8Array; nonce: number }, []>("SELECT txid, sender, nonce FROM mempool").all()) {
      if (BigInt(r.nonce) < this.view.account(r.sender).nonce) this.db.query("DELETE FROM mempool WHERE txid = ?").run(r.txid);
    }
  }

  /** A pending transfer by id, without decoding the rest. */
  get(id: Uint8Array): Transfer | null {
    const r = this.db.query<{ raw: Uint8Array }, [Uint8Array]>("SELECT raw FROM mempool WHERE txid = ?").get(id);
    return r ? (decodeTx(r.raw) as Transfer) : null;
  }

  /** Pending transfers, oldest first. */
  all(): Transfer[] {
    return this.db.query<{ raw: Uint8Array }, []>("SELECT raw FROM mempool ORDER BY added, nonce").all().map((r) => decodeTx(r.raw) as Transfer);
  }

  /** Number of transfers waiting. */
  size(): number {
    return this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM mempool").get()?.n ?? 0;
  }
}

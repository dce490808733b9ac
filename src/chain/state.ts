import type { Database } from "bun:sqlite";
import { decode, encode, type Value } from "../core";

/** An account's balance (base units) and the nonce its next transfer must carry. */
export interface Account {
  balance: bigint;
  nonce: bigint;
}

const ZERO: Account = { balance: 0n, nonce: 0n };

/**
 * Reads and writes of account state within one block's application, remembering each account's state before
 * its first change so that the block can be undone exactly.
 */
export class StateWriter {
  private readonly before = new Map<string, { address: Uint8Array; prev: Account | null }>();
  private readonly current = new Map<string, Account>();

  constructor(private readonly db: Database) {}

  /** The account as this block has left it so far. */
  get(address: Uint8Array): Account {
    const k = key(address);
    const c = this.current.get(k);
    if (c) return c;
    const stored = readAccount(this.db, address);
    if (!this.before.has(k)) this.before.set(k, { address, prev: stored });
    return stored ?? ZERO;
  }

  set(address: Uint8Array, a: Account): void {
    this.get(address);
    this.current.set(key(address), a);
  }

  /** Writes every changed account; returns the undo record. */
  commit(): Uint8Array {
    const put = this.db.query("INSERT INTO accounts (address, balance, nonce) VALUES (?, ?, ?) ON CONFLICT(address) DO UPDATE SET balance = excluded.balance, nonce = excluded.nonce");
    for (const [k, a] of this.current) put.run(this.before.get(k)!.address, a.balance.toString(), Number(a.nonce));
    const undo: Value[] = [...this.before.values()].map((b) => [b.address, b.prev ? [b.prev.balance, b.prev.nonce] : null]);
    return encode(undo);
  }
}

/** Puts every account an undo record names back as it was. */
export function applyUndo(db: Database, undo: Uint8Array): void {
  const rows = decode(undo) as [Uint8Array, [number | bigint, number | bigint] | null][];
  const put = db.query("INSERT INTO accounts (address, balance, nonce) VALUES (?, ?, ?) ON CONFLICT(address) DO UPDATE SET balance = excluded.balance, nonce = excluded.nonce");
  const del = db.query("DELETE FROM accounts WHERE address = ?");
  for (const [address, prev] of rows) {
    if (prev) put.run(address, BigInt(prev[0]).toString(), Number(prev[1]));
    else del.run(address);
  }
}

/** The stored account, or null if it never received anything. */
export function readAccount(db: Database, address: Uint8Array): Account | null {
  const r = db.query<{ balance: string; nonce: number }, [Uint8Array]>("SELECT balance, nonce FROM accounts WHERE address = ?").get(address);
  return r ? { balance: BigInt(r.balance), nonce: BigInt(r.nonce) } : null;
}

function key(a: Uint8Array): string {
  return Buffer.from(a).toString("hex");
}

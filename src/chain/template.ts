import type { Block } from "./block";
import { merkleRoot } from "./block";
import type { Header } from "./header";
import { rewardAt, type NetworkParams } from "./params";
import type { Account } from "./state";
import { encodeTx, txId, type CoinbaseOutput, type Transfer } from "./tx";

/** What a template reads of the chain. */
export interface TemplateView {
  params: NetworkParams;
  tip(): { height: number; hash: Uint8Array };
  account(address: Uint8Array): Account;
  /** Pending transfers, oldest first. */
  pending(): Transfer[];
  medianTimePast(parent: Uint8Array): number;
  nextBitsAfter(parent: Uint8Array): number;
  /** Seconds since the epoch. */
  now(): number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/**
 * A block to mine on the tip: pending transfers that apply in order (highest fee first, each sender's nonces in
 * sequence) within the block size, a coinbase whose outputs `payout` makes from reward + fees, header nonce 0.
 */
export function buildTemplate(c: TemplateView, payout: (total: bigint) => CoinbaseOutput[], extranonce: Uint8Array, memo = ""): Block {
  const tip = c.tip();
  const height = tip.height + 1;
  const chosen: Transfer[] = [];
  const taken = new Set<Transfer>();
  const sim = new Map<string, Account>();
  const acct = (a: Uint8Array) => sim.get(hex(a)) ?? c.account(a);
  let size = 200 + memo.length + c.params.maxCoinbaseOutputs * 50;
  let fees = 0n;
  let pool = c.pending().sort((a, b) => (b.fee > a.fee ? 1 : b.fee < a.fee ? -1 : 0));
  for (let progress = true; progress; ) {
    progress = false;
    for (const t of pool) {
      const from = acct(t.from);
      if (t.nonce !== from.nonce || from.balance < t.amount + t.fee) continue;
      const bytes = encodeTx(t).length + 5;
      if (size + bytes > c.params.maxBlockBytes) continue;
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
  const coinbase = { type: "coinbase" as const, height, outputs: payout(rewardAt(c.params, height) + fees), extranonce, memo };
  const txs = [coinbase, ...chosen];
  const time = Math.max(c.now(), c.medianTimePast(tip.hash) + 1);
  const header: Header = { version: 1, prevHash: tip.hash, merkleRoot: merkleRoot(txs.map((t) => txId(t))), time, bits: c.nextBitsAfter(tip.hash), nonce: 0 };
  return { header, txs };
}

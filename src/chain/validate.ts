import { RignodeError } from "../core";
import { encodeBlock, merkleRoot, type Block } from "./block";
import { verifyTransfer, txId, type Transfer } from "./tx";
import type { NetworkParams } from "./params";

/** Why a block or transaction was refused: one code per rule, with the detail for the log and its numbers for programs. */
export class ValidationError extends RignodeError {
  constructor(
    readonly rule: string,
    detail: string,
    facts: Record<string, bigint> = {},
  ) {
    super("input", `${rule}: ${detail}`, { details: { rule, ...Object.fromEntries(Object.entries(facts).map(([k, v]) => [k, v.toString()])) } });
  }
}

/** Checks that need nothing but the block and the network: sizes, structure, merkle root, signatures. */
export function checkBlockAlone(b: Block, p: NetworkParams): void {
  const size = encodeBlock(b).length;
  if (size > p.maxBlockBytes) throw new ValidationError("block-size", `${size} bytes > ${p.maxBlockBytes}`);
  if (b.txs.length === 0 || b.txs[0]!.type !== "coinbase") throw new ValidationError("coinbase-first", "the first transaction must be the coinbase");
  if (b.txs.slice(1).some((t) => t.type === "coinbase")) throw new ValidationError("coinbase-one", "only the first transaction may be a coinbase");
  const cb = b.txs[0]!;
  if (cb.type === "coinbase") {
    if (cb.outputs.length > p.maxCoinbaseOutputs) throw new ValidationError("coinbase-outputs", `${cb.outputs.length} outputs > ${p.maxCoinbaseOutputs}`);
    const min = BigInt(p.minOutput);
    for (const o of cb.outputs) if (o.amount < min) throw new ValidationError("dust", `coinbase output of ${o.amount} < ${min}`);
  }
  const ids = b.txs.map((t) => txId(t));
  const seen = new Set<string>();
  for (const id of ids) {
    const k = Buffer.from(id).toString("hex");
    if (seen.has(k)) throw new ValidationError("duplicate-tx", `transaction ${k} appears twice`);
    seen.add(k);
  }
  const root = merkleRoot(ids);
  if (!root.every((x, i) => x === b.header.merkleRoot[i])) throw new ValidationError("merkle-root", "header merkle root does not match the transactions");
  for (const t of b.txs) if (t.type === "transfer") checkTransferAlone(t, p);
}

/** A transfer on its own: amounts and the sender's signature. */
export function checkTransferAlone(t: Transfer, p: NetworkParams): void {
  if (t.amount < BigInt(p.minOutput)) throw new ValidationError("dust", `transfer of ${t.amount} < ${p.minOutput}`);
  if (t.amount + t.fee >= 1n << 63n) throw new ValidationError("amount-range", "amount + fee out of range");
  if (!verifyTransfer(t, p.chainId)) throw new ValidationError("bad-signature", "the signature is not the sender's for this chain");
}

import type { Hono } from "hono";
import { z } from "zod";
import { jsonBody } from "./body";
import { fromHex, leToDisplayHex, displayHexToLe, RignodeError, toHex } from "../core";
import { decodeAddress, decodeTx, encodeAddress, txId, type Block, type Chain, type Tx } from "../chain";

export interface ChainRouteDeps {
  chain: Chain;
  /** Called with a transfer accepted into the mempool (the node relays it). */
  onTx?: (id: Uint8Array) => void;
  /** The node's own address (what it mines to, or the pool's fee address), or null when it has none. */
  wallet?: () => Uint8Array | null;
}

/** JSON view of a transaction: amounts as decimal strings (never floats), keys as addresses. */
export function txJson(t: Tx, version: number): Record<string, unknown> {
  const id = leToDisplayHex(txId(t));
  if (t.type === "coinbase") {
    return { id, type: "coinbase", height: t.height, outputs: t.outputs.map((o) => ({ to: encodeAddress(o.to, version), amount: o.amount.toString() })), extranonce: toHex(t.extranonce), memo: t.memo };
  }
  return { id, type: "transfer", from: encodeAddress(t.from, version), to: encodeAddress(t.to, version), amount: t.amount.toString(), fee: t.fee.toString(), nonce: t.nonce.toString() };
}

function blockJson(b: Block, height: number, status: string, version: number): Record<string, unknown> {
  const h = b.header;
  return {
    height,
    status,
    version: h.version,
    prev: leToDisplayHex(h.prevHash),
    merkle_root: leToDisplayHex(h.merkleRoot),
    time: h.time,
    bits: h.bits.toString(16).padStart(8, "0"),
    nonce: h.nonce,
    txs: b.txs.map((t) => txJson(t, version)),
  };
}

const postTx = z.object({ raw: z.string().regex(/^[0-9a-fA-F]+$/, "hex").max(4000) }).strict();

/** Chain routes: tip, blocks, transactions, balances, and transfer submission. */
export function chainRoutes(app: Hono, deps: ChainRouteDeps): void {
  const { chain } = deps;
  const version = chain.params.addressVersion;
  app.get("/api/chain/tip", (c) => {
    const t = chain.tip();
    return c.json({ height: t.height, hash: leToDisplayHex(t.hash), work: t.work.toString(), time: t.header.time, bits: t.header.bits.toString(16).padStart(8, "0"), network: chain.params.name, decimals: chain.params.coinDecimals });
  });
  // The newest blocks of the main chain, newest first: what a block list shows (the full block is /api/chain/block/:id).
  app.get("/api/chain/blocks", (c) => {
    const limit = Math.min(100, Math.max(1, Number(c.req.query("limit") ?? 10) || 10));
    const tip = chain.tip().height;
    const blocks = [];
    for (let h = tip; h >= 0 && h > tip - limit; h--) {
      const hash = chain.hashAt(h);
      const found = hash ? chain.block(hash) : null;
      if (!found) continue;
      const cb = found.block.txs[0];
      const reward = cb?.type === "coinbase" ? cb.outputs.reduce((a, o) => a + o.amount, 0n) : 0n;
      // On a proof-of-sync chain: who produced it, from which slot (0 = the height's primary).
      const claim = chain.claimOf(found.block);
      blocks.push({ height: h, hash: leToDisplayHex(hash!), time: found.block.header.time, txs: found.block.txs.length, reward: reward.toString(), producer: claim?.producer ?? null, slot: claim?.slot ?? null });
    }
    return c.json({ blocks });
  });
  app.get("/api/chain/block/:id", (c) => {
    const id = c.req.param("id");
    const hash = /^\d{1,10}$/.test(id) ? chain.hashAt(Number(id)) : displayHexToLe(id, "block hash");
    const found = hash ? chain.block(hash) : null;
    if (!found) return c.json({ error: "not_found", message: `no block ${id}` }, 404);
    return c.json({ hash: leToDisplayHex(hash!), ...blockJson(found.block, found.height, found.status, version) });
  });
  app.get("/api/chain/tx/:id", (c) => {
    const id = displayHexToLe(c.req.param("id"), "transaction id");
    const loc = chain.txLocation(id);
    if (loc) {
      const t = chain.block(loc.block)!.block.txs[loc.index]!;
      return c.json({ ...txJson(t, version), block: leToDisplayHex(loc.block), height: loc.height, confirmations: chain.tip().height - loc.height + 1 });
    }
    const pending = chain.mempoolTx(id);
    if (pending) return c.json({ ...txJson(pending, version), block: null, confirmations: 0 });
    return c.json({ error: "not_found", message: `no transaction ${c.req.param("id")}` }, 404);
  });
  app.get("/api/balance/:address", (c) => {
    const key = decodeAddress(c.req.param("address"), version);
    const a = chain.account(key);
    return c.json({ address: c.req.param("address"), balance: a.balance.toString(), nonce: a.nonce.toString(), next_nonce: chain.nextNonce(key).toString(), decimals: chain.params.coinDecimals });
  });
  app.get("/api/wallet", (c) => {
    const key = deps.wallet?.() ?? null;
    if (!key) return c.json({ error: "not_found", message: "this node has no address of its own (no --address, no wallet: 'rignode wallet new')" }, 404);
    const a = chain.account(key);
    return c.json({ address: encodeAddress(key, version), balance: a.balance.toString(), decimals: chain.params.coinDecimals });
  });
  app.post("/api/tx", async (c) => {
    const p = { data: await jsonBody(c, postTx, '{"raw": "<transaction hex>"}') };
    const tx = decodeTx(fromHex(p.data.raw));
    if (tx.type !== "transfer") throw new RignodeError("input", "only transfers can be submitted");
    const id = chain.addToMempool(tx);
    deps.onTx?.(id);
    return c.json({ id: leToDisplayHex(id), status: "pending" }, 202);
  });
}

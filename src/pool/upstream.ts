// A bitcoind-compatible daemon (litecoind, bitcoind) as the pool's work source: getblocktemplate with longpoll and
// a fast poll of the best block hash, the assembled block checked in proposal mode before miners hash on it,
// submitblock for found blocks, and a clear status while the daemon is away.
import { RignodeError, leToDisplayHex, toHex, type Algo, type Logger } from "../core";
import { blockHash, coinbaseRoot, encodeHeader, type Header } from "../chain";
import {
  addressToScript, buildCoinbase, coinbaseBytesBound, COIN_EXTRANONCE, COIN_NETWORKS, encodeSegwit, parseTemplate, scriptToAddress, serializeBlock, templateBranch, templateToGbt,
  type CoinNetwork, type CoinTemplate,
} from "./coin";
import type { PayoutOutput, SubmitResult, Work, WorkEvent, WorkSource } from "./source";
import { RunAgain } from "./rerun";
import { RpcClient, RpcError } from "./rpc";
import { OrphanHold, type Attempt } from "./orphan-hold";

export interface UpstreamOptions {
  url: string;
  /** Algorithm of the daemon's chain; auto: scrypt for Litecoin, sha256d otherwise. */
  algo: Algo | "auto";
  /** Address of the 1% foundation fee on this coin; empty on regtest: a fixed regtest key hash. */
  foundationAddress: string;
  log: Logger;
  /** Best-block-hash poll, ms (longpoll answers first when the daemon supports it). */
  pollMs?: number;
  /** Full template refresh (new transactions), ms; jobs pick it up at their next refresh. */
  templateMs?: number;
  minOutput?: bigint;
  maxOutputs?: number;
}

/** The regtest foundation program: the first 20 bytes of sha256("rignode devnet foundation"). */
function regtestFoundation(net: CoinNetwork): string {
  const program = new Uint8Array(new Bun.CryptoHasher("sha256").update("rignode devnet foundation").digest()).subarray(0, 20);
  return encodeSegwit(net.hrp, 0, program);
}

const NOT_YET = "no template from the upstream yet";
/** submitblock's answer (BIP22) for a block whose previous block the daemon does not have. */
const PARENT_UNKNOWN = "prev-blk-not-found";

/** The upstream daemon as a work source. */
export class UpstreamSource implements WorkSource {
  readonly kind = "upstream";
  readonly rpc: RpcClient;
  algo: Algo = "sha256d";
  net: CoinNetwork = COIN_NETWORKS["bitcoin-regtest"]!;
  foundation = "";
  readonly minOutput: bigint;
  readonly maxOutputs: number;
  readonly maxCoinbaseBytes: number;
  private coin = "bitcoin";
  private chainName = "";
  private rules: string[] = ["segwit"];
  private tmpl: CoinTemplate | null = null;
  private readonly listeners: ((e: WorkEvent) => void)[] = [];
  private up = false;
  private downSince: number | null = null;
  private lastError: string | null = null;
  private readonly fetcher = new RunAgain<void>(() => this.fetchOnce(), undefined, () => !this.stopped);
  /** The daemon came back: the next template is clean work whether or not its tip moved. */
  private freshOwed = false;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly counts = { templates: 0, proposals_ok: 0, proposals_rejected: 0, blocks_submitted: 0, blocks_accepted: 0, blocks_held: 0, longpolls: 0, notifies: 0 };
  private lastRejection: string | null = null;
  /** When the current template was taken (ms since the epoch). */
  private tmplAt: number | null = null;
  /** Previous blocks (display hex) a block was submitted on, recent ones. */
  private readonly submitted = new Set<string>();
  /** Blocks whose parent the daemon lacks yet, tried again on its new tips; the tip they were last tried on. */
  private readonly held = new OrphanHold();
  private heldTip = "";

  constructor(private readonly o: UpstreamOptions) {
    this.rpc = new RpcClient(o.url);
    this.minOutput = o.minOutput ?? 10_000n;
    this.maxOutputs = o.maxOutputs ?? 200;
    this.maxCoinbaseBytes = coinbaseBytesBound(this.maxOutputs);
  }

  /** Learns the coin and chain from the daemon (it must answer now), then keeps a template current. */
  async start(): Promise<void> {
    let info: { chain: string };
    let net: { subversion: string };
    try {
      info = await this.rpc.call<{ chain: string }>("getblockchaininfo", [], 10_000);
      net = await this.rpc.call<{ subversion: string }>("getnetworkinfo", [], 10_000);
    } catch (e) {
      throw new RignodeError("unavailable", `upstream ${this.rpc.shown} did not answer: ${(e as Error).message}`);
    }
    this.coin = /litecoin/i.test(net.subversion) ? "litecoin" : "bitcoin";
    this.chainName = info.chain;
    const n = COIN_NETWORKS[`${this.coin}-${info.chain}`];
    if (!n) throw new RignodeError("config", `upstream chain '${this.coin} ${info.chain}' has no known address format`);
    this.net = n;
    this.algo = this.o.algo === "auto" ? (this.coin === "litecoin" ? "scrypt" : "sha256d") : this.o.algo;
    this.rules = this.coin === "litecoin" ? ["mweb", "segwit"] : ["segwit"];
    const fa = this.o.foundationAddress || (info.chain === "regtest" ? regtestFoundation(n) : "");
    if (!fa) throw new RignodeError("config", `the 1% foundation fee needs --foundation-address on ${this.coin} ${info.chain}`);
    this.foundation = toHex(addressToScript(fa, n));
    this.up = true;
    this.o.log.info("upstream.connected", { url: this.rpc.shown, coin: this.coin, chain: info.chain, algo: this.algo, version: net.subversion, foundation: fa });
    await this.fetchTemplate();
    this.timers.push(setInterval(() => void this.poll(), this.o.pollMs ?? 250));
    this.timers.push(setInterval(() => void this.fetchTemplate(), this.o.templateMs ?? 5000));
    void this.longpoll();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.abort.abort();
    this.held.drop("the pool stopped");
  }

  onWork(cb: (e: WorkEvent) => void): void {
    this.listeners.push(cb);
  }

  /** The daemon's -blocknotify (through the API): fetch the new template now. */
  notify(): void {
    this.counts.notifies++;
    void this.fetchTemplate();
  }

  private emit(e: WorkEvent): void {
    for (const l of this.listeners) l(e);
  }

  private markDown(e: unknown): void {
    const msg = (e as Error).message;
    this.lastError = msg;
    if (!this.up) return;
    this.up = false;
    this.downSince = Date.now();
    this.o.log.warn("upstream.down", { url: this.rpc.shown, error: msg, note: "serving the last job until the daemon is back" });
  }

  private markUp(): boolean {
    if (this.up) return false;
    this.up = true;
    this.o.log.info("upstream.up", { url: this.rpc.shown, down_ms: this.downSince ? Date.now() - this.downSince : 0 });
    this.downSince = null;
    return true;
  }

  /** Fetches a template; a new previous block (or the daemon coming back) is clean work for the miners. */
  private fetchTemplate(fresh = false): Promise<void> {
    if (fresh) this.freshOwed = true;
    return this.fetcher.ask();
  }

  /** One getblocktemplate; asks while it runs make one more after it. */
  private async fetchOnce(): Promise<void> {
    try {
      const t = parseTemplate(await this.rpc.call("getblocktemplate", [{ rules: this.rules }], 10_000));
      const back = this.markUp() || this.freshOwed;
      this.freshOwed = false;
      this.lastError = null;
      this.take(t, back);
    } catch (e) {
      this.markDown(e);
    }
  }

  private take(t: CoinTemplate, fresh: boolean): void {
    const old = this.tmpl;
    this.tmpl = t;
    this.newTip(t.prevHashHex);
    this.tmplAt = Date.now();
    // Back on a block the pool already built on (a reorganisation took its child away): mine on it again. Not when
    // the daemon only moved on to it: a block held for that parent is tried now, a second one would be a side branch.
    if (old && old.prevHashHex !== t.prevHashHex && t.height <= old.height) this.submitted.delete(t.prevHashHex);
    this.counts.templates++;
    if (!old || old.prevHashHex !== t.prevHashHex || fresh) this.emit({ clean: true });
  }

  private async poll(): Promise<void> {
    try {
      const best = await this.rpc.call<string>("getbestblockhash", [], 5_000);
      this.newTip(best);
      // Up again only once a template comes (a daemon in initial sync or without peers answers this but not that).
      if (!this.up || !this.tmpl || best !== this.tmpl.prevHashHex) await this.fetchTemplate();
    } catch (e) {
      this.markDown(e);
    }
  }

  /** getblocktemplate with the last longpollid: the daemon answers when its tip (or mempool) changes. */
  private async longpoll(): Promise<void> {
    while (!this.stopped) {
      const id = this.tmpl?.longpollId;
      if (!id || !this.up) {
        await Bun.sleep(500);
        continue;
      }
      try {
        const t = parseTemplate(await this.rpc.call("getblocktemplate", [{ rules: this.rules, longpollid: id }], 120_000, this.abort.signal));
        this.counts.longpolls++;
        if (this.tmpl && t.prevHashHex !== this.tmpl.prevHashHex) this.take(t, false);
      } catch (e) {
        if (this.stopped) return;
        this.markDown(e);
        await Bun.sleep(500);
      }
    }
  }

  /** The daemon's best block seen (by its hash poll or a template): held blocks are tried again on a new one. */
  private newTip(best: string): void {
    if (best === this.heldTip) return;
    this.heldTip = best;
    if (this.held.size) void this.held.tip();
  }

  work(plan: (total: bigint, bits: number) => PayoutOutput[], tag: string): Work {
    const t = this.tmpl;
    if (!t) throw new RignodeError("unavailable", NOT_YET);
    const outputs = plan(t.coinbaseValue, t.bits).map((o) => ({ script: o.to, amount: o.amount }));
    const { coinb1, coinb2 } = buildCoinbase(t, outputs, tag);
    const time = Math.max(t.curtime, t.mintime, Math.floor(Date.now() / 1000));
    const header: Header = { version: t.version, prevHash: t.prevHash, merkleRoot: new Uint8Array(32), time, bits: t.bits, nonce: 0 };
    return { height: t.height, header, minTime: t.mintime, coinb1, coinb2, branch: templateBranch(t), data: t };
  }

  /** Proposal mode: the daemon checks the block assembled with zero extranonces (everything but the proof of work). */
  async verify(work: Work): Promise<void> {
    const t = work.data as CoinTemplate;
    const { coinbase, merkleRoot } = coinbaseRoot(work.coinb1, new Uint8Array(COIN_EXTRANONCE), work.coinb2, work.branch);
    const header = { ...work.header, merkleRoot };
    const block = serializeBlock(t, encodeHeader(header), coinbase);
    let r: unknown;
    try {
      r = await this.rpc.call("getblocktemplate", [{ mode: "proposal", data: toHex(block), rules: this.rules }], 10_000);
    } catch (e) {
      this.markDown(e);
      throw e;
    }
    if (r === null || r === undefined) {
      this.counts.proposals_ok++;
      return;
    }
    this.counts.proposals_rejected++;
    this.lastRejection = String(r);
    // A tip that moved meanwhile is not an assembly error: the next template comes.
    if (/^inconclusive/.test(String(r))) throw new RignodeError("unavailable", `proposal ${r} (the tip moved)`);
    this.o.log.error("upstream.proposal_rejected", { height: work.height, reason: String(r), note: "block assembly refused by the daemon: no job sent" });
    throw new RignodeError("internal", `the daemon refused the assembled block: ${r}`);
  }

  /** The template as getblocktemplate's JSON, read back through parseTemplate's checks. */
  encodeData(data: unknown): string {
    return JSON.stringify(templateToGbt(data as CoinTemplate));
  }

  decodeData(s: string): CoinTemplate {
    let g: unknown;
    try {
      g = JSON.parse(s);
    } catch {
      throw new RignodeError("input", "upstream template is not JSON");
    }
    return parseTemplate(g);
  }

  /**
   * submitblock, retried while the daemon is unreachable (a block is worth waiting for), then confirmed. A block whose
   * parent the daemon lacks yet (a follower's job came over the bus before its daemon had the leader's block) is held
   * and submitted again on each new tip of the daemon, within ORPHAN_HOLD.
   */
  async submit(work: Work, header: Header, coinbase: Uint8Array): Promise<SubmitResult> {
    const t = work.data as CoinTemplate;
    const hash = blockHash(header);
    const hex = toHex(serializeBlock(t, encodeHeader(header), coinbase));
    // One block per previous block: a second one at the same height could only be a side branch (the daemon keeps the
    // first it saw), and where blocks are cheap (regtest: every other hash) they would flood the daemon.
    const prev = t.prevHashHex;
    if (this.submitted.has(prev)) return { status: "not_best", height: t.height, hash, reason: "a block on this previous block was already submitted" };
    this.submitted.add(prev);
    if (this.submitted.size > 64) this.submitted.delete(this.submitted.values().next().value!);
    this.counts.blocks_submitted++;
    let r = await this.sendBlock(t.height, hash, hex);
    if (r === "orphan") {
      this.counts.blocks_held++;
      this.o.log.warn("upstream.block_held", { hash: leToDisplayHex(hash), height: t.height, answer: PARENT_UNKNOWN, note: "the daemon lacks its parent yet: submitted again on its next tips and every second" });
      const held = this.held.hold({ height: t.height, hash }, () => this.sendBlock(t.height, hash, hex));
      r = await held;
    }
    if (r.status === "rejected") this.submitted.delete(prev);
    return r;
  }

  /** One submitblock and where the block stands on the daemon's chain after it; "orphan" when its parent is unknown there. */
  private async sendBlock(height: number, hash: Uint8Array, hex: string): Promise<Attempt> {
    let answer: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        answer = await this.rpc.call("submitblock", [hex], 30_000);
        break;
      } catch (e) {
        if (e instanceof RpcError || attempt >= 20 || this.stopped) return { status: "rejected", height, hash, reason: (e as Error).message };
        this.markDown(e);
        await Bun.sleep(500);
      }
    }
    void this.fetchTemplate();
    if (answer === PARENT_UNKNOWN) return "orphan";
    if (answer !== null && answer !== "duplicate" && answer !== "inconclusive") return { status: "rejected", height, hash, reason: String(answer) };
    try {
      const h = await this.rpc.call<{ confirmations: number; height: number }>("getblockheader", [leToDisplayHex(hash)], 10_000);
      if (h.confirmations >= 1) {
        this.counts.blocks_accepted++;
        return { status: "accepted", height: h.height, hash };
      }
      return { status: "not_best", height: h.height, hash, reason: "side branch" };
    } catch (e) {
      return { status: "rejected", height, hash, reason: `not found after submitblock: ${(e as Error).message}` };
    }
  }

  async mainChain(blocks: { hash: Uint8Array; height: number }[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const b of blocks) {
      let at: string | null = null;
      try {
        at = await this.rpc.call<string>("getblockhash", [b.height], 10_000);
      } catch (e) {
        if (!(e instanceof RpcError)) throw e; // unreachable: no answer; out of range (-8): not on the main chain
      }
      out.push(at === leToDisplayHex(b.hash));
    }
    return out;
  }

  payee(address: string): Uint8Array | null {
    try {
      return addressToScript(address, this.net);
    } catch {
      return null;
    }
  }

  display(payee: Uint8Array): string {
    return scriptToAddress(payee, this.net);
  }

  isUp(): boolean {
    return this.up;
  }

  /** The daemon's best block as of its last template (what a follower's job should stand on). */
  tip(): Uint8Array | null {
    return this.tmpl?.prevHash ?? null;
  }

  status(): Record<string, unknown> {
    const t = this.tmpl;
    return {
      kind: "upstream",
      url: this.rpc.shown,
      coin: this.coin,
      chain: this.chainName,
      algo: this.algo,
      up: this.up,
      down_since: this.downSince ? new Date(this.downSince).toISOString() : null,
      last_error: this.lastError,
      height: t?.height ?? null,
      template_age_ms: this.tmplAt === null ? null : Date.now() - this.tmplAt,
      previous_block: t?.prevHashHex ?? null,
      transactions: t?.txs.length ?? null,
      mweb: t ? t.mweb !== null : null,
      last_proposal_rejection: this.lastRejection,
      ...this.counts,
    };
  }
}

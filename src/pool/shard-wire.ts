// What the main thread of a pool process and its stratum shards (Workers) say to each other, and the work source a
// shard sees: the main thread's source described (payees decoded in the shard, synchronously) and its blocks
// submitted through the main thread, which owns the chain or the daemon connection.
import { decodeAddress, encodeAddress, type Header } from "../chain";
import type { Algo, LogLevel } from "../core";
import type { BanRow, StoredPlan } from "./ledger-backend";
import type { LedgerAnswer, LedgerCall } from "./ledger-remote";
import type { MemberHealth, WireJob } from "./bus";
import type { PoolServerOptions } from "./options";
import type { StratumCodec } from "../stratum";
import { addressToScript, scriptToAddress, type CoinNetwork } from "./coin";
import type { SubmitResult, Work, WorkEvent, WorkSource } from "./source";
import type { StratumTls } from "./transport";

/** The source as a shard needs it: its figures and how payee addresses read (the chain's version, or the coin). */
export interface SourceInfo {
  kind: "chain" | "upstream";
  algo: Algo;
  foundation: string;
  minOutput: bigint;
  maxOutputs: number;
  maxCoinbaseBytes: number;
  payees: { addressVersion: number } | { net: CoinNetwork };
}

export interface ListenSpec {
  key: "stratum" | "stratumJson" | "stratumTls";
  host: string;
  port: number;
  codec: StratumCodec;
  tls?: StratumTls;
}

/** The pool settings a shard's follower PoolServer is made with (the main thread's, as configured now). */
export type ShardPoolSettings = Pick<
  PoolServerOptions,
  "poolAddress" | "poolFeeBps" | "scheme" | "pplnsWindow" | "vardiff" | "startDifficulty" | "limits" | "jobRefreshSeconds" | "instanceId"
>;

export interface ShardInit {
  t: "init";
  /** 1..15 (0 is the main thread). */
  shard: number;
  kernelPath: string;
  conns: SharedArrayBuffer;
  /** The process's table of distinct workers per IP (the same kind as conns). */
  workers: SharedArrayBuffer;
  log: { json: boolean; level: LogLevel };
  ledgerKind: "sqlite" | "postgres";
  /** The process ledger's commit deadline (`commit_timeout=` in --ledger): a shard refuses shares past it, as one thread does. */
  commitTimeoutMs: number;
  source: SourceInfo;
  pool: ShardPoolSettings;
  listen: ListenSpec[];
  /** The ports of the process (the wrong-protocol hint names the other one). */
  ports: Record<ListenSpec["key"], number | null>;
  bans: BanRow[];
  job: WireJob | null;
}

/** The work a found block was on, as a shard holds it (data: the source's encoded text, decoded by the main thread). */
export type SentWork = Omit<Work, "data"> & { data: string };

export type ToShard =
  | ShardInit
  | { t: "job"; w: WireJob; status: Record<string, unknown> }
  | { t: "ban"; b: BanRow }
  | { t: "unban"; ip: string }
  | { t: "configure"; p: Record<string, number> }
  | LedgerAnswer
  | { t: "submit-answer"; id: number; ok: boolean; value?: SubmitResult; error?: string }
  | { t: "stop" };

/** Per-shard figures beyond MemberHealth, for the process's stats. */
export interface ShardExtra {
  acceptedDifficulty: number;
  rejectedBy: Record<string, number>;
  notifies: number;
  bans: number;
  workerList: unknown[];
  /** Job receipt -> last notify written on this shard (ms, recent clean jobs). */
  notifyMs: { p50: number | null; p99: number | null };
  /** Share response latencies since the last report (ms). */
  latencies: number[];
  /** The ledger refusing this shard's shares (its error), or null. */
  storage: string | null;
  /** Blocks found on this shard and taken by the chain. */
  blocks: number;
}

export type FromShard =
  | { t: "listening"; ports: Record<ListenSpec["key"], number | null> }
  | { t: "failed"; error: string; code?: string }
  | LedgerCall
  | { t: "submit"; id: number; work: SentWork; header: Header; coinbase: Uint8Array; plan: StoredPlan }
  | { t: "ban"; b: BanRow }
  | { t: "health"; h: MemberHealth; x: ShardExtra }
  /** A job's notify was written to every connection of the shard (ms since the epoch). */
  | { t: "notified"; seq: number; clean: boolean; at: number }
  /** An IP's connections on the shard changed: the main thread tells the bus the process's count. */
  | { t: "conns"; ip: string }
  /** An IP's distinct workers on the shard changed: likewise. */
  | { t: "workers"; ip: string }
  | { t: "stopped" };

/** The main thread's source described for its shards; a source they cannot stand in for is refused. */
export function sourceInfo(s: WorkSource): SourceInfo {
  const x = s as unknown as { chain?: { params: { addressVersion: number } }; net?: CoinNetwork };
  const payees = s.kind === "chain" && x.chain ? { addressVersion: x.chain.params.addressVersion } : s.kind === "upstream" && x.net ? { net: x.net } : null;
  if (!payees) throw new Error(`stratum shards need the chain or an upstream daemon as the work source (got ${s.kind})`);
  return { kind: s.kind, algo: s.algo, foundation: s.foundation, minOutput: s.minOutput, maxOutputs: s.maxOutputs, maxCoinbaseBytes: s.maxCoinbaseBytes, payees };
}

/** The main thread's source as a shard sees it: jobs come from the main thread; found blocks go back to it. */
export class ShardSource implements WorkSource {
  readonly kind: "chain" | "upstream";
  readonly algo: Algo;
  readonly foundation: string;
  readonly minOutput: bigint;
  readonly maxOutputs: number;
  readonly maxCoinbaseBytes: number;
  /** The main thread's source status, as it last sent it. */
  shown: Record<string, unknown> = {};

  constructor(
    private readonly info: SourceInfo,
    private readonly send: (work: Work, header: Header, coinbase: Uint8Array) => Promise<SubmitResult>,
  ) {
    ({ kind: this.kind, algo: this.algo, foundation: this.foundation, minOutput: this.minOutput, maxOutputs: this.maxOutputs, maxCoinbaseBytes: this.maxCoinbaseBytes } = info);
  }

  onWork(_cb: (e: WorkEvent) => void): void {
    // Tips are seen by the main thread, which builds (or adopts) the jobs a shard adopts.
  }

  work(): Work {
    throw new Error("a stratum shard builds no job: it adopts the main thread's");
  }

  /** The data stays the text it came as: only the main thread, which assembles the block, decodes it. */
  encodeData(data: unknown): string {
    return data as string;
  }

  decodeData(s: string): string {
    if (typeof s !== "string") throw new Error("job data must be text");
    return s;
  }

  submit(work: Work, header: Header, coinbase: Uint8Array): Promise<SubmitResult> {
    return this.send(work, header, coinbase);
  }

  payee(address: string): Uint8Array | null {
    const p = this.info.payees;
    try {
      return "net" in p ? addressToScript(address, p.net) : decodeAddress(address, p.addressVersion);
    } catch {
      return null;
    }
  }

  display(payee: Uint8Array): string {
    const p = this.info.payees;
    return "net" in p ? scriptToAddress(payee, p.net) : encodeAddress(payee, p.addressVersion);
  }

  status(): Record<string, unknown> {
    return this.shown;
  }
}

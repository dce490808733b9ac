import { stratumErrorText } from "./pool-says";

/** What mining.notify carries, in Stratum V1's byte orders (the pool builds it, the client reads it). */
export interface NotifyFields {
  jobId: string;
  /** Previous block hash: internal bytes with every 4-byte word byte-swapped (what miners expect). */
  prevHash: string;
  coinb1: string;
  coinb2: string;
  /** Sibling hashes from the coinbase up, internal byte order. */
  merkleBranch: string[];
  /** version, nbits, ntime: big-endian hex of the u32. */
  version: string;
  nbits: string;
  ntime: string;
}

/** Work from the pool, ready to be turned into headers. */
export interface PoolWork extends NotifyFields {
  clean: boolean;
  /** Difficulty in force for this job (the last set_difficulty before its notify). */
  difficulty: number;
  extranonce1: string;
  extranonce2Size: number;
}

export type SubmitResult = { status: "accepted" } | { status: "rejected" | "stale"; code: number; message: string } | { status: "lost"; message: string };

/** mining.notify's params as work under the connection's terms; null when a field has the wrong type. */
export function readNotify(p: unknown[], terms: { difficulty: number; extranonce1: string; extranonce2Size: number }): PoolWork | null {
  const [jobId, prevHash, coinb1, coinb2, branch, version, nbits, ntime, clean] = p;
  const strings = (xs: unknown[]) => xs.every((x) => typeof x === "string");
  if (!strings([jobId, prevHash, coinb1, coinb2, version, nbits, ntime]) || !Array.isArray(branch) || !strings(branch)) return null;
  return {
    jobId: jobId as string, prevHash: prevHash as string, coinb1: coinb1 as string, coinb2: coinb2 as string,
    merkleBranch: branch as string[], version: version as string, nbits: nbits as string, ntime: ntime as string,
    clean: clean === true, difficulty: terms.difficulty, extranonce1: terms.extranonce1, extranonce2Size: terms.extranonce2Size,
  };
}

/** The pool's answer to mining.submit: accepted, stale (code 21 saying so) or rejected with its code and reason. */
export function readSubmitAnswer(result: unknown, error: unknown): SubmitResult {
  if (result === true && !error) return { status: "accepted" };
  const e = stratumErrorText(error ?? "rejected");
  const code = e.code ?? 20;
  return { status: code === 21 && /stale/i.test(e.message) ? "stale" : "rejected", code, message: e.message };
}

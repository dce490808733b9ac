// Runs a fuzz target for N inputs: each input from its own seed, every crash recorded with what replays it, the
// slowest input and the peak RSS sampled as it goes.
import { RignodeError } from "../../src/core";
import { inputSeed, Rng } from "./gen";

/** What one input did: null when the parser behaved (accepted it or refused it with its own error type). */
export type Outcome = null | { error: string; input: string };

export interface Target {
  name: string;
  /** Builds input from `r`, feeds it, and says whether the parser misbehaved. */
  run(r: Rng): Outcome | Promise<Outcome>;
  /** What the inputs did (accepted, refused by which check, HTTP status…): shows the mutations reach past the first check. */
  tally?: Map<string, number>;
  /** Releases what the target holds (servers, temp dirs). */
  close?(): void | Promise<void>;
}

export interface Crash {
  target: string;
  index: number;
  seed: number;
  error: string;
  input: string;
}

export interface RunResult {
  target: string;
  inputs: number;
  crashes: number;
  first: Crash[];
  seconds: number;
  /** Peak resident set size seen during the run, bytes. */
  peakRss: number;
  startRss: number;
  /** The slowest single input, ms, and its index. */
  slowestMs: number;
  slowestIndex: number;
}

/** A thrown value as one line: its type (the part that tells a crash from a refusal) and message. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 300)}`;
  return `thrown ${typeof e}: ${String(e).slice(0, 300)}`;
}

/** Most distinct keys a tally keeps; the rest count together (a refusal quoting its input would grow it per input). */
const TALLY_KEYS = 64;

/** Counts one event in a tally. */
export function count(tally: Map<string, number> | undefined, key: string): void {
  if (!tally) return;
  const k = tally.has(key) || tally.size < TALLY_KEYS ? key : "(other kinds)";
  tally.set(k, (tally.get(k) ?? 0) + 1);
}

/** A refusal's message with its numbers and quoted parts blanked, so refusals of one kind count together. */
export function refusalKind(e: RignodeError): string {
  return `refused: ${e.message.replace(/^config file \S+?:? /, "config file: ").replace(/'[^']*'|"[^"]*"|0x[0-9a-f]+|\d+/g, "#").slice(0, 70)}`;
}

/**
 * The usual rule: the parser refuses bad input with a RignodeError; anything else thrown is a crash. With a tally,
 * counts what happened.
 */
export function expectRefusal(input: () => string, fn: () => void, tally?: Map<string, number>): Outcome {
  try {
    fn();
    count(tally, "accepted");
    return null;
  } catch (e) {
    if (e instanceof RignodeError) {
      if (tally) count(tally, refusalKind(e));
      return null;
    }
    return { error: describeError(e), input: input() };
  }
}

export function hex(b: Uint8Array, max = 512): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
  return h.length > max * 2 ? `${h.slice(0, max * 2)}…(${b.length} bytes)` : h;
}

/** Runs inputs [from, from + n) of `seed` through the target. */
export async function runTarget(t: Target, o: { n: number; seed: number; from?: number; keep?: number; onProgress?: (done: number) => void }): Promise<RunResult> {
  const from = o.from ?? 0;
  const keep = o.keep ?? 5;
  const first: Crash[] = [];
  let crashes = 0;
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  let slowestMs = 0;
  let slowestIndex = from;
  const t0 = performance.now();
  for (let i = from; i < from + o.n; i++) {
    const seed = inputSeed(o.seed, i);
    const s = performance.now();
    let out: Outcome;
    try {
      const r = t.run(new Rng(seed));
      out = r instanceof Promise ? await r : r;
    } catch (e) {
      // The target's own harness threw: counted as a crash too (it is an exception nobody expected).
      out = { error: `harness: ${describeError(e)}`, input: "" };
    }
    const ms = performance.now() - s;
    if (ms > slowestMs) (slowestMs = ms), (slowestIndex = i);
    if (out) {
      crashes++;
      if (first.length < keep) first.push({ target: t.name, index: i, seed: o.seed, ...out });
    }
    if ((i & 1023) === 0) {
      const rss = process.memoryUsage.rss();
      if (rss > peakRss) peakRss = rss;
      o.onProgress?.(i - from);
    }
  }
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return { target: t.name, inputs: o.n, crashes, first, seconds: (performance.now() - t0) / 1000, peakRss, startRss, slowestMs, slowestIndex };
}

// The intelligent tuner's decision (seed 000's flow): thermal → power → history → hints → placement. The governors
// give caps and pauses, the performance memory (or, without one, another algorithm's record) gives the starting
// point, and the allowed CPUs bound the threads. Every step that acts says so in constraints_applied.
import { RignodeError } from "../core";
import type { Candidate } from "./autotune";
import type { ThermalDecision } from "./thermal";
import type { PowerDecision } from "./power";

export interface Decision {
  threads: number;
  /** Batch units. */
  batch: number;
  constraints_applied: string[];
  should_mine: boolean;
}

export interface DecideInput {
  /** The operator's threads/batch (threads=auto already resolved): used when memory has nothing. */
  wanted: Candidate;
  /** Allowed CPUs (placement): the hard ceiling on threads. */
  maxThreads: number;
  thermal: ThermalDecision;
  power: PowerDecision;
  /** The memory's best for this cpu/profile/algo. */
  best?: Candidate | null;
  /** Another algorithm's best on this cpu/profile: a hint when there is no best of our own. */
  hint?: Candidate | null;
}

const fmtC = (c: Candidate) => `${c.threads}/${c.batch}`;

/**
 * The configuration to run now. Pauses beat everything (should_mine false; threads/batch are still what would run
 * once resumed); caps beat the memory's best; the memory's best beats a hint, which beats the operator's wanted values.
 */
export function decide(i: DecideInput): Decision {
  if (!Number.isInteger(i.maxThreads) || i.maxThreads < 1) throw new RignodeError("input", `decide: maxThreads must be an integer >= 1, got ${i.maxThreads}`);
  for (const [name, c] of [["wanted", i.wanted], ["best", i.best], ["hint", i.hint]] as const)
    if (c && !(Number.isInteger(c.threads) && c.threads >= 1 && Number.isInteger(c.batch) && c.batch >= 1))
      throw new RignodeError("input", `decide: ${name} must have integer threads and batch >= 1, got ${JSON.stringify(c)}`);
  const constraints: string[] = [];
  let shouldMine = true;
  let threadCap = Infinity;
  let batchCap = Infinity;

  // 1. thermal
  if (i.thermal.pause) {
    shouldMine = false;
    constraints.push(`thermal:${i.thermal.state} pause`);
  } else if (i.thermal.threadCap !== null) {
    threadCap = Math.min(threadCap, i.thermal.threadCap);
    constraints.push(`thermal:${i.thermal.state} cap ${i.thermal.threadCap}`);
  }
  // 2. power
  if (i.power.pause) {
    shouldMine = false;
    constraints.push(`power:${i.power.state} pause`);
  } else if (i.power.threadCap !== null || i.power.batchCap !== null) {
    if (i.power.threadCap !== null) threadCap = Math.min(threadCap, i.power.threadCap);
    if (i.power.batchCap !== null) batchCap = Math.min(batchCap, i.power.batchCap);
    constraints.push(`power:${i.power.state} cap ${i.power.threadCap ?? "-"}/${i.power.batchCap ?? "-"}`);
  }
  // 3. history, 4. hints: where to start from
  let base = i.wanted;
  if (i.best) {
    base = i.best;
    constraints.push(`history:best ${fmtC(i.best)}`);
  } else if (i.hint) {
    base = i.hint;
    constraints.push(`hint:other-algo ${fmtC(i.hint)}`);
  }
  let threads = Math.min(base.threads, threadCap);
  const batch = Math.max(1, Math.min(base.batch, batchCap));
  // 5. placement: never more threads than CPUs this process may use
  if (threads > i.maxThreads) {
    threads = i.maxThreads;
    constraints.push(`placement:cap ${i.maxThreads}`);
  }
  return { threads: Math.max(1, threads), batch, constraints_applied: constraints, should_mine: shouldMine };
}

/**
 * Why the auto-tuner must not run now (a window measured under a cap or a pause says nothing about the free rig), or
 * null. Warm, unavailable, AC and unknown do not block.
 */
export function tuningBlockedBy(thermal: ThermalDecision, power: PowerDecision): string | null {
  if (thermal.pause || thermal.threadCap !== null) return `thermal:${thermal.state}`;
  if (power.pause || power.threadCap !== null || power.batchCap !== null) return `power:${power.state}`;
  return null;
}

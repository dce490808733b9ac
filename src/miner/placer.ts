import type { Logger } from "../core";
import { placeThreads } from "./affinity";
import { CpuClaims, defaultClaimsDir } from "./cpu-claims";

/**
 * Which CPU each mining thread of one engine is pinned to, for the threads it starts with and for threads added
 * while it mines. CPUs are taken in the preference order given (default: the allowed mask in order), skipping
 * those another rignode process has claimed; a retired thread's CPU is given back at once so the next thread
 * added (here or in another process) can take it.
 */
export class CpuPlacer {
  private readonly claims: CpuClaims | null = null;

  /**
   * order: CPUs in preference order, or null for no pinning. claimsDir: where processes on this host claim CPUs
   * (undefined: defaultClaimsDir()); null: round-robin over `order` without asking other processes.
   */
  constructor(private readonly order: number[] | null, claimsDir: string | null | undefined, private readonly log?: Logger) {
    if (!order?.length || claimsDir === null) return;
    const dir = claimsDir ?? defaultClaimsDir();
    try {
      this.claims = new CpuClaims(dir);
    } catch (e) {
      log?.warn("miner.cpu_claims_unavailable", { dir, error: (e as Error).message, note: "pinning without checking other rignode processes" });
    }
  }

  /** The claims directory in use, if any. */
  get dir(): string | undefined {
    return this.claims?.dir;
  }

  /** CPUs for the first `threads` threads (0..threads-1). */
  initial(threads: number): (number | null)[] {
    const claims = this.claims;
    if (!claims) return placeThreads(threads, this.order);
    const placement = placeThreads(threads, this.order, (cpu) => claims.tryClaim(cpu));
    this.warnTaken(placement.filter((c) => c === null).length);
    return placement;
  }

  /**
   * CPU for thread `thread` added while `inUse` are pinned by this engine's running threads: the first CPU in the
   * order nobody holds; with claims, null (unpinned) when every one is held; without claims, round-robin as at start.
   */
  next(thread: number, inUse: ReadonlySet<number>): number | null {
    const order = this.order;
    if (!order?.length) return null;
    const claims = this.claims;
    if (!claims) return order.find((c) => !inUse.has(c)) ?? order[thread % order.length]!;
    // tryClaim says yes to a CPU this engine holds already: those are skipped first.
    const held = new Set(claims.held());
    const cpu = order.find((c) => !held.has(c) && !inUse.has(c) && claims.tryClaim(c)) ?? null;
    if (cpu === null) this.warnTaken(1);
    return cpu;
  }

  /** Gives back the claim on `cpu` (its thread retired, or the kernel would not pin it). */
  release(cpu: number | null): void {
    if (cpu !== null) this.claims?.releaseCpu(cpu);
  }

  releaseAll(): void {
    this.claims?.release();
  }

  private warnTaken(unpinned: number): void {
    const claims = this.claims;
    if (!claims || unpinned === 0 || !this.order) return;
    const held = claims.held();
    const taken = this.order.filter((c) => !held.includes(c));
    this.log?.warn("miner.cpus_taken", {
      unpinned_threads: unpinned,
      allowed: this.order.join(","),
      taken_by: taken.map((c) => `${c}:pid${claims.holder(c) ?? "?"}`).join(","),
      cpu_claims: claims.dir,
      note: "every allowed CPU is pinned by another rignode process (or thread); these threads run unpinned",
    });
  }
}

// Generated 1 Hz rig traces for the telemetry study: what the sampler would read from a real engine. The hashrate is
// a 5 s window over a hash counter that only moves when a batch completes (~40 ms of work per thread), each thread
// losing part of a second now and then to the scheduler, with a slow wander (turbo, package temperature); the
// temperature drifts and is read in 0.125 °C steps; shares arrive as a Poisson process; the load is the kernel's
// 1-minute average of runnable tasks over the CPUs. Seeded: the same seed gives the same trace.

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-300)) * Math.cos(2 * Math.PI * r());
}

function poisson(r: () => number, mean: number): number {
  let n = 0;
  for (let p = Math.exp(-mean), q = r(); q > p; q *= r()) n++;
  return n;
}

export interface TraceOptions {
  seed: number;
  threads?: number;
  /** H/s per thread. */
  perThread?: number;
  /** Hashes per batch (per thread); ~40 ms of work by default. */
  batch?: number;
  /** The rig's hashrate multiplier from second `at` on (a 10% drop: factor 0.9). */
  step?: { at: number; factor: number };
  /** One thread's multiplier from second `at` on (its CPU shared with another process: factor 0.5). */
  threadStep?: { at: number; thread: number; factor: number };
  /** Share of seconds a thread loses 5–40% of (a scheduler stall), and the per-second jitter (relative sd). */
  stalls?: number;
  jitter?: number;
}

/** One row a second: every feature the scorer reads, as the node would report it. */
export interface TraceRow {
  t: number;
  hashrate: number;
  /** Each thread's 5 s window rate, as the sampler reads the engine's per-thread counters. */
  perThread: number[];
  hashes: number;
  tempC: number;
  energyJ: number;
  accepted: number;
  rejected: number;
  latencyMs: number;
  load: number;
}

export function* trace(o: TraceOptions): Generator<TraceRow> {
  const r = rng(o.seed);
  const threads = o.threads ?? 4;
  const per = o.perThread ?? 250_000;
  const batch = o.batch ?? per * 0.04;
  const work = new Array<number>(threads).fill(0); // hashes done, fractional batch included
  const counter: number[] = []; // counted hashes (whole batches) at each second
  const perCounter: number[][] = []; // the same per thread
  let wander = 0; // slow relative wander of the clock speed
  let temp = 0; // slow temperature drift, °C
  let energy = 0;
  let accepted = 0;
  let rejected = 0;
  let latency = 40;
  let load = threads / 8;
  // 10 s of burn-in first, so the 5 s window is full from the first row on.
  for (let s = -10; ; s++) {
    wander = wander * (1 - 1 / 1800) + gauss(r) * 0.01 * Math.sqrt(2 / 1800);
    temp = temp * (1 - 1 / 600) + gauss(r) * 2 * Math.sqrt(2 / 600);
    const factor = o.step && s >= o.step.at ? o.step.factor : 1;
    let counted = 0;
    let done = 0;
    const perCounted: number[] = [];
    for (let i = 0; i < threads; i++) {
      // A scheduler stall now and then (2% of seconds lose 5–40% of the second), and a little jitter.
      const stall = r() < (o.stalls ?? 0.02) ? 0.05 + r() * 0.35 : 0;
      const own = o.threadStep && o.threadStep.thread === i && s >= o.threadStep.at ? o.threadStep.factor : 1;
      const h = per * factor * own * (1 + wander) * (1 - stall) * (1 + gauss(r) * (o.jitter ?? 0.005));
      work[i]! += h;
      done += h;
      perCounted.push(Math.floor(work[i]! / batch) * batch);
      counted += perCounted[i]!;
    }
    counter.push(counted);
    perCounter.push(perCounted);
    const back = Math.min(5, counter.length - 1);
    const hashrate = back > 0 ? (counted - counter[counter.length - 1 - back]!) / back : 0;
    const perThread = perCounted.map((c, i) => (back > 0 ? (c - perCounter[perCounter.length - 1 - back]![i]!) / back : 0));
    if (counter.length > 6) counter.shift();
    if (perCounter.length > 6) perCounter.shift();
    energy += 65 * (done / (threads * per)) * (1 + gauss(r) * 0.01);
    const shares = poisson(r, 0.2);
    for (let j = 0; j < shares; j++) {
      if (r() < 0.01) rejected++;
      else accepted++;
      latency = 40 * Math.exp(gauss(r) * 0.3);
    }
    const runnable = threads + poisson(r, 0.3);
    load += (runnable / 8 - load) * (1 - Math.exp(-1 / 60));
    if (s >= 0) yield {
      t: s,
      hashrate,
      perThread,
      hashes: counted,
      tempC: Math.round((62 + temp + gauss(r) * 0.2) * 8) / 8,
      energyJ: energy,
      accepted,
      rejected,
      latencyMs: latency,
      load,
    };
  }
}

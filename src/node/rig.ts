import type { Algo, Logger, MetricFamily } from "../core";
import type { Config } from "../config";
import { allowedCpus, defaultBatch, type MiningEngine } from "../miner";
import {
  autoThreadsFor, cpuOrder, EnergyCounter, layoutOf, normaliseCpuModel, PerfMemory, PowerGovernor, readPower, readTopology, resolveLimits,
  RigController, startingPoint, SysFs, TemperatureSensor, ThermalGovernor, type Candidate, type ControllerView, type PerfRecord, type Topology,
} from "../tuning";

/** Nonces per batch unit: 1/16 of the default kernel call (sha256d 65,536, scrypt 64); the seed's batch 16 = the default. */
export function batchUnit(algo: Algo): number {
  return defaultBatch(algo) / 16;
}

/** What the miner starts with, worked out before the engine exists (so it starts on the right CPUs with the right count). */
export interface RigPlan {
  sys: SysFs;
  topology: Topology;
  /** Allowed CPUs in the order threads take them (physical cores first, NUMA nodes interleaved; --numa=false: number order). */
  cpuOrder: number[];
  maxThreads: number;
  /** Threads and batch (units) to start with. */
  start: Candidate;
  /** The same in nonces, for the engine. */
  batchNonces: number;
  fixed: { threads: boolean; batch: boolean };
  memory: PerfMemory | null;
  best: PerfRecord | null;
}

/**
 * The CPUs mining threads take, in order: the allowed ones, physical cores before SMT siblings and NUMA nodes
 * interleaved (--numa=false: CPU number order). Every command that mines places its threads with this.
 */
export function threadPlacement(config: Config): { sys: SysFs; topology: Topology; order: number[] } {
  const sys = new SysFs(config.tuning.sysRoot);
  const topology = readTopology(sys);
  const allowed = config.tuning.sysRoot === "/" ? allowedCpus() : null;
  const order = config.tuning.numa ? cpuOrder(topology, allowed) : (allowed ?? topology.cpus.map((c) => c.cpu));
  return { sys, topology, order };
}

/** Reads the topology and the performance memory and picks the starting configuration (seed 000: history first). */
export function planRig(config: Config, algo: Algo, log: Logger, memoryDir: string | null): RigPlan {
  const { sys, topology, order } = threadPlacement(config);
  const maxThreads = Math.max(1, order.length);
  resolveLimits(config.tuning); // a ladder that does not rise is refused before anything starts
  const unit = batchUnit(algo);
  const fixed = { threads: config.miner.threads !== "auto", batch: config.miner.batch !== "auto" };
  const wanted: Candidate = {
    threads: config.miner.threads === "auto" ? autoThreadsFor(config.tuning.profile, maxThreads) : config.miner.threads,
    // An operator's --batch in nonces, as whole units for the governors (the engine gets the exact number).
    batch: config.miner.batch === "auto" ? 16 : Math.max(1, Math.round(config.miner.batch / unit)),
  };
  let memory: PerfMemory | null = null;
  if (memoryDir !== null) {
    try {
      memory = PerfMemory.open(memoryDir);
    } catch (e) {
      log.warn("tuning.memory_unavailable", { error: (e as Error).message, note: "mining without the performance memory" });
    }
  }
  const best = memory?.bestFor(topology.modelKey, config.tuning.profile, algo) ?? null;
  const start = startingPoint(wanted, fixed, best, maxThreads);
  log.info("tuning.plan", {
    cpu: topology.modelKey,
    profile: config.tuning.profile,
    physical_cores: topology.physicalCores,
    numa_nodes: topology.nodes.length,
    cpu_order: order.join(","),
    threads: start.threads,
    batch_units: start.batch,
    from_memory: best ? `${best.threads}/${best.batch} ${Math.round(best.avg)} H/s over ${best.samples} windows` : undefined,
  });
  const batchNonces = config.miner.batch === "auto" ? start.batch * unit : config.miner.batch;
  return { sys, topology, cpuOrder: order, maxThreads, start, batchNonces, fixed, memory, best };
}

export interface Rig {
  view(): ControllerView;
  /** Telemetry's actor: threads and batch (units) on top of the configuration, the governors still capping them. */
  steer(c: Partial<Candidate>): Promise<void>;
  metrics(): MetricFamily[];
  stop(): void;
}

/** Starts the governors and (with --auto-tune) the tuner on a running engine: a poll every pollSeconds. */
export function startRig(plan: RigPlan, config: Config, engine: MiningEngine, algo: Algo, log: Logger): Rig {
  const t = config.tuning;
  const limits = resolveLimits(t);
  const tlog = log.child({ component: "tuning" });
  const temp = new TemperatureSensor(plan.sys, { log: tlog });
  const energy = new EnergyCounter(plan.sys);
  const controller = new RigController({
    engine,
    sensors: { temperature: () => temp.read(), power: () => readPower(plan.sys), energy: () => energy.read() },
    thermal: t.thermal ? new ThermalGovernor(limits.thermal, { log: tlog }) : null,
    power: t.power ? new PowerGovernor(limits.power, { log: tlog }) : null,
    start: plan.start,
    fixed: plan.fixed,
    maxThreads: plan.maxThreads,
    unitNonces: batchUnit(algo),
    batchNonces: plan.batchNonces,
    memory: plan.memory,
    best: plan.best,
    key: { cpu: plan.topology.modelKey, profile: t.profile, algo },
    // The layout a thread count is placed on (the engine's CPUs can lag a change still being applied).
    layout: (threads) => layoutOf(plan.topology, plan.cpuOrder.slice(0, threads)),
    tune: t.autoTune
      ? { minThreads: t.minThreads, maxThreads: t.maxThreads === "auto" ? plan.maxThreads : t.maxThreads, minBatch: t.minBatch, maxBatch: t.maxBatch, windowS: t.windowSeconds, reevalS: t.reevalSeconds }
      : null,
    log: tlog,
  });
  const poll = () => controller.poll().catch((e) => tlog.error("tuning.poll_failed", { error: (e as Error).message }));
  void poll();
  const timers = [setInterval(poll, t.pollSeconds * 1000)];
  if (t.autoTune) timers.push(setInterval(() => controller.sample(), (t.windowSeconds * 1000) / 12));
  for (const x of timers) x.unref?.();
  tlog.info("tuning.started", {
    profile: t.profile,
    thermal: t.thermal ? `${limits.thermal.warm}/${limits.thermal.hot}/${limits.thermal.critical} C, cooldown ${limits.thermal.cooldownS} s` : "off",
    power: t.power ? `battery cap ${limits.power.batteryThreads} threads / batch ${limits.power.batteryBatch}, pause below ${limits.power.pauseBelowPercent}%` : "off",
    auto_tune: t.autoTune,
    temperature: describeTemp(controller.view().sensors.temperature),
  });
  return {
    view: () => controller.view(),
    steer: async (c) => void (await controller.steer(c)),
    metrics: () => rigMetrics(controller.view(), engine),
    stop() {
      for (const x of timers) clearInterval(x);
      plan.memory?.close();
    },
  };
}

function describeTemp(r: ControllerView["sensors"]["temperature"]): string {
  return r.status === "ok" ? `${r.celsius} C (${r.sensor})` : `${r.status}: ${r.reason}`;
}

const THERMAL_LEVEL: Record<string, number> = { unavailable: -1, cool: 0, warm: 1, hot: 2, critical: 3 };

/** The /metrics series of the sensors, governors, tuner and the engine's changes. */
function rigMetrics(v: ControllerView, engine: MiningEngine): MetricFamily[] {
  const out: MetricFamily[] = [];
  const s = v.sensors;
  // A reading the machine does not give is absent (not 0): Prometheus' absent() tells "unavailable".
  out.push({ name: "rignode_cpu_temperature_celsius", help: "CPU package temperature.", type: "gauge", samples: s.temperature.status === "ok" ? [{ labels: { sensor: s.temperature.sensor }, value: s.temperature.celsius }] : [] });
  const thermal = v.thermal.enabled ? v.thermal.state : "unavailable";
  out.push({ name: "rignode_thermal_state", help: "Thermal governor state: -1 unavailable or off, 0 cool, 1 warm, 2 hot, 3 critical.", type: "gauge", samples: [{ labels: { state: thermal }, value: THERMAL_LEVEL[thermal] ?? -1 }] });
  out.push({ name: "rignode_power_on_battery", help: "1 on battery, 0 on mains.", type: "gauge", samples: s.power.status === "unknown" ? [] : [{ value: s.power.status === "battery" ? 1 : 0 }] });
  out.push({ name: "rignode_battery_percent", help: "Battery charge.", type: "gauge", samples: s.power.batteryPercent === null ? [] : [{ value: s.power.batteryPercent }] });
  out.push({ name: "rignode_energy_joules_total", help: "CPU package energy (RAPL), all packages.", type: "counter", samples: s.energy.status === "ok" ? [{ value: s.energy.joules }] : [] });
  const d = v.decision;
  out.push({ name: "rignode_tuning_should_mine", help: "0 when a governor holds mining paused.", type: "gauge", samples: d ? [{ value: d.should_mine ? 1 : 0 }] : [] });
  const st = engine.stats();
  out.push({ name: "rignode_miner_threads", help: "Mining threads running.", type: "gauge", samples: [{ value: st.activeWorkers }] });
  out.push({ name: "rignode_miner_batch_nonces", help: "Nonces per kernel call.", type: "gauge", samples: [{ value: st.batch }] });
  out.push({ name: "rignode_miner_changes_total", help: "Changes made to the running engine, by knob.", type: "counter", samples: Object.entries(engine.changes()).map(([knob, n]) => ({ labels: { knob }, value: n })) });
  const tu = v.tuner;
  if (tu) {
    out.push({ name: "rignode_tuner_evaluations", help: "Evaluation windows the tuner completed this round.", type: "gauge", samples: [{ value: tu.evaluated }] });
    out.push({ name: "rignode_tuner_round", help: "Tuning rounds started.", type: "counter", samples: [{ value: tu.round }] });
    out.push({ name: "rignode_tuner_rollbacks_total", help: "Winners rolled back after a worse confirmation.", type: "counter", samples: [{ value: tu.rollbacks }] });
    out.push({ name: "rignode_tuner_best_hashes_per_second", help: "Best candidate's mean hashrate this round.", type: "gauge", samples: tu.best ? [{ value: tu.best.mean }] : [] });
  }
  return out;
}

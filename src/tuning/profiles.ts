// Mining profiles (seed 000: laptop / balanced / beast). A profile fills the thermal and power limits and the share of
// CPUs used when threads=auto; keys the operator sets explicitly override the profile's.
import { DEFAULT_THERMAL, type ThermalLimits } from "./thermal";
import { DEFAULT_POWER, type PowerLimits } from "./power";

export type ProfileName = "laptop" | "balanced" | "beast";

export const PROFILE_NAMES: readonly ProfileName[] = ["laptop", "balanced", "beast"];

export const PROFILES: Record<
  ProfileName,
  { thermal: Partial<ThermalLimits>; power: Partial<PowerLimits>; threadShare: number; description: string }
> = {
  laptop: {
    // A fan-limited chassis on a lap: start throttling 10 °C earlier, wait longer before ramping back, and on
    // battery mine on one thread with small batches, stopping at 30% so the machine stays usable.
    thermal: { warm: 60, hot: 70, critical: 80, hysteresis: 4, cooldownS: 180, maxReduction: 0.5 },
    power: { batteryThreads: 1, batteryBatch: 2, pauseBelowPercent: 30 },
    threadShare: 0.5,
    description:
      "cool and gentle: warm 60 / hot 70 / critical 80 °C, hysteresis 4 °C, cooldown 180 s; half the CPUs when threads=auto; on battery 1 thread, batch 2, pause below 30%",
  },
  balanced: {
    // DESIGN.md's constants as they are.
    thermal: {},
    power: {},
    threadShare: 1,
    description:
      "the defaults: warm 70 / hot 80 / critical 90 °C, hysteresis 3 °C, cooldown 120 s, up to 50% fewer threads when hot; all allowed CPUs; on battery 2 threads, batch 4, pause below 20%",
  },
  beast: {
    // cgminer's ladder (target 75 / overheat 85 / cutoff 95) for rigs with real cooling; on battery it still caps,
    // but higher, and only pauses at 10%.
    thermal: { warm: 75, hot: 85, critical: 95, hysteresis: 3, cooldownS: 90, maxReduction: 0.5 },
    power: { batteryThreads: 4, batteryBatch: 8, pauseBelowPercent: 10 },
    threadShare: 1,
    description:
      "cgminer's ladder: warm 75 / hot 85 / critical 95 °C, hysteresis 3 °C, cooldown 90 s; all allowed CPUs; on battery 4 threads, batch 8, pause below 10%",
  },
};

/** The full limits of a profile with the operator's explicit keys on top. */
export function profileLimits(
  name: ProfileName,
  over: { thermal?: Partial<ThermalLimits>; power?: Partial<PowerLimits> } = {},
): { thermal: ThermalLimits; power: PowerLimits; threadShare: number } {
  const p = PROFILES[name];
  return {
    thermal: { ...DEFAULT_THERMAL, ...p.thermal, ...defined(over.thermal) },
    power: { ...DEFAULT_POWER, ...p.power, ...defined(over.power) },
    threadShare: p.threadShare,
  };
}

/** Threads for threads=auto under a profile: its share of the allowed CPUs, at least one. */
export function autoThreadsFor(name: ProfileName, allowedCpus: number): number {
  return Math.max(1, Math.floor(allowedCpus * PROFILES[name].threadShare));
}

function defined<T extends object>(o: Partial<T> | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

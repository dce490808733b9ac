import { RignodeError } from "../core";
import type { Config } from "../config";
import { profileLimits } from "./profiles";
import { checkThermalLimits, type ThermalLimits } from "./thermal";
import { checkPowerLimits, type PowerLimits } from "./power";

export interface ResolvedLimits {
  thermal: ThermalLimits;
  power: PowerLimits;
  /** Fraction of the allowed CPUs to mine on when threads are auto. */
  threadShare: number;
}

const given = <T>(v: T | "auto"): T | undefined => (v === "auto" ? undefined : v);

/** The governors' limits: the profile's, with every key the operator gave on top; the ladder must rise. */
export function resolveLimits(t: Config["tuning"]): ResolvedLimits {
  const l = profileLimits(t.profile, {
    thermal: { enabled: t.thermal, warm: given(t.thermalWarm), hot: given(t.thermalHot), critical: given(t.thermalCritical), cooldownS: t.cooldownSeconds },
    power: { enabled: t.power, batteryThreads: given(t.batteryThreads), batteryBatch: given(t.batteryBatch), pauseBelowPercent: given(t.batteryPauseBelow) },
  });
  try {
    checkThermalLimits(l.thermal);
    checkPowerLimits(l.power);
  } catch (e) {
    throw new RignodeError("config", `${(e as Error).message} (profile ${t.profile}; --thermal-warm/--thermal-hot/--thermal-critical, --battery-* override it)`);
  }
  return l;
}

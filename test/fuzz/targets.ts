// Every fuzz target by name, built on demand (the stateful ones open a pool, a chain or a temp dir).
import type { Target } from "./runner";
import { WIRE_TARGETS } from "./targets-wire";
import { apiTarget, clientTarget, configTarget, sessionTarget } from "./targets-stateful";

export const TARGET_NAMES = [...WIRE_TARGETS.map((t) => t.name), "stratum-session", "stratum-client", "config", "api"];

export async function makeTarget(name: string): Promise<Target> {
  const wire = WIRE_TARGETS.find((t) => t.name === name);
  if (wire) return wire;
  if (name === "stratum-session") return sessionTarget();
  if (name === "stratum-client") return clientTarget();
  if (name === "config") return configTarget();
  if (name === "api") return apiTarget();
  throw new Error(`unknown fuzz target '${name}'; known: ${TARGET_NAMES.join(", ")}`);
}

import { diagnose } from "../../store";
import type { Command } from "../command";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check a data dir offline: the full database integrity check, the chain's links, the pool ledger",
  usage: "rignode doctor [--data-dir DIR] [--json]",
  options: ["data-dir"],
  flags: { json: { kind: "boolean", help: "print one JSON object" } },
  positionals: [],
  async run({ config, flags, out }) {
    const findings = diagnose(config.dataDir);
    const ok = findings.every((f) => f.status !== "fail");
    if (flags.json) out(JSON.stringify({ ok, data_dir: config.dataDir, findings }));
    else {
      for (const f of findings) out(`${f.status.toUpperCase().padEnd(4)} ${f.check.padEnd(12)} ${f.detail}`);
      out(ok ? "doctor: no problems that stop rignode" : "doctor: PROBLEMS found (see FAIL lines); rignode will not serve from this data dir until they are fixed");
    }
    return ok ? 0 : 1;
  },
};

import { RignodeError } from "../../core";
import { diagnosePostgresLedger, parseLedgerSpec } from "../../pool";
import { diagnose } from "../../store";
import type { Command } from "../command";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check a data dir offline: the full database integrity check, the chain's links, the pool ledger (SQLite or PostgreSQL)",
  usage: "rignode doctor [--data-dir DIR] [--ledger sqlite|postgres://USER@HOST:PORT/DB] [--json]",
  options: ["data-dir", "ledger"],
  flags: { json: { kind: "boolean", help: "print one JSON object" } },
  positionals: [],
  async run({ config, flags, out }) {
    let spec: ReturnType<typeof parseLedgerSpec>;
    try {
      spec = parseLedgerSpec(config.pool.ledger);
    } catch (e) {
      throw new RignodeError("config", (e as Error).message);
    }
    // With a PostgreSQL ledger the data dir's SQLite holds no pool ledger worth checking: that one is read instead.
    const findings = diagnose(config.dataDir, { sqliteLedger: spec.kind === "sqlite" });
    if (spec.kind === "postgres") {
      const u = new URL(spec.url);
      findings.push(...(await diagnosePostgresLedger(spec.url, `${u.hostname}:${u.port || 5432}${u.pathname}`)));
    }
    const ok = findings.every((f) => f.status !== "fail");
    if (flags.json) out(JSON.stringify({ ok, data_dir: config.dataDir, findings }));
    else {
      for (const f of findings) out(`${f.status.toUpperCase().padEnd(4)} ${f.check.padEnd(13)} ${f.detail}`);
      out(ok ? "doctor: no problems that stop rignode" : "doctor: PROBLEMS found (see FAIL lines); rignode will not serve from this data dir until they are fixed");
    }
    return ok ? 0 : 1;
  },
};

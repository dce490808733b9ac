import { writeFileSync } from "node:fs";
import { RignodeError } from "../../core";
import { exportTelemetry, parseSince } from "../../node";
import type { Command } from "../command";

export const telemetryCommand: Command = {
  name: "telemetry",
  summary: "telemetry history: telemetry export --since ISO|-1h [--format ndjson|parquet] [--out FILE]",
  usage: "rignode telemetry export --since ISO|-30m|-1h|-7d [--format ndjson|parquet] [--out FILE]",
  options: ["data-dir"],
  flags: {
    since: { kind: "string", arg: "ISO|-1h", help: "rows from this time: an ISO time or a span back from now (-30m, -1h, -7d)" },
    format: { kind: "string", arg: "FORMAT", help: "ndjson (default) or parquet" },
    out: { kind: "string", arg: "FILE", help: "write to FILE instead of stdout (needed for parquet)" },
  },
  positionals: [{ name: "ACTION", help: "export" }],
  async run({ config, flags, positionals, out }) {
    if (positionals[0] !== "export") throw new RignodeError("usage", `telemetry: unknown action '${positionals[0] ?? ""}' (expected export)`);
    if (typeof flags.since !== "string") throw new RignodeError("usage", "telemetry export needs --since ISO|-1h");
    const format = typeof flags.format === "string" ? flags.format : "ndjson";
    const r = exportTelemetry(config.dataDir, { since: parseSince(flags.since), format });
    if (typeof flags.out === "string") writeFileSync(flags.out, r.body);
    else if (typeof r.body === "string") {
      if (r.body) out(r.body.replace(/\n$/, ""));
    } else throw new RignodeError("usage", `--format ${format} is binary: give --out FILE`);
    return 0;
  },
};

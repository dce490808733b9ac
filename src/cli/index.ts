import { z } from "zod";
import { COMMIT, createLogger, exitCodeFor, RignodeError, VERSION } from "../core";
import { loadConfigWithOrigin, OPTIONS } from "../config";
import { loadKernel } from "../kernel";
import { parseArgs } from "./args";
import type { Command, CommandFlag } from "./command";
import { benchCommand } from "./commands/bench";
import { hashCommand } from "./commands/hash";
import { selftestCommand } from "./commands/selftest";
import { nodeCommand } from "./commands/node";
import { walletCommand } from "./commands/wallet";
import { poolCommand } from "./commands/pool";
import { workerCommand } from "./commands/worker";
import { doctorCommand } from "./commands/doctor";
import { tuneCommand } from "./commands/tune";
import { telemetryCommand } from "./commands/telemetry";

/** The commands that exist; --help lists exactly these. */
export const COMMANDS: Command[] = [nodeCommand, poolCommand, workerCommand, walletCommand, benchCommand, tuneCommand, selftestCommand, doctorCommand, hashCommand, telemetryCommand];

const REPEATABLE = new Set(OPTIONS.filter((o) => o.kind === "list").map((o) => o.flag));

/** Every command's aliases, for parsing; whether the command at hand has an alias is checked after. */
const ALIASES: Record<string, string> = Object.assign({}, ...COMMANDS.map((c) => c.aliases ?? {}));

/** Options every command takes. */
const GLOBAL_OPTIONS = ["log-json", "log-level"];
const CONFIG_FLAG: CommandFlag = { kind: "string", arg: "FILE", help: "JSON config file (also RIGNODE_CONFIG)" };

const BOOLEANS = new Set<string>([
  "help",
  "version",
  ...OPTIONS.filter((o) => o.kind === "boolean").map((o) => o.flag),
  ...COMMANDS.flatMap((c) => Object.entries(c.flags).filter(([, f]) => f.kind === "boolean").map(([n]) => n)),
]);

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
  env: process.env,
};

/** Runs one command line; returns the exit code (0 ok, 1 failure, 2 bad input). */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  try {
    const args = parseArgs(argv, BOOLEANS, REPEATABLE, ALIASES);
    if (args.flags.get("version") === true && !args.command) {
      for (const line of await versionLines()) io.out(line);
      return 0;
    }
    if (!args.command || args.command === "help") {
      const topic = args.command === "help" ? args.positionals[0] : undefined;
      const cmd = topic ? findCommand(topic) : undefined;
      io.out(cmd ? commandHelp(cmd) : generalHelp());
      if (!args.command && args.flags.size === 0) return 0;
      if (!args.command && args.flags.get("help") !== true) throw new RignodeError("usage", `no command given; see 'rignode --help'`);
      return 0;
    }
    const cmd = findCommand(args.command);
    if (args.flags.get("help") === true) {
      io.out(commandHelp(cmd));
      return 0;
    }
    for (const spelled of [...args.spellings.values()].flat()) {
      if (ALIASES[spelled] && !cmd.aliases?.[spelled]) throw new RignodeError("usage", `unknown option ${spelled} for '${cmd.name}'; it takes: ${takes(cmd)}`);
    }
    return await runCommand(cmd, args.flags, args.positionals, io);
  } catch (e) {
    io.err(`rignode: ${errorLine(e)}`);
    return exitCodeFor(e);
  }
}

/**
 * What the CLI prints for an error: a RignodeError's message; for a system error no layer translated (it has an errno
 * code such as EACCES) Node's own one line, which names the call and the path; a stack only for a bug.
 */
function errorLine(e: unknown): string {
  if (e instanceof RignodeError) return e.message;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return `${String((e as Error).message).split("\n")[0]}; check the path and its permissions`;
  return (e as Error)?.stack ?? String(e);
}

function findCommand(name: string): Command {
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new RignodeError("usage", `unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
  return cmd;
}

async function runCommand(cmd: Command, given: Map<string, string | true | string[]>, positionals: string[], io: CliIo): Promise<number> {
  const optionFlags = new Set([...GLOBAL_OPTIONS, ...cmd.options]);
  const configFlags: Record<string, string | boolean | string[]> = {};
  const cmdFlags: Record<string, string | number | boolean | undefined> = {};
  let configFile: string | undefined;
  for (const [name, value] of given) {
    if (name === "config") {
      if (value === true || Array.isArray(value)) throw new RignodeError("usage", `--config needs a value: --config FILE`);
      configFile = value;
    } else if (optionFlags.has(name)) {
      const spec = OPTIONS.find((o) => o.flag === name)!;
      if (value === true && spec.kind !== "boolean") throw new RignodeError("usage", `--${name} needs a value: --${name} ${spec.arg ?? "VALUE"}`);
      configFlags[name] = value;
    } else if (cmd.flags[name] && !Array.isArray(value)) {
      cmdFlags[name] = parseCommandFlag(name, cmd.flags[name]!, value);
    } else {
      throw new RignodeError("usage", `unknown option --${name} for '${cmd.name}'; it takes: ${takes(cmd)}`);
    }
  }
  const required = cmd.positionals.filter((p) => !p.optional).length;
  if (positionals.length < required || positionals.length > cmd.positionals.length) {
    const want = cmd.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(" ") || "none";
    throw new RignodeError("usage", `'${cmd.name}' takes ${cmd.positionals.length} argument(s) (${want}), got ${positionals.length}; usage: ${cmd.usage}`);
  }
  const { config, origin } = loadConfigWithOrigin({ file: configFile, env: io.env, flags: configFlags });
  const log = createLogger({ json: config.log.json, level: config.log.level, color: process.stderr.isTTY === true && !config.log.json });
  return cmd.run({ config, origin, flags: cmdFlags, positionals, log, out: io.out });
}

/** The options a command takes, as a list for an error message. */
function takes(cmd: Command): string {
  const names = [...GLOBAL_OPTIONS, ...cmd.options, "config", ...Object.keys(cmd.flags)].map((f) => `--${f}`);
  return [...names, ...Object.keys(cmd.aliases ?? {})].join(", ");
}

function parseCommandFlag(name: string, f: CommandFlag, value: string | true): string | number | boolean {
  if (f.kind === "boolean") {
    if (value === true) return true;
    throw new RignodeError("usage", `--${name} takes no value, got '${value}'`);
  }
  if (value === true) throw new RignodeError("usage", `--${name} needs a value: --${name} ${f.arg ?? "VALUE"}`);
  if (f.kind === "number") {
    const n = z.coerce.number().finite().min(f.min ?? -Infinity).max(f.max ?? Infinity).safeParse(value.trim() === "" ? NaN : value);
    if (!n.success) throw new RignodeError("usage", `--${name}: '${value}' is not allowed; expected a number from ${f.min} to ${f.max}`);
    return n.data;
  }
  if (f.choices && !f.choices.includes(value)) {
    throw new RignodeError("usage", `--${name}: '${value}' is not allowed; expected one of ${f.choices.join(", ")}`);
  }
  return value;
}

async function versionLines(): Promise<string[]> {
  const lines = [`rignode ${VERSION} (commit ${COMMIT})`];
  try {
    const { info } = await loadKernel("auto");
    lines.push(`kernel ${info.version}: variants built ${info.available.join(", ")}; CPU supports ${info.supported.join(", ")}; chosen ${info.variant} (${info.lanes} lanes)`);
    lines.push(`cpu features: ${info.featureNames.join(" ")}`);
  } catch (e) {
    lines.push(`kernel: unavailable (${(e as Error).message})`);
  }
  return lines;
}

/** One help row: the left column (flags or an argument) and its help. */
type HelpRow = [left: string, help: string];

/** An option's left column: short alias first (`-o, `), then the long name and long aliases, so every `--` lines up. */
function optionRow(flag: string, arg: string | undefined, help: string, aliases: Record<string, string> = {}): HelpRow {
  const mine = Object.keys(aliases).filter((a) => aliases[a] === flag);
  const short = mine.find((a) => !a.startsWith("--"));
  const longs = [`--${flag}`, ...mine.filter((a) => a.startsWith("--"))].join(", ");
  return [`${short ? `  ${short}, ` : "      "}${longs}${arg ? " " + arg : ""}`, help];
}

/** Rows with their help text in one column, two spaces past the widest left column. */
function helpTable(rows: HelpRow[]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, h]) => `${l.padEnd(width)}${h}`);
}

function generalHelp(): string {
  const options: HelpRow[] = [
    optionRow("config", "FILE", CONFIG_FLAG.help),
    ...GLOBAL_OPTIONS.map((f) => {
      const o = OPTIONS.find((x) => x.flag === f)!;
      return optionRow(o.flag, o.arg, o.help);
    }),
    ["  -h, --help", "help (also: rignode COMMAND --help)"],
    ["  -V, --version", "version, commit and kernel variants"],
  ];
  const lines = [
    `rignode ${VERSION}: miner, pool and node in one executable`,
    "",
    "usage: rignode COMMAND [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "options for every command:",
    ...helpTable(options),
    "",
    "Settings come from defaults < --config FILE < RIGNODE_* environment < flags.",
  ];
  return lines.join("\n");
}

/** A command's help; arguments and options share one column for their help text. */
function commandHelp(cmd: Command): string {
  const args: HelpRow[] = cmd.positionals.map((p) => [`  ${p.name}`, p.help]);
  const global = GLOBAL_OPTIONS.map((f) => OPTIONS.find((x) => x.flag === f)!);
  const options: HelpRow[] = [
    ...cmd.options.map((f) => OPTIONS.find((o) => o.flag === f)!).map((o) => optionRow(o.flag, o.arg, `${o.help} [${o.env}]`, cmd.aliases)),
    ...Object.entries(cmd.flags).map(([n, f]) => optionRow(n, f.arg, f.help, cmd.aliases)),
    optionRow("config", "FILE", CONFIG_FLAG.help),
    ...global.map((o) => optionRow(o.flag, o.arg, `${o.help} [${o.env}]`)),
  ];
  const table = helpTable([...args, ...options]);
  const lines = [`rignode ${cmd.name}: ${cmd.summary}`, "", `usage: ${cmd.usage}`];
  if (args.length) lines.push("", "arguments:", ...table.slice(0, args.length));
  lines.push("", "options:", ...table.slice(args.length));
  return lines.join("\n");
}

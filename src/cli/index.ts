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

/** The commands that exist; --help lists exactly these. */
export const COMMANDS: Command[] = [nodeCommand, poolCommand, workerCommand, walletCommand, benchCommand, selftestCommand, hashCommand];

const REPEATABLE = new Set(OPTIONS.filter((o) => o.kind === "list").map((o) => o.flag));

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
    const args = parseArgs(argv, BOOLEANS, REPEATABLE);
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
    return await runCommand(cmd, args.flags, args.positionals, io);
  } catch (e) {
    io.err(`rignode: ${e instanceof RignodeError ? e.message : (e as Error)?.stack ?? String(e)}`);
    return exitCodeFor(e);
  }
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
      const allowed = [...optionFlags, "config", ...Object.keys(cmd.flags)].map((f) => `--${f}`).join(", ");
      throw new RignodeError("usage", `unknown option --${name} for '${cmd.name}'; it takes: ${allowed}`);
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

function flagLine(flag: string, arg: string | undefined, help: string): string {
  const left = `  --${flag}${arg ? " " + arg : ""}`;
  return `${left.padEnd(26)} ${help}`;
}

function generalHelp(): string {
  const lines = [
    `rignode ${VERSION}: miner, pool and node in one executable`,
    "",
    "usage: rignode COMMAND [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "options for every command:",
    flagLine("config", "FILE", CONFIG_FLAG.help),
    ...GLOBAL_OPTIONS.map((f) => {
      const o = OPTIONS.find((x) => x.flag === f)!;
      return flagLine(o.flag, o.arg, o.help);
    }),
    "",
    "  --help, -h                 help (also: rignode COMMAND --help)",
    "  --version, -V              version, commit and kernel variants",
    "",
    "Settings come from defaults < --config FILE < RIGNODE_* environment < flags.",
  ];
  return lines.join("\n");
}

function commandHelp(cmd: Command): string {
  const lines = [`rignode ${cmd.name}: ${cmd.summary}`, "", `usage: ${cmd.usage}`];
  if (cmd.positionals.length) {
    lines.push("", "arguments:", ...cmd.positionals.map((p) => `  ${p.name.padEnd(24)} ${p.help}`));
  }
  const opts = cmd.options.map((f) => OPTIONS.find((o) => o.flag === f)!);
  lines.push("", "options:");
  for (const o of opts) lines.push(flagLine(o.flag, o.arg, `${o.help} [${o.env}]`));
  for (const [n, f] of Object.entries(cmd.flags)) lines.push(flagLine(n, f.arg, f.help));
  lines.push(flagLine("config", "FILE", CONFIG_FLAG.help));
  for (const f of GLOBAL_OPTIONS) {
    const o = OPTIONS.find((x) => x.flag === f)!;
    lines.push(flagLine(o.flag, o.arg, `${o.help} [${o.env}]`));
  }
  return lines.join("\n");
}

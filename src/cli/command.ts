import type { Config } from "../config";
import type { Logger } from "../core";

/** A flag that belongs to one command (not a config key). */
export interface CommandFlag {
  kind: "boolean" | "string" | "number";
  arg?: string;
  help: string;
  /** For numbers: the range allowed. */
  min?: number;
  max?: number;
  /** For strings: the values allowed. */
  choices?: readonly string[];
}

export interface CommandContext {
  config: Config;
  /** Where each config key not at its default came from, by dotted key ("api.listen"). */
  origin: ReadonlyMap<string, string>;
  flags: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  log: Logger;
  /** Writes one line of command output to stdout. */
  out: (line: string) => void;
}

/** One CLI command: its help, the config options and flags it accepts, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Config option flags (from config OPTIONS) that this command reads. */
  options: string[];
  flags: Record<string, CommandFlag>;
  /**
   * Other spellings of this command's options, the ones miners know: "-o" or "--url" → "pool". Only this command
   * accepts them; a spelling means the same flag on every command that has it.
   */
  aliases?: Record<string, string>;
  /** Positional arguments, the optional ones last. */
  positionals: { name: string; help: string; optional?: boolean }[];
  run(ctx: CommandContext): Promise<number>;
}

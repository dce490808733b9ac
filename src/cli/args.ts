import { RignodeError } from "../core";

export interface ParsedArgs {
  command: string | undefined;
  /** Flags by name (without dashes): a string, or true for a flag given without a value. */
  flags: Map<string, string | true | string[]>;
  positionals: string[];
}

/**
 * Splits argv into command, flags and positionals. `--name value`, `--name=value`; flags named in `booleans`
 * take no value. A flag given twice is an error, so that a typo never silently wins over the intended value.
 */
export function parseArgs(argv: string[], booleans: Set<string>, repeatable: Set<string> = new Set()): ParsedArgs {
  const flags = new Map<string, string | true | string[]>();
  const positionals: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new RignodeError("usage", `malformed option '${a}'`);
      if (repeatable.has(name)) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new RignodeError("usage", `--${name} needs a value`);
        flags.set(name, [...((flags.get(name) as string[] | undefined) ?? []), v]);
        continue;
      }
      if (flags.has(name)) throw new RignodeError("usage", `option --${name} given twice`);
      if (eq >= 0) flags.set(name, a.slice(eq + 1));
      else if (booleans.has(name)) flags.set(name, true);
      else {
        const v = argv[i + 1];
        if (v === undefined || (v.startsWith("--") && v.length > 2)) {
          // The command decides whether this flag exists at all; a missing value of a known flag is reported there.
          flags.set(name, true);
        } else {
          flags.set(name, v);
          i++;
        }
      }
    } else if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
      if (a === "-h") flags.set("help", true);
      else if (a === "-V") flags.set("version", true);
      else throw new RignodeError("usage", `unknown option '${a}' (options are written --name)`);
    } else if (command === undefined) command = a;
    else positionals.push(a);
  }
  return { command, flags, positionals };
}

import { RignodeError } from "../core";

export interface ParsedArgs {
  command: string | undefined;
  /** Flags by name (without dashes, aliases resolved): a string, true for a flag given without a value, or a list. */
  flags: Map<string, string | true | string[]>;
  /** How each flag was typed ("--pool", "-o", "--url"), every time, so a command can refuse aliases it lacks. */
  spellings: Map<string, string[]>;
  positionals: string[];
}

/**
 * Splits argv into command, flags and positionals. `--name value`, `--name=value`; flags named in `booleans`
 * take no value. `aliases` maps other spellings to a flag's name: `--url` → `pool`, and single letters as
 * getopt takes them, `-o VALUE`, `-oVALUE` or `-o=VALUE` → `pool` (a letter always takes a value). A flag given
 * twice is an error, so that a typo never silently wins over the intended value; repeatable ones collect a list.
 */
export function parseArgs(argv: string[], booleans: Set<string>, repeatable: Set<string> = new Set(), aliases: Record<string, string> = {}): ParsedArgs {
  const flags = new Map<string, string | true | string[]>();
  const spellings = new Map<string, string[]>();
  const positionals: string[] = [];
  let command: string | undefined;
  const put = (name: string, spelled: string, value: string | true) => {
    const before = spellings.get(name) ?? [];
    spellings.set(name, [...before, spelled]);
    if (repeatable.has(name)) {
      if (value === true) throw new RignodeError("usage", `${spelled} needs a value`);
      flags.set(name, [...((flags.get(name) as string[] | undefined) ?? []), value]);
      return;
    }
    if (flags.has(name)) {
      const also = before.includes(spelled) ? "" : ` (also as ${before.join(", ")})`;
      throw new RignodeError("usage", `option ${spelled} given twice${also}`);
    }
    flags.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const typed = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (!/^[a-z][a-z0-9-]*$/.test(typed)) throw new RignodeError("usage", `malformed option '${a}'`);
      const spelled = `--${typed}`;
      const name = aliases[spelled] ?? typed;
      if (eq >= 0) put(name, spelled, a.slice(eq + 1));
      else if (repeatable.has(name)) put(name, spelled, argv[++i] ?? true);
      else if (booleans.has(name)) put(name, spelled, true);
      else {
        const v = argv[i + 1];
        // The command decides whether this flag exists at all; a missing value of a known flag is reported there.
        if (v === undefined || (v.startsWith("--") && v.length > 2)) put(name, spelled, true);
        else {
          put(name, spelled, v);
          i++;
        }
      }
    } else if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
      const letter = a.slice(0, 2);
      if (a === "-h") flags.set("help", true);
      else if (a === "-V") flags.set("version", true);
      else if (aliases[letter]) {
        const v = a.length > 2 ? a.slice(2).replace(/^=/, "") : argv[++i];
        if (v === undefined) throw new RignodeError("usage", `${letter} needs a value`);
        put(aliases[letter]!, letter, v);
      } else throw new RignodeError("usage", `unknown option '${a}' (options are written --name)`);
    } else if (command === undefined) command = a;
    else positionals.push(a);
  }
  return { command, flags, spellings, positionals };
}

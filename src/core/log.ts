/** Structured logging: one line per event, readable on a TTY or JSON lines. Written to stderr. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the component's name). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  json: boolean;
  level: LogLevel;
  write?: (line: string) => void;
  color?: boolean;
}

/** Builds a logger; the default sink is stderr so that stdout stays clean for command output. */
export function createLogger(opts: LoggerOptions, base: LogFields = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const min = RANK[opts.level];
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const all: LogFields = {};
    for (const [k, v] of Object.entries({ ...base, ...fields })) if (v !== undefined) all[k] = v;
    const ts = new Date().toISOString();
    if (opts.json) {
      write(JSON.stringify({ ts, level, event, ...all }, jsonSafe));
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(" ");
      const lvl = level.toUpperCase().padEnd(5);
      const tag = opts.color ? `${COLORS[level]}${lvl}\x1b[0m` : lvl;
      write(`${ts} ${tag} ${event}${kv ? " " + kv : ""}`);
    }
  };
  return {
    debug: (e, f) => emit("debug", e, f),
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
    child: (f) => createLogger(opts, { ...base, ...f }),
  };
}

const COLORS: Record<LogLevel, string> = { debug: "\x1b[90m", info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" };

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return { message: v.message, name: v.name };
  return v;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (typeof v === "bigint") return v.toString();
  return JSON.stringify(v, jsonSafe) ?? "undefined";
}

// The command line as miners type it: cpuminer/XMRig short flags on `worker` only, and help that lines up.
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";
import { COMMANDS, runCli } from "../../src/cli";

const ALIASES = { "-o": "pool", "--url": "pool", "-u": "user", "-p": "password", "--pass": "password", "-t": "threads", "-a": "algo" };
const parse = (argv: string[]) => parseArgs(argv, new Set(["pin"]), new Set(["pool"]), ALIASES);

describe("aliases", () => {
  test("-o X, -oX, -o=X, --url X and --url=X all add a pool, in order", () => {
    const p = parse(["worker", "-o", "stratum+tcp://a:1", "-ob:2", "-o=c:3", "--url", "d:4", "--url=e:5", "--pool", "f:6"]);
    expect(p.flags.get("pool")).toEqual(["stratum+tcp://a:1", "b:2", "c:3", "d:4", "e:5", "f:6"]);
    expect(p.spellings.get("pool")).toEqual(["-o", "-o", "-o", "--url", "--url", "--pool"]);
  });
  test("-u, -p, --pass, -t, -a become user, password, threads, algo", () => {
    const p = parse(["worker", "-u", "ADDR.rig", "-p", "-dash-first", "-t", "2", "-a", "scrypt"]);
    expect(Object.fromEntries(p.flags)).toEqual({ user: "ADDR.rig", password: "-dash-first", threads: "2", algo: "scrypt" });
    expect(Object.fromEntries(parse(["worker", "--pass=x"]).flags)).toEqual({ password: "x" });
  });
  test("a flag and its alias together are given twice; a letter needs its value; unknown letters are refused", () => {
    expect(() => parse(["worker", "--threads", "2", "-t", "3"])).toThrow("option -t given twice (also as --threads)");
    expect(() => parse(["worker", "-u"])).toThrow("-u needs a value");
    expect(() => parse(["worker", "-x", "1"])).toThrow("unknown option '-x'");
    expect(() => parseArgs(["bench", "-t", "2"], new Set())).toThrow("unknown option '-t'");
  });
});

/** Runs the CLI in-process, collecting stdout and stderr lines. */
async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(...l.split("\n")), err: (l) => err.push(l), env: {} });
  return { code, out, err: err.join("\n") };
}

describe("aliases belong to worker alone", () => {
  test.each([
    [["bench", "-t", "2"], "unknown option -t for 'bench'"],
    [["node", "--url", "x:1"], "unknown option --url for 'node'"],
    [["pool", "-u", "x"], "unknown option -u for 'pool'"],
    [["wallet", "balance", "--pass", "x"], "unknown option --pass for 'wallet'"],
  ])("%p is refused with exit 2", async (argv, message) => {
    const r = await cli(argv as string[]);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });
});

describe("help", () => {
  /** Column where the help text starts on a row: after the flags and two or more spaces. */
  const helpColumn = (line: string) => 6 + line.slice(6).search(/ {2,}\S/) + line.slice(6).match(/ {2,}/)![0].length;

  for (const name of [...COMMANDS.map((c) => c.name), ""]) {
    test(`${name || "rignode --help"}: every long flag in one column, every help text in one column`, async () => {
      const r = await cli(name ? [name, "--help"] : ["--help"]);
      expect(r.code).toBe(0);
      const start = r.out.findIndex((l) => /^(arguments|options|options for every command):$/.test(l));
      const rows = r.out.slice(start).filter((l) => l.startsWith("  "));
      expect(rows.length).toBeGreaterThan(3);
      const flagRows = rows.filter((l) => /^ {2}-/.test(l) || /^ {6}--/.test(l));
      for (const l of flagRows) expect(l.indexOf("--")).toBe(6);
      expect(new Set(rows.map(helpColumn)).size).toBe(1);
    });
  }

  test("worker's help shows the miner spellings beside the flags they stand for", async () => {
    const r = await cli(["worker", "--help"]);
    const text = r.out.join("\n");
    for (const row of [/^ {2}-o, --pool, --url HOST:PORT +worker: pool/m, /^ {2}-u, --user ADDR\[\.NAME\] +/m, /^ {2}-p, --password, --pass TEXT +/m, /^ {2}-t, --threads N +/m, /^ {2}-a, --algo ALGO +/m]) {
      expect(text).toMatch(row);
    }
    expect((await cli(["bench", "--help"])).out.join("\n")).not.toContain("-t, --threads");
  });
});

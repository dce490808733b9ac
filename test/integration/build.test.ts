// The incremental build (build.ts) and `npm start`: what is rebuilt when, and that a signal to npm stops rignode.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST_STAMP, filesUnder, inputsHash, KERNEL_STAMP, needsBuild, outputsState, readStamp, VARIANTS } from "../../build";
import { freePort, ROOT, run, waitFor } from "../helpers";

describe("stamp logic", () => {
  /** A small source tree in a temp directory: two files, one in a subdirectory. */
  function tree(): string {
    const dir = mkdtempSync(join(tmpdir(), "rignode-stamp-"));
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.zig"), "const a = 1;\n");
    writeFileSync(join(dir, "sub", "b.zig"), "const b = 2;\n");
    return dir;
  }

  test("inputsHash: the same files give the same hash; an edit, a rename or an added file changes it; a touch does not", () => {
    const dir = tree();
    const h0 = inputsHash(filesUnder(dir), dir);
    expect(filesUnder(dir)).toEqual([join(dir, "a.zig"), join(dir, "sub", "b.zig")]);
    expect(inputsHash(filesUnder(dir), dir)).toBe(h0);

    utimesSync(join(dir, "a.zig"), new Date(0), new Date(0)); // mtime only
    expect(inputsHash(filesUnder(dir), dir)).toBe(h0);

    writeFileSync(join(dir, "sub", "b.zig"), "const b = 3;\n"); // same length, one byte differs
    const h1 = inputsHash(filesUnder(dir), dir);
    expect(h1).not.toBe(h0);
    writeFileSync(join(dir, "sub", "b.zig"), "const b = 2;\n");
    expect(inputsHash(filesUnder(dir), dir)).toBe(h0); // content, not history

    renameSync(join(dir, "sub", "b.zig"), join(dir, "sub", "c.zig"));
    expect(inputsHash(filesUnder(dir), dir)).not.toBe(h0);
    renameSync(join(dir, "sub", "c.zig"), join(dir, "sub", "b.zig"));

    writeFileSync(join(dir, "sub", "new.zig"), "");
    expect(inputsHash(filesUnder(dir), dir)).not.toBe(h0);
  });

  test("inputsHash: moving bytes from one file to the next changes it (file boundaries count)", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-stamp-"));
    writeFileSync(join(dir, "a"), "xy");
    writeFileSync(join(dir, "b"), "z");
    const h0 = inputsHash(filesUnder(dir), dir);
    writeFileSync(join(dir, "a"), "x");
    writeFileSync(join(dir, "b"), "yz");
    expect(inputsHash(filesUnder(dir), dir)).not.toBe(h0);
  });

  test("needsBuild: up to date only when every input group and every output match the stamp", () => {
    const dir = tree();
    const out = join(dir, "out.so");
    writeFileSync(out, "built");
    const inputs = { src: inputsHash(filesUnder(dir), dir), tool: "1.0" };
    const stamp = { inputs, outputs: outputsState([out], dir)! };

    expect(needsBuild(stamp, { ...inputs }, outputsState([out], dir))).toBeUndefined();
    expect(needsBuild(undefined, inputs, outputsState([out], dir))).toBe("no stamp from an earlier build");
    expect(needsBuild(stamp, inputs, outputsState([out, join(dir, "gone.so")], dir))).toBe("an output is missing");

    writeFileSync(join(dir, "a.zig"), "const a = 2;\n");
    const edited = { ...inputs, src: inputsHash(filesUnder(dir), dir) };
    expect(needsBuild(stamp, edited, outputsState([out], dir))).toBe("changed: src");
    expect(needsBuild(stamp, { ...inputs, tool: "1.1" }, outputsState([out], dir))).toBe("changed: tool");
    expect(needsBuild(stamp, { src: inputs.src }, outputsState([out], dir))).toBe("changed: tool"); // a group dropped
    expect(needsBuild(stamp, { ...inputs, extra: "x" }, outputsState([out], dir))).toBe("changed: extra"); // a group added

    // An output replaced behind the build's back (another size or mtime) is rebuilt.
    writeFileSync(out, "something else");
    expect(needsBuild(stamp, inputs, outputsState([out], dir))).toBe("modified since it was built: out.so");
  });

  test("readStamp: a missing, truncated or foreign file is no stamp", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-stamp-"));
    expect(readStamp(join(dir, "none.json"))).toBeUndefined();
    writeFileSync(join(dir, "cut.json"), '{"inputs": {"src": "ab');
    expect(readStamp(join(dir, "cut.json"))).toBeUndefined();
    writeFileSync(join(dir, "other.json"), "[1, 2]");
    expect(readStamp(join(dir, "other.json"))).toBeUndefined();
    writeFileSync(join(dir, "null.json"), "null");
    expect(readStamp(join(dir, "null.json"))).toBeUndefined();
  });
});

describe("bun run build.ts", () => {
  const outputs = [...Object.keys(VARIANTS).map((v) => join(ROOT, "zig-hash", "zig-out", `librnhash-${v}.so`)), join(ROOT, "dist", "rignode")];
  const mtimes = () => outputs.map((f) => `${f} ${statSync(f, { bigint: true }).mtimeNs}`);

  test("a second run right after the first rebuilds nothing and leaves every output untouched", () => {
    // The first run builds whatever is out of date (nothing, after `npm test`'s own build).
    const first = run([process.execPath, "run", "build.ts"], { timeoutMs: 600_000 });
    expect(first.code).toBe(0);
    const before = mtimes();

    const second = run([process.execPath, "run", "build.ts"], { timeoutMs: 600_000 });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("build: kernels up to date");
    expect(second.stderr).toContain("build: dist/rignode up to date");
    expect(second.stderr).not.toContain("compiling");
    expect(mtimes()).toEqual(before);

    // The stamps hash the trees the task names, with the same function the unit tests above check.
    expect(readStamp(KERNEL_STAMP)?.inputs["zig-hash/src"]).toBe(inputsHash(filesUnder(join(ROOT, "zig-hash", "src"))));
    expect(readStamp(DIST_STAMP)?.inputs.src).toBe(inputsHash(filesUnder(join(ROOT, "src"))));
    expect(readStamp(DIST_STAMP)?.inputs.kernels).toBe(inputsHash(outputs.slice(0, 3)));
  }, 900_000);
});

/** PIDs of live processes started with RIGNODE_DATA_DIR=dir in their environment (this user's, via /proc). */
function processesWithDataDir(dir: string): number[] {
  const needle = `\0RIGNODE_DATA_DIR=${dir}\0`;
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (`\0${readFileSync(`/proc/${name}/environ`, "latin1")}`.includes(needle)) pids.push(Number(name));
    } catch {
      // gone, or another user's
    }
  }
  return pids;
}

/** The parent PID of a live process, from /proc/PID/stat (the field after the parenthesised name). */
function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

describe("npm start", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} sent to npm's PID stops the started rignode cleanly (no orphan)`, async () => {
      const data = mkdtempSync(join(tmpdir(), "rignode-npmstart-"));
      const api = freePort();
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) env[k] = v;
      Object.assign(env, { RIGNODE_DATA_DIR: data, RIGNODE_API: `127.0.0.1:${api}`, RIGNODE_P2P: `127.0.0.1:${freePort()}`, RIGNODE_THREADS: "1", RIGNODE_LOG_JSON: "true" });
      const npm = Bun.spawn(["npm", "start"], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
      const stdout = new Response(npm.stdout).text();
      const stderr = new Response(npm.stderr).text(); // read as it comes: a mining devnet logs a lot
      let exited = false;
      try {
        // Reached through the API the environment asked for (the build before it may have work to do).
        const health = await waitFor(async () => {
          const r = await fetch(`http://127.0.0.1:${api}/health`).catch(() => undefined);
          return r ? r.status : undefined;
        }, 600_000);
        expect(health).toBe(200);
        // The node is npm's own child: the script's shell replaced itself with rignode, so npm's signal reaches it.
        const pids = processesWithDataDir(data).filter((p) => p !== npm.pid);
        expect(pids.length).toBe(1);
        const node = pids[0]!;
        expect(readFileSync(`/proc/${node}/cmdline`, "latin1").split("\0").slice(0, 3)).toEqual(["./dist/rignode", "node", "--mine"]);
        expect(ppidOf(node)).toBe(npm.pid);

        npm.kill(signal);
        const code = await npm.exited;
        exited = true;
        expect(code).toBe(0); // rignode stopped cleanly and npm passed its status on
        // npm exits only after its child has: nothing started with this data dir is left.
        expect(processesWithDataDir(data)).toEqual([]);
        const events = (await stderr).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        expect(events.find((e) => e.event === "signal")?.signal).toBe(signal);
        expect(events.map((e) => e.event)).toContain("role.stopped");
        expect(existsSync(join(data, "LOCK"))).toBe(false); // released on a clean stop
        expect(await stdout).toContain("exec ./dist/rignode node --mine");
      } finally {
        if (!exited) {
          npm.kill("SIGKILL");
          for (const p of processesWithDataDir(data)) process.kill(p, "SIGKILL");
        }
      }
    }, 900_000);
  }
});

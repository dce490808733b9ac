// Layers point one way (DESIGN.md): a file may import only layers below its own, and other folders only through index.ts.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../helpers";

const SRC = join(ROOT, "src");
/** Rank of each folder: higher may import lower. Folders of equal rank may not import each other. */
const RANK: Record<string, number> = {
  core: 0,
  kernel: 1, store: 1, stratum: 1, config: 1,
  chain: 2, miner: 2, tuning: 2, telemetry: 2,
  consensus: 3,
  pool: 4, p2p: 4,
  api: 5,
  node: 6,
  cli: 7,
  ".": 8, // src/main.ts
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function layerOf(src: string, file: string): string {
  const rel = relative(src, file);
  // src/main.ts is the top; "../miner" (a folder) and "../miner/x.ts" both belong to miner.
  return rel.includes("/") || !rel.endsWith(".ts") ? rel.split("/")[0]! : ".";
}

/** Every violation in the tree: [file, import, reason]. */
function violations(src: string): string[] {
  const t = new Bun.Transpiler({ loader: "ts" });
  const out: string[] = [];
  for (const file of files(src)) {
    const from = layerOf(src, file);
    for (const imp of t.scanImports(readFileSync(file, "utf8"))) {
      if (!imp.path.startsWith(".")) continue;
      const target = resolve(dirname(file), imp.path);
      if (!target.startsWith(src + "/")) continue; // package.json, the kernel's .so files
      const to = layerOf(src, target);
      if (to === from) continue;
      const where = `${relative(src, file)} imports ${imp.path}`;
      if (!(from in RANK) || !(to in RANK)) out.push(`${where}: folder not in the layer table`);
      else if (RANK[to]! >= RANK[from]!) out.push(`${where}: ${from} may not import ${to} (same or higher layer)`);
      else if (to !== "." && relative(join(src, to), target).replace(/\.ts$/, "").replace(/\/index$/, "").replace(/^index$/, "") !== "")
        out.push(`${where}: import another folder through its index.ts`);
    }
  }
  return out;
}

/** Files over the size where one file is doing several jobs. */
const MAX_LINES = 400;

describe("architecture", () => {
  test("no import points up a layer or across a layer, and folders are entered through index.ts", () => {
    expect(violations(SRC)).toEqual([]);
  });

  test(`no file under src/ is over ${MAX_LINES} lines (one role per file)`, () => {
    const long = files(SRC)
      .map((f) => [relative(SRC, f), readFileSync(f, "utf8").split("\n").length - 1] as const)
      .filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });

  test("the check catches an upward import, a sideways import and a reach past index.ts", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-arch-"));
    const put = (p: string, text: string) => {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    put("core/index.ts", `import { x } from "../cli";`);
    put("miner/index.ts", `import { y } from "../tuning";`);
    put("tuning/index.ts", `export const y = 1;`);
    put("api/index.ts", `import { z } from "../kernel/ffi";`);
    put("kernel/ffi.ts", `export const z = 1;`);
    put("cli/index.ts", `import { w } from "../core"; export const x = 1;`);
    const v = violations(dir);
    rmSync(dir, { recursive: true });
    expect(v).toHaveLength(3);
    expect(v.join("\n")).toContain("core may not import cli");
    expect(v.join("\n")).toContain("miner may not import tuning");
    expect(v.join("\n")).toContain("through its index.ts");
  });
});

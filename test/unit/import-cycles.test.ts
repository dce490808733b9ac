// No file under src/ reaches itself through its imports, type-only ones included: a circle (even of types) means two
// files that cannot be read, moved or tested one without the other.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../helpers";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports and re-exports of a file (`import type` too; Bun's scanner drops those), resolved to files. */
function importsOf(file: string): string[] {
  const out: string[] = [];
  for (const m of readFileSync(file, "utf8").matchAll(/(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["'](\.[^"']*)["']/g)) {
    const t = resolve(dirname(file), m[1]!);
    const target = existsSync(t + ".ts") ? t + ".ts" : existsSync(join(t, "index.ts")) ? join(t, "index.ts") : null;
    if (target) out.push(target);
  }
  return out;
}

/** Every cycle found by a depth-first walk, as "a.ts -> b.ts -> a.ts" (from the first file by name). */
function cycles(src: string): string[] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const out: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of importsOf(f)) {
      if (state.get(d) === "open") {
        // Written from its first file by name, so that one cycle reads the same whatever order the walk took.
        const ring = stack.slice(stack.indexOf(d)).map((x) => relative(src, x));
        const at = ring.indexOf([...ring].sort()[0]!);
        const r = [...ring.slice(at), ...ring.slice(0, at)];
        out.push([...r, r[0]].join(" -> "));
      }
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files(src)) if (!state.has(f)) visit(f);
  return out;
}

describe("import cycles", () => {
  test("no file under src/ imports itself through others, type-only imports included", () => {
    expect(cycles(join(ROOT, "src"))).toEqual([]);
  });

  test("the check catches a type-only circle and a circle through an index.ts", () => {
    const dir = mkdtempSync(join(tmpdir(), "rignode-cycles-"));
    const put = (p: string, text: string) => {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    put("node/role.ts", `import type { A } from "./upstream";\nexport interface R { a: A }`);
    put("node/upstream.ts", `import type {\n  R,\n} from "./role";\nexport interface A { r?: R }`);
    put("api/index.ts", `export { x } from "./x";`);
    put("api/x.ts", `import { y } from ".";\nexport const x = 1;`);
    put("core/ok.ts", `import { z } from "./leaf";`);
    put("core/leaf.ts", `export const z = 1;`);
    const c = cycles(dir);
    rmSync(dir, { recursive: true });
    expect(c).toHaveLength(2);
    expect(c.join("\n")).toContain("node/role.ts -> node/upstream.ts -> node/role.ts");
    expect(c.join("\n")).toContain("api/index.ts -> api/x.ts -> api/index.ts");
  });
});

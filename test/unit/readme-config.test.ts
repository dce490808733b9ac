// The README's tables are the operator's reference: they must name every variable and flag the code accepts.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OPTIONS, OTHER_ENV } from "../../src/config/options";
import { COMMANDS } from "../../src/cli";

const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

/** The lines of the first Markdown table after `heading`. */
function tableAfter(heading: string): string {
  const from = readme.indexOf(heading);
  expect(from).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(from).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("|"));
  return lines.slice(start, end).join("\n");
}

describe("README", () => {
  const config = tableAfter("### Configuration");

  test.each([...OPTIONS.map((o) => o.env), ...OTHER_ENV])("the configuration table lists %s", (env) => {
    expect(config).toContain(`\`${env}\``);
  });

  test.each(OPTIONS.map((o) => o.flag))("the configuration table lists --%s", (flag) => {
    expect(config).toContain(`\`--${flag}\``);
  });

  test("the worker row of the commands table shows the miner spellings", () => {
    const row = tableAfter("## Commands").split("\n").find((l) => l.startsWith("| `rignode worker"))!;
    const worker = COMMANDS.find((c) => c.name === "worker")!;
    for (const alias of Object.keys(worker.aliases ?? {})) expect(row).toMatch(new RegExp(`\`[^\`]*${alias}\\b`));
  });
});

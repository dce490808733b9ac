// Config and network files are read only when they are regular files of at most 1 MiB: a device, a pipe or a huge
// file is a clear exit-2 message before a byte is read (RIGNODE_CONFIG=/dev/zero once grew to 8 GB).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitCodeFor, MAX_CONFIG_BYTES, RignodeError } from "../../src/core";
import { loadConfig } from "../../src/config";
import { loadNetwork } from "../../src/chain";

const dir = () => mkdtempSync(join(tmpdir(), "rignode-cfgfile-"));

function refusal(f: () => unknown): RignodeError {
  const t0 = performance.now();
  try {
    f();
  } catch (e) {
    expect(performance.now() - t0).toBeLessThan(2000); // refused at once: nothing read, nothing waited for
    expect(e).toBeInstanceOf(RignodeError);
    expect(exitCodeFor(e)).toBe(2);
    return e as RignodeError;
  }
  throw new Error("expected a refusal");
}

/** A named pipe no one writes to: opening it for reading would block start-up for good. */
function fifo(path: string): string {
  const r = Bun.spawnSync(["mkfifo", path]);
  if (r.exitCode !== 0) throw new Error(`mkfifo: ${r.stderr}`);
  return path;
}

describe("config file", () => {
  test("/dev/zero (RIGNODE_CONFIG or --config) is a character device, refused", () => {
    const e = refusal(() => loadConfig({ env: { RIGNODE_CONFIG: "/dev/zero" }, flags: {} }));
    expect(e.message).toBe("config file /dev/zero: a character device, not a regular file; pass a JSON file of at most 1 MiB (--config FILE or RIGNODE_CONFIG)");
    refusal(() => loadConfig({ file: "/dev/zero", env: {}, flags: {} }));
  });

  test("a directory and a named pipe are refused without blocking", () => {
    const d = dir();
    expect(refusal(() => loadConfig({ file: d, env: {}, flags: {} })).message).toContain(`config file ${d}: a directory, not a regular file`);
    const p = fifo(join(d, "c.json"));
    expect(refusal(() => loadConfig({ file: p, env: {}, flags: {} })).message).toContain(`config file ${p}: a named pipe, not a regular file`);
  });

  test("over 1 MiB is refused by its size; exactly 1 MiB is read", () => {
    const d = dir();
    const big = join(d, "big.json");
    writeFileSync(big, " ".repeat(MAX_CONFIG_BYTES + 1));
    expect(refusal(() => loadConfig({ file: big, env: {}, flags: {} })).message).toBe(
      `config file ${big}: ${MAX_CONFIG_BYTES + 1} bytes, more than the ${MAX_CONFIG_BYTES} bytes allowed; pass a JSON file of at most 1 MiB (--config FILE or RIGNODE_CONFIG)`,
    );
    const fits = join(d, "fits.json");
    const doc = JSON.stringify({ miner: { threads: 3 } });
    writeFileSync(fits, doc + " ".repeat(MAX_CONFIG_BYTES - doc.length));
    expect(loadConfig({ file: fits, env: {}, flags: {} }).miner.threads).toBe(3);
  });
});

describe("network file", () => {
  test("a named pipe, a directory or /dev/zero behind a .json name is refused", () => {
    const d = dir();
    const p = fifo(join(d, "net.json"));
    expect(refusal(() => loadNetwork(p)).message).toBe(`network file ${p}: a named pipe, not a regular file; pass --network NAME or a JSON file of at most 1 MiB`);
    const sub = join(d, "sub.json");
    mkdirSync(sub);
    expect(refusal(() => loadNetwork(sub)).message).toContain("a directory, not a regular file");
    const link = join(d, "zero.json");
    Bun.spawnSync(["ln", "-s", "/dev/zero", link]);
    expect(refusal(() => loadNetwork(link)).message).toContain("a character device, not a regular file");
  });

  test("over 1 MiB is refused", () => {
    const big = join(dir(), "big.json");
    writeFileSync(big, "{" + " ".repeat(MAX_CONFIG_BYTES) + "}");
    expect(refusal(() => loadNetwork(big)).message).toContain("more than the 1048576 bytes allowed");
  });
});

// Found by the fuzzer (test/fuzz): keys that live on every object's prototype chain were taken as config sections or
// network names. A config file {"__proto__": {"toString": 1}} was accepted and replaced Object.prototype.toString for
// the whole process; {"__proto__": {"__proto__": []}} threw a TypeError; --network constructor returned Object.
describe("prototype keys", () => {
  test("__proto__, constructor and toString in a config file are unknown keys, and Object.prototype is untouched", () => {
    const f = join(dir(), "c.json");
    const cases: [string, string][] = [
      ['{"__proto__": {"toString": 1}}', "unknown key '__proto__'"],
      ['{"__proto__": {"__proto__": []}}', "unknown key '__proto__'"],
      ['{"constructor": {"name": "x"}}', "unknown key 'constructor'"],
      ['{"toString": 1}', "unknown key 'toString'"],
      ['{"pool": {"hasOwnProperty": 1}}', "unknown key 'pool.hasOwnProperty'"],
      ['{"pool": {"__proto__": {"feePercent": 5}}}', "unknown key 'pool.__proto__'"],
    ];
    for (const [text, message] of cases) {
      writeFileSync(f, text);
      expect(refusal(() => loadConfig({ file: f, env: {}, flags: {} })).message).toContain(message);
      expect(Object.prototype.toString).toBe(Object.getPrototypeOf({}).toString);
      expect(typeof ({} as { toString: unknown }).toString).toBe("function");
      expect(Object.prototype.hasOwnProperty.call({}, "feePercent")).toBe(false);
    }
  });

  test("a network named like a member of Object (constructor, toString, __proto__) is unknown", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(refusal(() => loadNetwork(name)).message).toBe(`unknown network '${name}'; built in: devnet, devnet-sync, devnet-scrypt, or a FILE.json`);
    }
  });
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS, loadConfig } from "../../src/config";

function file(content: string): string {
  const p = join(mkdtempSync(join(tmpdir(), "rignode-cfg-")), "c.json");
  writeFileSync(p, content);
  return p;
}

describe("config", () => {
  test("defaults when nothing is given", () => {
    expect(loadConfig({ env: {}, flags: {} })).toEqual(DEFAULTS);
  });

  test("precedence: defaults < file < environment < flags", () => {
    const f = file(JSON.stringify({ miner: { threads: 3, batch: 77 }, api: { listen: "127.0.0.1:9000" }, dataDir: "/tmp/a" }));
    const c = loadConfig({ file: f, env: { RIGNODE_THREADS: "5", RIGNODE_DATA_DIR: "/tmp/b" }, flags: { threads: "7" } });
    expect(c.miner.threads).toBe(7); // flag wins over env and file
    expect(c.dataDir).toBe("/tmp/b"); // env wins over file
    expect(c.miner.batch).toBe(77); // file wins over default
    expect(c.api.listen).toBe("127.0.0.1:9000");
    expect(c.miner.algo).toBe("sha256d"); // default kept
  });

  test("RIGNODE_CONFIG names the file when --config is absent", () => {
    const f = file(JSON.stringify({ kernel: { variant: "baseline" } }));
    expect(loadConfig({ env: { RIGNODE_CONFIG: f }, flags: {} }).kernel.variant).toBe("baseline");
  });

  test("booleans from text", () => {
    expect(loadConfig({ env: { RIGNODE_LOG_JSON: "true" }, flags: {} }).log.json).toBe(true);
    expect(loadConfig({ env: {}, flags: { "log-json": true } }).log.json).toBe(true);
  });

  test("worker.printTime (default 60, 0 = off) and worker.retryForever from file, environment and flags", () => {
    expect(DEFAULTS.worker).toMatchObject({ printTime: 60, retryForever: false });
    const f = file(JSON.stringify({ worker: { printTime: 30, retryForever: true } }));
    expect(loadConfig({ file: f, env: {}, flags: {} }).worker).toMatchObject({ printTime: 30, retryForever: true });
    expect(loadConfig({ env: { RIGNODE_PRINT_TIME: "0", RIGNODE_RETRY_FOREVER: "yes" }, flags: {} }).worker).toMatchObject({ printTime: 0, retryForever: true });
    expect(loadConfig({ env: { RIGNODE_PRINT_TIME: "5" }, flags: { "print-time": "1", "retry-forever": true } }).worker).toMatchObject({ printTime: 1, retryForever: true });
  });

  const bad: [string, () => unknown, RegExp][] = [
    ["a fractional print time", () => loadConfig({ env: {}, flags: { "print-time": "1.5" } }), /--print-time: 1\.5 is not allowed; expected a whole number of seconds 0\.\.86400/],
    ["a negative print time", () => loadConfig({ env: { RIGNODE_PRINT_TIME: "-1" }, flags: {} }), /RIGNODE_PRINT_TIME: -1 is not allowed/],
    ["unknown top-level key in a file", () => loadConfig({ file: file(`{"minr":{}}`), env: {}, flags: {} }), /unknown key 'minr'; allowed: dataDir, network, log, p2p, api, kernel, miner/],
    ["unknown nested key in a file", () => loadConfig({ file: file(`{"miner":{"thredas":2}}`), env: {}, flags: {} }), /unknown key 'miner.thredas'; allowed in 'miner': algo, threads, batch, pin, mine, address/],
    ["bad value in a file names the file, key, value and what is allowed", () => loadConfig({ file: file(`{"miner":{"threads":0}}`), env: {}, flags: {} }), /config file .*c\.json, key miner\.threads: 0 is not allowed; expected auto or a whole number 1\.\.1024/],
    ["malformed JSON", () => loadConfig({ file: file(`{"miner": {`), env: {}, flags: {} }), /not valid JSON/],
    ["a JSON array at top level", () => loadConfig({ file: file(`[1]`), env: {}, flags: {} }), /expected a JSON object/],
    ["a missing file", () => loadConfig({ file: "/nonexistent/rignode.json", env: {}, flags: {} }), /cannot be read \(ENOENT\)/],
    ["bad environment value", () => loadConfig({ env: { RIGNODE_KERNEL: "v9" }, flags: {} }), /environment RIGNODE_KERNEL: "v9" is not allowed; expected auto, baseline, v3 or v4/],
    ["unknown RIGNODE_ variable", () => loadConfig({ env: { RIGNODE_THREAD: "2" }, flags: {} }), /unknown environment variable RIGNODE_THREAD/],
    ["bad flag value", () => loadConfig({ env: {}, flags: { api: "localhost" } }), /--api: "localhost" is not allowed; expected HOST:PORT/],
    ["port out of range", () => loadConfig({ env: {}, flags: { api: "127.0.0.1:70000" } }), /--api: "127\.0\.0\.1:70000" is not allowed/],
    ["non-boolean text for a boolean", () => loadConfig({ env: { RIGNODE_LOG_JSON: "maybe" }, flags: {} }), /RIGNODE_LOG_JSON: "maybe" is not allowed; expected true or false/],
  ];
  for (const [name, fn, re] of bad) {
    test(`refused: ${name}`, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeDefined();
      expect((err as Error).message).toMatch(re);
      expect((err as { code: string }).code).toBe("config");
    });
  }
});

// Where a role's API listens: the given address as given, or (none given) the next free port from the default.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { serveApi } from "../../src/api";
import { DEFAULTS, loadConfigWithOrigin } from "../../src/config";
import { createLogger, exitCodeFor, RignodeError } from "../../src/core";
import { apiAccess } from "../../src/node/api-access";

const held: { stop(force: boolean): void }[] = [];
/** A loopback port held by this test. */
function busyPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  held.push(s);
  return s.port;
}
afterAll(() => held.forEach((s) => s.stop(true)));

const app = new Hono().get("/", (c) => c.text("here"));
const log = createLogger({ json: true, level: "error" });

describe("serveApi over candidate ports", () => {
  test("a busy port is skipped while there is another candidate", async () => {
    const busy = busyPort();
    const free = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const freePort = free.port;
    free.stop(true);
    const s = serveApi(app, "127.0.0.1", [busy, freePort]);
    try {
      expect(s.port).toBe(freePort);
      expect(await (await fetch(`http://127.0.0.1:${s.port}/`)).text()).toBe("here");
    } finally {
      await s.stop();
    }
  });

  test("every candidate busy: a runtime error (exit 1) that says to pass --api", () => {
    const ports = [busyPort(), busyPort()];
    let err: unknown;
    try {
      serveApi(app, "127.0.0.1", ports);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RignodeError);
    expect((err as RignodeError).code).toBe("busy");
    expect((err as Error).message).toBe(`API ports 127.0.0.1:${ports[0]}-${ports[1]} are all in use (other rignode processes?); pass --api HOST:PORT`);
    expect(exitCodeFor(err)).toBe(1);
  });

  test("a single given port that is busy fails as given", () => {
    const port = busyPort();
    expect(() => serveApi(app, "127.0.0.1", [port])).toThrow(`API port 127.0.0.1:${port} is in use (another rignode?); pass --api HOST:PORT, e.g. --api 127.0.0.1:${port + 10}`);
  });
});

describe("explicit or default API address", () => {
  const file = join(mkdtempSync(join(tmpdir(), "rignode-cfg-")), "c.json");
  writeFileSync(file, JSON.stringify({ api: { listen: "127.0.0.1:8420" } }));
  test.each([
    ["nothing given", {}, {}, undefined, undefined],
    ["--api, even with the default value", {}, { api: "127.0.0.1:8420" }, undefined, "--api"],
    ["RIGNODE_API", { RIGNODE_API: "127.0.0.1:9000" }, {}, undefined, "environment RIGNODE_API"],
    ["the config file's api.listen", {}, {}, file, `config file ${file}, key api.listen`],
  ] as [string, Record<string, string>, Record<string, string>, string | undefined, string | undefined][])("%s", (_name, env, flags, f, origin) => {
    expect(loadConfigWithOrigin({ env, flags, file: f }).origin.get("api.listen")).toBe(origin);
  });

  test("candidates: the given port alone, or 8420 upward past the P2P ports", () => {
    const cfg = structuredClone(DEFAULTS);
    expect(apiAccess(cfg, log, true).ports).toEqual([8420]);
    const auto = apiAccess(cfg, log, false).ports;
    expect(auto[0]).toBe(8420);
    expect(auto).not.toContain(8421); // the default P2P port
    expect(auto.at(-1)).toBe(8439);
    cfg.p2p.listen = "0.0.0.0:8425";
    expect(apiAccess(cfg, log, false).ports).not.toContain(8425); // this node's own P2P port
  });
});

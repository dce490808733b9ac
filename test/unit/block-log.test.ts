// One info line per block on a mining node: chain.tip with height, hash prefix, txs, where it came from and the time
// since the last one; the miner's own line is debug. A real chain, the real kernel and the solo job source.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, blockHash, generateKeyPair } from "../../src/chain";
import { createLogger, leToDisplayHex } from "../../src/core";
import { Store } from "../../src/store";
import { SoloJobSource } from "../../src/node/solo";
import { EASY, kernel, mineOn } from "../chain/helpers";

type Line = { level: string; event: string; [k: string]: unknown };

function setup(level: "info" | "debug") {
  const lines: Line[] = [];
  const log = createLogger({ json: true, level, write: (l) => lines.push(JSON.parse(l)) });
  let ms = 5_000_000;
  const store = Store.open(mkdtempSync(join(tmpdir(), "rignode-blocklog-")));
  const chain = new Chain({ store, params: EASY, powHash: (h) => kernel.hash(EASY.algo, h), log: log.child({ component: "chain" }), clockMs: () => ms });
  return { chain, lines, log, advance: (d: number) => (ms += d) };
}

/** Mines the solo source's current job with the kernel and hands the nonce over, as the engine would. */
function mineSolo(source: SoloJobSource): void {
  const job = source.job();
  for (let start = 0; start < 1 << 24; start += 256) {
    const hits = kernel.scan(EASY.algo, job.header, start, 256, job.target);
    if (hits.length) return source.found({ jobId: job.id, nonce: hits[0]! });
  }
  throw new Error("no nonce found");
}

describe("block log lines", () => {
  test("a solo-mined block: exactly one info line (chain.tip from=miner), the miner's own line at debug", () => {
    const { chain, lines, log, advance } = setup("info");
    const source = new SoloJobSource(chain, generateKeyPair().publicKey, log.child({ component: "miner" }));
    mineSolo(source);
    advance(1250);
    mineSolo(source);
    advance(40);
    mineSolo(source);
    expect(source.blocksFound).toBe(3);
    expect(lines.map((l) => l.event)).toEqual(["chain.tip", "chain.tip", "chain.tip"]);
    const tip = chain.tip();
    expect(lines[2]).toEqual({
      ts: lines[2]!.ts, level: "info", event: "chain.tip", component: "chain",
      height: 3, hash: leToDisplayHex(tip.hash).slice(0, 16), txs: 1, from: "miner", since_last_s: 0.04,
    });
    expect(lines[1]!.since_last_s).toBe(1.25);
    expect(lines[0]!.since_last_s).toBeUndefined(); // the first tip this process saw
  });

  test("at debug the miner's block_found is there too, with the full hash", () => {
    const { chain, lines, log } = setup("debug");
    const source = new SoloJobSource(chain, generateKeyPair().publicKey, log.child({ component: "miner" }));
    mineSolo(source);
    const found = lines.find((l) => l.event === "miner.block_found")!;
    expect(found.level).toBe("debug");
    expect(found.hash).toBe(leToDisplayHex(chain.tip().hash));
  });

  test("a block from elsewhere names its source; a reorg says how deep; a side block logs nothing", () => {
    const { chain, lines } = setup("info");
    const other = setup("info").chain;
    const key = generateKeyPair();
    mineOn(chain, key);
    const a = mineOn(other, key).block;
    const b = mineOn(other, key).block;
    lines.length = 0;
    expect(chain.acceptBlock(a, "peer 127.0.0.1:8421").status).toBe("side");
    expect(lines).toEqual([]);
    expect(chain.acceptBlock(b, "peer 127.0.0.1:8421").status).toBe("reorg");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: "chain.tip", height: 2, from: "peer 127.0.0.1:8421", reorg_depth: 1 });
    expect(lines[0]!.hash).toBe(leToDisplayHex(blockHash(b.header)).slice(0, 16));
  });
});

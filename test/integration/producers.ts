// devnet-sync producers as real processes, shared by the proof-of-sync tests.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, getJson } from "../helpers";

export interface Producer {
  /** Node id (filled in by a test that needs it). */
  id: string;
  api: string;
  p2p: number;
  proc: ReturnType<typeof Bun.spawn>;
}

/** The node key seed of devnet-sync's producer i (the network's published seeds). */
export const seedOf = (i: number) => new Bun.CryptoHasher("sha256").update(`rignode devnet-sync producer ${i}`).digest("hex");

/** Producer i of devnet-sync (its node key from the network's seed), with --peer links only. */
export function startProducer(i: number, peers: number[], p2p = freePort()): Producer {
  const data = mkdtempSync(join(tmpdir(), `rignode-sync-${i}-`));
  writeFileSync(join(data, "node.key"), seedOf(i) + "\n", { mode: 0o600 });
  const api = `127.0.0.1:${freePort()}`;
  const proc = Bun.spawn(
    [bin(), "node", "--network", "devnet-sync", "--data-dir", data, "--api", api, "--p2p", `127.0.0.1:${p2p}`, "--discover=false", ...peers.flatMap((p) => ["--peer", `127.0.0.1:${p}`])],
    { stdout: "ignore", stderr: "ignore" },
  );
  return { id: "", api, p2p, proc };
}

/** GET a path of a producer's API as JSON (undefined when it does not answer 2xx). */
export const get = (n: Producer, path: string) => getJson(`http://${n.api}${path}`);

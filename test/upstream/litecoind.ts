// A litecoind regtest pair on loopback for the upstream tests: the "oracle" the pool talks to, and a peer that
// listens only so that the oracle has a connection (getblocktemplate refuses to work without one, even in regtest).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitFor } from "../helpers";

export const LITECOIND = "/usr/lib/litecoin/litecoind";
export const haveLitecoind = existsSync(LITECOIND);

const USER = "rig";
const PASS = "regtestpass";

export interface Daemon {
  rpcPort: number;
  url: string;
  call<T = any>(method: string, params?: unknown[]): Promise<T>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function daemon(dir: string, args: string[]): Daemon {
  const rpcPort = freePort();
  mkdirSync(dir, { recursive: true });
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  const call = async (method: string, params: unknown[] = []) => {
    const res = await fetch(`http://127.0.0.1:${rpcPort}/`, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64"), "content-type": "text/plain", connection: "close" },
      body: JSON.stringify({ jsonrpc: "1.0", id: "t", method, params }),
    });
    const body: any = await res.json();
    if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
    return body.result;
  };
  const d: Daemon = {
    rpcPort,
    url: `http://${USER}:${PASS}@127.0.0.1:${rpcPort}`,
    call,
    async start() {
      proc = Bun.spawn(
        [
          LITECOIND, "-regtest", `-datadir=${dir}`, "-server=1", "-printtoconsole=0", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
          `-rpcport=${rpcPort}`, `-rpcuser=${USER}`, `-rpcpassword=${PASS}`, "-dnsseed=0", "-discover=0", "-upnp=0", "-listenonion=0",
          "-fallbackfee=0.0001", ...args,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      await waitFor(() => call("getblockcount").then(() => true), 30_000);
    },
    async stop() {
      if (!proc) return;
      proc.kill("SIGTERM");
      await proc.exited;
      proc = null;
    },
  };
  return d;
}

/** The oracle and its peer, MWEB on (activates at height 432) or never active. */
export async function regtestPair(dir: string, mweb: boolean): Promise<{ oracle: Daemon; peer: Daemon; peerP2p: number; stop(): Promise<void> }> {
  const p2p = freePort();
  const vb = mweb ? [] : ["-vbparams=mweb:-2:0:0:0"];
  const peer = daemon(join(dir, "peer"), ["-listen=1", `-bind=127.0.0.1:${p2p}`, `-bind=127.0.0.1:${freePort()}=onion`, "-connect=0", "-disablewallet=1", ...vb]);
  const oracle = daemon(join(dir, "oracle"), ["-listen=0", "-connect=0", `-addnode=127.0.0.1:${p2p}`, ...vb]);
  await peer.start();
  await oracle.start();
  await waitFor(async () => ((await oracle.call("getconnectioncount")) > 0 ? true : undefined), 30_000);
  return { oracle, peer, peerP2p: p2p, stop: async () => void (await Promise.all([oracle.stop(), peer.stop()])) };
}

/**
 * One more regtest daemon that only listens (on `p2p`): a second peer the oracle can `addnode`, so that the oracle
 * keeps a connection (getblocktemplate) while the pair's peer is cut off.
 */
export async function listener(dir: string, mweb: boolean): Promise<Daemon & { p2p: number }> {
  const p2p = freePort();
  const vb = mweb ? [] : ["-vbparams=mweb:-2:0:0:0"];
  const d = daemon(dir, ["-listen=1", `-bind=127.0.0.1:${p2p}`, `-bind=127.0.0.1:${freePort()}=onion`, "-connect=0", "-disablewallet=1", ...vb]);
  await d.start();
  return Object.assign(d, { p2p });
}

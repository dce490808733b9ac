// A hand-driven P2P peer for hostile tests and benches: raw TCP from a chosen loopback address, the real handshake,
// then whatever bytes the test sends; it records every message the node sends it.
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { frame, FrameDecoder } from "../../src/p2p";
import { blockHash, encode, generateKeyPair, genesisBlock, NETWORKS, signMessage, type NetworkParams, type Value } from "../../src/chain";

export class RawPeer {
  readonly received: Value[][] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(8 << 20);

  private constructor(readonly socket: Socket) {}

  /**
   * Connects to 127.0.0.1:`port` from `ip`. With `handshake`, sends a hello (genesis as its tip, height 0) and
   * signs the node's challenge; resolves once both are sent (the node is ready for it right after).
   */
  static open(port: number, ip: string, handshake = true, params: NetworkParams = NETWORKS.devnet!): Promise<RawPeer> {
    const kp = generateKeyPair();
    const genesis = blockHash(genesisBlock(params).header);
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, localAddress: ip });
      const peer = new RawPeer(s);
      let authed = false;
      s.on("connect", () => {
        if (!handshake) return resolve(peer);
        s.write(frame(["hello", 1, params.chainId, genesis, 0, genesis, kp.publicKey, 0, new Uint8Array(32)], 1 << 20));
      });
      s.on("data", (d: Buffer) => {
        let msgs: Value[];
        try {
          msgs = peer.decoder.push(new Uint8Array(d));
        } catch {
          return s.destroy();
        }
        for (const m of msgs as Value[][]) {
          peer.received.push(m);
          if (handshake && !authed && m[0] === "hello") {
            authed = true;
            s.write(frame(["auth", signMessage(kp.seed, encode(["rignode-p2p-auth", params.chainId, m[8] as Uint8Array]))], 1 << 20));
            resolve(peer);
          }
        }
      });
      s.on("error", (e) => (peer.closed ? undefined : reject(e)));
      s.on("close", () => (peer.closed = true));
    });
  }

  /** Writes bytes; resolves when the socket took them (backpressure respected). */
  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.socket.write(bytes)) return resolve();
      const done = () => {
        this.socket.off("drain", done).off("close", done);
        resolve();
      };
      this.socket.on("drain", done).on("close", done);
    });
  }

  /** Sends `count` frames built by `make(i)`, `perTick` of them every 100 ms (under the node's 500/s flood ban). */
  async flood(count: number, perTick: number, make: (i: number) => Uint8Array): Promise<void> {
    for (let i = 0; i < count && !this.closed; ) {
      const batch: Uint8Array[] = [];
      for (let k = 0; k < perTick && i < count; k++, i++) batch.push(make(i));
      await this.write(Buffer.concat(batch));
      await Bun.sleep(100);
    }
  }

  names(): string[] {
    return this.received.map((m) => String(m[0]));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** Resident memory of a process in MB (VmRSS of /proc/PID/status). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Samples a process's RSS every 250 ms until stopped; `peak` is the highest seen. */
export function rssSampler(pid: number): { peak: () => number; stop: () => void } {
  let peak = rssMb(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // The process ended.
    }
  }, 250);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

/** An addr message of 100 distinct public-looking addresses (message i of a flood). */
export const addrFrame = (i: number) =>
  frame(["addr", Array.from({ length: 100 }, (_, k) => [`10.${(i >> 8) & 255}.${i & 255}.${k}`, 8421])], 1 << 20);

/** 1,000 block ids nobody has, the same on every call with the same seed. */
export function fakeIds(seed: number): Uint8Array[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const id = new Uint8Array(32);
    new DataView(id.buffer).setUint32(0, seed);
    new DataView(id.buffer).setUint32(4, i);
    id[31] = 0xab;
    return id;
  });
}

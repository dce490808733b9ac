import { RignodeError, decode, encode, type Value } from "../core";

// Every TCP link of rignode's own (P2P and the native Stratum port): a 4-byte big-endian length, then one msgpack
// value: canonical for P2P (the default codec), the loose profile for Stratum's JSON-RPC objects.

/** How a frame body is written and read. */
export interface FrameCodec<T> {
  encode(v: T): Uint8Array;
  decode(b: Uint8Array): T;
}

const CANONICAL: FrameCodec<Value> = { encode, decode: (b) => decode(b) };

/** One frame's bytes for a value; refuses a value larger than `max`. */
export function frame<T = Value>(v: T, max: number, codec: FrameCodec<T> = CANONICAL as unknown as FrameCodec<T>): Uint8Array {
  const body = codec.encode(v);
  if (body.length > max) throw new RignodeError("input", `frame of ${body.length} bytes exceeds ${max}`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * Reassembles frames from a byte stream that arrives in arbitrary chunks. A length over `max` or a body that is
 * not canonical msgpack throws (the caller closes the connection and says why).
 */
export class FrameDecoder<T = Value> {
  private buf = new Uint8Array(0);

  constructor(
    private readonly max: number,
    private readonly codec: FrameCodec<T> = CANONICAL as unknown as FrameCodec<T>,
  ) {}

  /** Feeds a chunk; returns every complete value it finished. */
  push(chunk: Uint8Array): T[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: T[] = [];
    let at = 0;
    while (joined.length - at >= 4) {
      const len = new DataView(joined.buffer, joined.byteOffset + at, 4).getUint32(0);
      if (len > this.max) throw new RignodeError("input", `frame length ${len} exceeds the maximum ${this.max}`);
      if (joined.length - at - 4 < len) break;
      out.push(this.codec.decode(joined.subarray(at + 4, at + 4 + len)));
      at += 4 + len;
    }
    this.buf = joined.slice(at);
    return out;
  }

  /** Bytes waiting for the rest of their frame. */
  pending(): number {
    return this.buf.length;
  }
}

/** The socket surface the writer needs (Bun's TCP socket has it). */
export interface WritableSocket {
  write(data: Uint8Array): number;
  end(): void;
}

/**
 * Writes frames in order even when the socket takes only part of a write: the rest waits for drain().
 * Too much waiting (a peer that does not read) is refused rather than buffered without limit.
 */
export class FrameWriter {
  private queue: Uint8Array[] = [];
  private queued = 0;

  constructor(
    private readonly socket: WritableSocket,
    private readonly maxQueued: number,
  ) {}

  /** Queues bytes; false when the peer is too far behind and the link should be closed. */
  send(bytes: Uint8Array): boolean {
    if (this.queue.length === 0) {
      const n = this.socket.write(bytes);
      if (n === bytes.length) return true;
      bytes = bytes.subarray(Math.max(0, n));
    }
    if (this.queued + bytes.length > this.maxQueued) return false;
    this.queue.push(bytes);
    this.queued += bytes.length;
    return true;
  }

  /** Called from the socket's drain handler: writes what it can of the queue. */
  drain(): void {
    while (this.queue.length) {
      const head = this.queue[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        this.queued -= Math.max(0, n);
        return;
      }
      this.queue.shift();
      this.queued -= head.length;
    }
  }

  /** Bytes not yet written. */
  backlog(): number {
    return this.queued;
  }
}

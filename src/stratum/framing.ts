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

/** An unfinished frame gets this long at least, plus its length at MIN_FRAME_RATE, before it is overdue. */
export const FRAME_FLOOR_MS = 15_000;
/** Slowest rate (bytes per second) a frame must arrive at on average: 4 MiB may take 15 s + 8.5 min. */
export const MIN_FRAME_RATE = 8 * 1024;

/**
 * Reassembles frames from a byte stream that arrives in arbitrary chunks. A length over `max` or a body that is
 * not canonical msgpack throws (the caller closes the connection and says why). Once a frame's length is known its
 * body buffer is allocated once and filled as chunks come (a frame trickled in small pieces is not re-copied per
 * read), and the frame is timed: overdue() says when it has taken longer than its size allows.
 */
export class FrameDecoder<T = Value> {
  /** Bytes of a length prefix not yet complete (0-3 of them). */
  private head = new Uint8Array(4);
  private headLen = 0;
  /** The body being filled, and how much of it has come. */
  private body: Uint8Array | null = null;
  private filled = 0;
  private started = 0;

  constructor(
    private readonly max: number,
    private readonly codec: FrameCodec<T> = CANONICAL as unknown as FrameCodec<T>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Feeds a chunk; returns every complete value it finished. */
  push(chunk: Uint8Array): T[] {
    const out: T[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.body === null) {
        // A whole prefix and body in this chunk: decoded in place, nothing copied.
        if (this.headLen === 0 && chunk.length - at >= 4) {
          const len = new DataView(chunk.buffer, chunk.byteOffset + at, 4).getUint32(0);
          this.check(len);
          if (chunk.length - at - 4 >= len) {
            out.push(this.codec.decode(chunk.subarray(at + 4, at + 4 + len)));
            at += 4 + len;
            continue;
          }
          this.begin(len);
          at += 4;
          continue;
        }
        const take = Math.min(4 - this.headLen, chunk.length - at);
        this.head.set(chunk.subarray(at, at + take), this.headLen);
        this.headLen += take;
        at += take;
        if (this.headLen < 4) {
          if (!this.started) this.started = this.now();
          break;
        }
        const len = new DataView(this.head.buffer).getUint32(0);
        this.check(len);
        this.headLen = 0;
        if (len === 0) {
          this.started = 0;
          out.push(this.codec.decode(new Uint8Array(0)));
        } else this.begin(len);
        continue;
      }
      const take = Math.min(this.body.length - this.filled, chunk.length - at);
      this.body.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.body.length) {
        const body = this.body;
        this.body = null;
        this.filled = 0;
        this.started = 0;
        out.push(this.codec.decode(body));
      }
    }
    return out;
  }

  private check(len: number): void {
    if (len > this.max) throw new RignodeError("input", `frame length ${len} exceeds the maximum ${this.max}`);
  }

  private begin(len: number): void {
    if (!this.started) this.started = this.now();
    this.body = new Uint8Array(len);
    this.filled = 0;
  }

  /** Bytes waiting for the rest of their frame. */
  pending(): number {
    return this.body ? 4 + this.filled : this.headLen;
  }

  /** The length the unfinished frame declared (0: none, or its prefix is not complete yet). */
  expected(): number {
    return this.body?.length ?? 0;
  }

  /**
   * Why the unfinished frame is overdue at `now`, or null: it must complete within FRAME_FLOOR_MS plus its
   * length at MIN_FRAME_RATE from its first byte (a peer trickling a frame it never finishes holds no link for long).
   */
  overdue(now = this.now()): string | null {
    if (!this.started) return null;
    const allowed = FRAME_FLOOR_MS + Math.ceil((this.expected() / MIN_FRAME_RATE) * 1000);
    if (now - this.started <= allowed) return null;
    return `a frame of ${this.expected()} bytes unfinished after ${Math.round((now - this.started) / 1000)} s (${this.pending()} bytes came)`;
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
    if (this.queued === 0) {
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

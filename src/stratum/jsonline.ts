import { RignodeError } from "../core";

// Stratum V1's own framing: one JSON object per line, "\n"-terminated. Lines arrive split across reads; a line
// over the cap (no newline within it) is a protocol error and closes the connection.

const EMPTY = new Uint8Array(0);

/**
 * Reassembles newline-terminated JSON messages from chunks; blank lines are skipped, "\r\n" is accepted. It keeps
 * only the bytes of an unfinished line between reads (no decoder object per connection: thousands are held).
 */
export class LineDecoder {
  private partial: Uint8Array = EMPTY;

  constructor(private readonly maxLine: number) {}

  /** Every complete message in the chunk; throws "input" for an overlong line or a line that is not JSON. */
  push(chunk: Uint8Array): unknown[] {
    let buf = chunk;
    if (this.partial.length) {
      buf = new Uint8Array(this.partial.length + chunk.length);
      buf.set(this.partial);
      buf.set(chunk, this.partial.length);
    }
    const out: unknown[] = [];
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    let start = 0;
    for (;;) {
      const nl = b.indexOf(10, start);
      if (nl < 0) break;
      if (nl - start > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
      const line = b.toString("utf8", start, nl).trim();
      start = nl + 1;
      if (!line) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new RignodeError("input", `line is not JSON: ${line.slice(0, 40)}`);
      }
    }
    if (buf.length - start > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
    this.partial = start === buf.length ? EMPTY : buf.slice(start);
    return out;
  }
}

/** One message as a line. */
export function encodeLine(m: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(m) + "\n");
}

import { RignodeError } from "../core";

// Stratum V1's own framing: one JSON object per line, "\n"-terminated. Lines arrive split across reads; a line
// over the cap (no newline within it) is a protocol error and closes the connection.

/**
 * Reassembles newline-terminated JSON messages from chunks; blank lines are skipped, "\r\n" is accepted. It keeps
 * only the bytes of an unfinished line between reads (no decoder object per connection: thousands are held), in a
 * buffer that doubles as it fills: each byte is copied O(1) times, not once per read (a line trickled in 1-byte reads
 * cost O(n^2): 16 KiB took about 0.25 s of CPU, a 1 MiB line on the worker's side minutes).
 */
export class LineDecoder {
  /** The unfinished line: its first `partial` bytes (null when there is none). */
  private buf: Uint8Array | null = null;
  private partial = 0;
  constructor(private readonly maxLine: number) {}

  /** Every complete message in the chunk; throws "input" for an overlong line or a line that is not JSON. */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = b.indexOf(10, start);
      if (nl < 0) break;
      if (this.partial + nl - start > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
      let text: string;
      if (this.buf) {
        this.append(b.subarray(start, nl));
        text = Buffer.from(this.buf.buffer, 0, this.partial).toString("utf8");
        this.buf = null;
        this.partial = 0;
      } else text = b.toString("utf8", start, nl);
      const line = text.trim();
      start = nl + 1;
      if (!line) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new RignodeError("input", `line is not JSON: ${line.slice(0, 40)}`);
      }
    }
    if (start < chunk.length) {
      if (this.partial + chunk.length - start > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
      // A copy: the caller may reuse the chunk's memory for its next read.
      this.append(chunk.subarray(start));
    }
    return out;
  }

  private append(bytes: Uint8Array): void {
    const need = this.partial + bytes.length;
    if (!this.buf || need > this.buf.length) {
      const grown = new Uint8Array(Math.min(Math.max(need, 2 * (this.buf?.length ?? 0), 256), this.maxLine + 1));
      if (this.buf) grown.set(this.buf.subarray(0, this.partial));
      this.buf = grown;
    }
    this.buf.set(bytes, this.partial);
    this.partial = need;
  }
}

/** One message as a line. */
export function encodeLine(m: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(m) + "\n");
}

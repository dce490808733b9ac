import { RignodeError } from "../core";

// Stratum V1's own framing: one JSON object per line, "\n"-terminated. Lines arrive split across reads; a line
// over the cap (no newline within it) is a protocol error and closes the connection.

/** Reassembles newline-terminated JSON messages from chunks; blank lines are skipped, "\r\n" is accepted. */
export class LineDecoder {
  private partial = "";
  private readonly text = new TextDecoder("utf-8", { fatal: false });

  constructor(private readonly maxLine: number) {}

  /** Every complete message in the chunk; throws "input" for an overlong line or a line that is not JSON. */
  push(chunk: Uint8Array): unknown[] {
    const s = this.partial + this.text.decode(chunk, { stream: true });
    const lines = s.split("\n");
    this.partial = lines.pop()!;
    if (this.partial.length > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
    const out: unknown[] = [];
    for (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      if (line.length > this.maxLine) throw new RignodeError("input", `line longer than ${this.maxLine} bytes`);
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new RignodeError("input", `line is not JSON: ${line.slice(0, 40)}`);
      }
    }
    return out;
  }
}

/** One message as a line. */
export function encodeLine(m: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m) + "\n");
}

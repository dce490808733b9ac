import { createHash, scryptSync } from "node:crypto";
import { RignodeError, leToBigInt, type Algo, type HashBackend } from "../core";

/** The TypeScript reference (node:crypto / OpenSSL): slow, independent of the Zig kernel, for tests. */
export const referenceBackend: HashBackend = {
  name: "reference",
  hash(algo: Algo, header: Uint8Array): Uint8Array {
    if (header.length !== 80) throw new RignodeError("input", `header must be 80 bytes, got ${header.length}`);
    if (algo === "sha256d") {
      const first = createHash("sha256").update(header).digest();
      return new Uint8Array(createHash("sha256").update(first).digest());
    }
    return new Uint8Array(scryptSync(header, header, 32, { N: 1024, r: 1, p: 1 }));
  },
  scan(algo: Algo, header: Uint8Array, start: number, count: number, target: Uint8Array): number[] {
    const h = Uint8Array.from(header);
    const view = new DataView(h.buffer);
    const t = leToBigInt(target);
    const found: number[] = [];
    for (let n = start; n < start + count; n++) {
      view.setUint32(76, n >>> 0, true);
      if (leToBigInt(this.hash(algo, h)) <= t) found.push(n >>> 0);
    }
    return found;
  },
};

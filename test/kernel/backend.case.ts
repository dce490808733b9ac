// One suite, run against every hash backend: each kernel variant this CPU runs and the TypeScript reference.
import { describe, expect, test } from "bun:test";
import { displayHexToLe, fromHex, leToDisplayHex, type Algo, type HashBackend } from "../../src/core";
import vectors from "../fixtures/pow-vectors.json";
import { prng } from "../helpers";
export { prng };

const ALGOS: Algo[] = ["sha256d", "scrypt"];

/** Registers the vector tests for `backend`. */
export function backendSuite(backend: HashBackend): void {
  describe(`backend ${backend.name}`, () => {
    const headers = [...vectors.real_headers, ...vectors.random_headers];
    for (const algo of ALGOS) {
      test(`hash reproduces all ${headers.length} ${algo} vectors`, () => {
        for (const v of headers) {
          expect(leToDisplayHex(backend.hash(algo, fromHex(v.header, 80)))).toBe(v[algo]);
        }
      });
    }
    for (const s of vectors.scans) {
      test(`scan ${s.pow} [${s.start}, +${s.count}) reproduces the found list exactly`, () => {
        const header = new Uint8Array(80);
        header.set(fromHex(s.prefix76, 76));
        expect(backend.scan(s.pow as Algo, header, s.start, s.count, displayHexToLe(s.target))).toEqual(s.found);
      });
    }
    test("a real header meets its own target and its hash is below it", () => {
      for (const h of vectors.real_headers) {
        const hash = backend.hash(h.pow as Algo, fromHex(h.header, 80));
        expect(BigInt("0x" + leToDisplayHex(hash)) <= BigInt("0x" + h.target)).toBe(true);
      }
    });
  });
}


import { describe, expect, test } from "bun:test";
import { loadSupportedVariants, referenceBackend, type KernelLib } from "../../src/kernel";
import { backendSuite, prng } from "./backend.case";
import { KERNEL_VARIANTS, type Algo } from "../../src/core";

const libs: KernelLib[] = await loadSupportedVariants();

backendSuite(referenceBackend);
for (const lib of libs) for (const impl of lib.impls("sha256d")) backendSuite(lib.withImpl(impl));
// The variants this CPU cannot run show up as skipped (a CPU without AVX-512 runs no v4 test), never vanish.
for (const v of KERNEL_VARIANTS.filter((v) => !libs.some((l) => l.variant === v))) {
  test.skip(`zig-${v}: backend suite and scan properties (skipped: this CPU does not run it)`, () => {});
}

describe("property: scans never miss or invent a nonce (vs the TypeScript reference)", () => {
  const cases: { algo: Algo; count: number; zeroBits: number; rounds: number }[] = [
    { algo: "sha256d", count: 3000, zeroBits: 6, rounds: 6 },
    { algo: "scrypt", count: 300, zeroBits: 4, rounds: 3 },
  ];
  for (const lib of libs) {
    for (const c of cases.flatMap((c) => lib.impls(c.algo).map((impl) => ({ ...c, impl })))) {
      test(`${lib.name}/${c.impl} ${c.algo}: random prefixes, easy targets, odd counts, starts near 2^32`, () => {
        const seed = 0x5eed + c.count + lib.lanes;
        const rnd = prng(seed);
        for (let r = 0; r < c.rounds; r++) {
          const header = new Uint8Array(80).map(() => Math.floor(rnd() * 256));
          // Targets with a few leading zero bits and random low bits: some hits, a count that is not a lane multiple.
          const target = new Uint8Array(32).map(() => Math.floor(rnd() * 256));
          target[31] = 0xff >> c.zeroBits;
          const count = c.count + Math.floor(rnd() * 17);
          const start = r % 2 === 0 ? 2 ** 32 - count : Math.floor(rnd() * (2 ** 32 - count));
          const want = referenceBackend.scan(c.algo, header, start, count, target);
          const got = lib.scan(c.algo, header, start, count, target, c.impl);
          expect({ seed, round: r, got }).toEqual({ seed, round: r, got: want });
          expect(want.length).toBeGreaterThan(0);
        }
      });
    }
  }
});

describe("kernel binding", () => {
  test("each variant reports the build it is and its lane count", () => {
    const lanes = { baseline: 4, v3: 8, v4: 16 } as const;
    for (const lib of libs) expect(lib.lanes).toBe(lanes[lib.variant]);
  });

  test("a bad header length or nonce range is a typed error, not a crash", () => {
    const lib = libs[0]!;
    expect(() => lib.hash("sha256d", new Uint8Array(79))).toThrow("header must be 80 bytes");
    expect(() => lib.scan("sha256d", new Uint8Array(80), 2 ** 32 - 1, 2, new Uint8Array(32))).toThrow("outside");
    expect(() => lib.scan("sha256d", new Uint8Array(80), 0, 1, new Uint8Array(31))).toThrow("target must be 32 bytes");
  });

  test("a scan with more hits than the output buffer still returns every hit", () => {
    const lib = libs[libs.length - 1]!;
    const all = new Uint8Array(32).fill(0xff);
    const got = lib.scan("sha256d", new Uint8Array(80), 10, 5000, all);
    expect(got.length).toBe(5000);
    expect(got[0]).toBe(10);
    expect(got[4999]).toBe(5009);
  });

  test("hashMany gives each header's digest, in every variant, for counts around the lane width", () => {
    const headers = new Uint8Array(37 * 80);
    for (let i = 0; i < headers.length; i++) headers[i] = (i * 131 + 7) & 0xff;
    for (const lib of libs) {
      for (const algo of ["sha256d", "scrypt"] as const) {
        for (const n of [0, 1, lib.lanes - 1, lib.lanes, lib.lanes + 1, 37]) {
          const out = lib.hashMany(algo, headers.subarray(0, n * 80), n);
          expect(out.length).toBe(n * 32);
          for (let i = 0; i < n; i++) expect(out.subarray(i * 32, i * 32 + 32)).toEqual(lib.hash(algo, headers.subarray(i * 80, i * 80 + 80)));
        }
      }
      expect(() => lib.hashMany("sha256d", new Uint8Array(81), 1)).toThrow("hashMany needs 1 x 80 bytes");
    }
  });
});

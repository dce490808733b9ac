import { displayHexToLe, leToDisplayHex, fromHex, type Algo, type HashBackend } from "../core";
import vectors from "./vectors.json" with { type: "json" };

export interface SelftestCase {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface SelftestResult {
  backend: string;
  ok: boolean;
  cases: SelftestCase[];
  ms: number;
}

/** Runs the built-in vectors (OpenSSL-computed) on one backend: every hash, every scan's exact found list. */
export function selftest(backend: HashBackend): SelftestResult {
  const t0 = performance.now();
  const cases: SelftestCase[] = [];
  vectors.hashes.forEach((v, i) => {
    const header = fromHex(v.header, 80);
    for (const algo of ["sha256d", "scrypt"] as Algo[]) {
      const got = leToDisplayHex(backend.hash(algo, header));
      const want = v[algo];
      cases.push({ name: `hash ${algo} #${i}`, ok: got === want, detail: got === want ? undefined : `got ${got}, want ${want}` });
    }
  });
  for (const s of vectors.scans) {
    const header = new Uint8Array(80);
    header.set(fromHex(s.prefix76, 76));
    const got = backend.scan(s.pow as Algo, header, s.start, s.count, displayHexToLe(s.target));
    const ok = got.length === s.found.length && got.every((n, i) => n === s.found[i]);
    cases.push({
      name: `scan ${s.pow} [${s.start}, +${s.count})`,
      ok,
      detail: ok ? undefined : `got [${got.slice(0, 8).join(",")}${got.length > 8 ? ",…" : ""}] (${got.length}), want ${s.found.length} hits`,
    });
  }
  return { backend: backend.name, ok: cases.every((c) => c.ok), cases, ms: performance.now() - t0 };
}

/** Digest bytes of a header as display hex (for `rignode hash`). */
export function hashDisplay(backend: HashBackend, algo: Algo, header: Uint8Array): string {
  return leToDisplayHex(backend.hash(algo, header));
}


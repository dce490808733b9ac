import { KERNEL_VARIANTS } from "../../core";
import { cpuFeatures, loadSupportedVariants, selftest, supportedVariants } from "../../kernel";
import type { Command } from "../command";

export const selftestCommand: Command = {
  name: "selftest",
  summary: "check every kernel variant this CPU runs against built-in OpenSSL vectors",
  usage: "rignode selftest [--json]",
  options: [],
  flags: { json: { kind: "boolean", help: "print one JSON object" } },
  positionals: [],
  async run({ flags, out }) {
    const features = await cpuFeatures();
    const supported = supportedVariants(features);
    // Every variant, and in each every implementation it can run (SIMD lanes, SHA-NI where the CPU has it).
    const results = (await loadSupportedVariants()).flatMap((lib) => lib.impls("sha256d").map((impl) => selftest(lib.withImpl(impl))));
    const skipped = KERNEL_VARIANTS.filter((v) => !supported.includes(v));
    const ok = results.every((r) => r.ok);
    if (flags.json) {
      out(JSON.stringify({ ok, variants: results, skipped: skipped.map((v) => ({ variant: v, reason: "not supported by this CPU" })) }));
    } else {
      for (const r of results) {
        const failed = r.cases.filter((c) => !c.ok);
        out(`${r.ok ? "PASS" : "FAIL"} ${r.backend.padEnd(19)} ${r.cases.length - failed.length}/${r.cases.length} vectors  ${r.ms.toFixed(0)} ms`);
        for (const c of failed) out(`     ${c.name}: ${c.detail}`);
      }
      for (const v of skipped) out(`SKIP zig-${v.padEnd(15)} not supported by this CPU`);
      out(ok ? "selftest passed" : "selftest FAILED");
    }
    return ok ? 0 : 1;
  },
};

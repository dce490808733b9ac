// A short seeded fuzz run of every parser (bench/fuzz.ts runs 1,000,000 per parser): structure-aware mutations of
// valid inputs, 0 crashes allowed. A crash is an exception that is not the parser's RignodeError, a rejected
// Stratum session, a 5xx from the API, or a changed Object.prototype. FUZZ_SEED and FUZZ_N change the run; a failure
// prints the command that replays the input.
import { describe, expect, test } from "bun:test";
import { RignodeError } from "../../src/core";
import { inputSeed, mutateJson, Rng } from "./gen";
import { expectRefusal, runTarget, type Target } from "./runner";
import { makeTarget, TARGET_NAMES } from "./targets";

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const N = Number(process.env.FUZZ_N ?? 20_000);

describe(`fuzz (seed ${SEED}, ${N} inputs per parser)`, () => {
  for (const name of TARGET_NAMES) {
    test(`${name}: 0 crashes, and some inputs get past the first check`, async () => {
      const t = await makeTarget(name);
      try {
        const r = await runTarget(t, { n: N, seed: SEED });
        const shown = r.first.map((c) => `#${c.index} ${c.error}\n  input: ${c.input.slice(0, 400)}\n  replay: bun run bench/fuzz.ts --only ${name} --seed ${SEED} --from ${c.index} --n 1`);
        expect(shown).toEqual([]);
        expect(r.crashes).toBe(0);
        expect(r.inputs).toBe(N);
        // Mutations that the first check always refuses would test nothing past it: some must be accepted or
        // reach the parser's later checks (the API: some writes succeed).
        const tally = [...(t.tally ?? new Map<string, number>())];
        const passed = tally.filter(([k]) => k === "accepted" || k === "answered ok" || / 2\d\d$/.test(k)).reduce((n, [, v]) => n + v, 0);
        expect(passed).toBeGreaterThan(N / 100);
        expect(tally.length).toBeGreaterThan(2);
      } finally {
        await t.close?.();
      }
    }, 150_000);
  }
});

describe("the harness", () => {
  test("an exception other than RignodeError is a crash; a RignodeError is a refusal", async () => {
    const t: Target = { name: "broken", run: (r) => expectRefusal(() => "in", () => { if (r.chance(0.5)) throw new TypeError("x is undefined"); throw new RignodeError("input", "bad"); }) };
    const r = await runTarget(t, { n: 200, seed: 1 });
    expect(r.crashes).toBeGreaterThan(50);
    expect(r.crashes).toBeLessThan(150);
    expect(r.first[0]!.error).toBe("TypeError: x is undefined");
  });

  test("input i comes from (seed, i) alone: a run from index i replays the same input", () => {
    const make = (i: number) => Buffer.from(mutateJson(new Rng(inputSeed(7, i)), { id: 1, method: "mining.subscribe", params: [] }, [], 40_000)).toString("hex");
    const all = Array.from({ length: 50 }, (_, i) => make(i));
    expect(make(37)).toBe(all[37]!);
    expect(new Set(all).size).toBeGreaterThan(40);
  });
});

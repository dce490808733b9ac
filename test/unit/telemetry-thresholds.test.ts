// The thresholds file: defaults under a partial file, and every malformed file refused naming the file and the field.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RignodeError } from "../../src/core";
import { DEFAULT_THRESHOLDS, loadThresholds, parseThresholds } from "../../src/telemetry";

const dir = mkdtempSync(join(tmpdir(), "rignode-thresholds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(text: string): RignodeError {
  try {
    parseThresholds(text, "/etc/rignode/t.json");
  } catch (e) {
    expect(e).toBeInstanceOf(RignodeError);
    expect((e as RignodeError).code).toBe("config");
    expect((e as Error).message).toContain("/etc/rignode/t.json");
    return e as RignodeError;
  }
  throw new Error(`accepted: ${text}`);
}

describe("telemetry thresholds", () => {
  test("an empty object is the defaults; a partial file changes only its keys", () => {
    expect(parseThresholds("{}", "t.json")).toEqual(DEFAULT_THRESHOLDS);
    const t = parseThresholds(JSON.stringify({ detector: { h: 8 }, thermal: { limitC: 90 }, floors: { temperature: { abs: 2 } } }), "t.json");
    expect(t.detector).toEqual({ ...DEFAULT_THRESHOLDS.detector, h: 8 });
    expect(t.thermal.limitC).toBe(90);
    expect(t.thermal.majorHeadroomC).toBe(DEFAULT_THRESHOLDS.thermal.majorHeadroomC);
    expect(t.floors.temperature).toEqual({ rel: 0, abs: 2 });
    expect(t.floors.hashrate).toEqual(DEFAULT_THRESHOLDS.floors.hashrate);
  });

  test("malformed files are refused with the file and the field named", () => {
    expect(refusal("{ detector: 1").message).toContain("not valid JSON");
    expect(refusal("[1,2]").message).toContain("expected a JSON object");
    const neg = refusal(JSON.stringify({ detector: { h: -1 } })).message;
    expect(neg).toContain("field detector.h");
    expect(neg).toContain("-1 is not allowed");
    expect(refusal(JSON.stringify({ detector: { block: 2.5 } })).message).toContain("field detector.block");
    expect(refusal(JSON.stringify({ floors: { hashrate: { rel: "2%" } } })).message).toContain("field floors.hashrate.rel");
    expect(refusal(JSON.stringify({ thermal: { limitC: 500 } })).message).toContain("field thermal.limitC");
    expect(refusal(JSON.stringify({ detectr: { h: 5 } })).message).toContain('unknown key "detectr"');
    expect(refusal(JSON.stringify({ floors: { gpu: { rel: 0, abs: 1 } } })).message).toContain('unknown key "gpu"');
    const order = refusal(JSON.stringify({ hashrate: { minorDrop: 0.3 } })).message;
    expect(order).toContain("field hashrate");
    expect(order).toContain("increasing");
    expect(refusal(JSON.stringify({ thermal: { criticalHeadroomC: 20 } })).message).toContain("decreasing");
    expect(refusal(JSON.stringify({ detector: { zclip: 0.5 } })).message).toContain("field detector.zclip: 0.5 is not allowed; must be above detector.k");
    expect(refusal(JSON.stringify({ advice: { powerStepW: 100 } })).message).toContain("field advice.powerStepW");
  });

  test("loadThresholds reads a file, and refuses a missing file or a directory by path", () => {
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ holdSec: 60 }));
    expect(loadThresholds(good).holdSec).toBe(60);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ holdSec: 0 }));
    expect(() => loadThresholds(bad)).toThrow(`telemetry thresholds file ${bad}, field holdSec`);
    expect(() => loadThresholds(join(dir, "missing.json"))).toThrow(join(dir, "missing.json"));
    mkdirSync(join(dir, "d.json"));
    expect(() => loadThresholds(join(dir, "d.json"))).toThrow("a directory");
  });
});

// The Parquet export: written by hyparquet-writer (src/telemetry/parquet.ts), read back here by an independent reader
// (parquet-wasm: Apache arrow-rs's parquet crate compiled to WebAssembly, decoded through apache-arrow), and compared
// row for row with the NDJSON of the same rows.
import { describe, expect, test } from "bun:test";
import { tableFromIPC, type Table } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { RignodeError } from "../../src/core";
import { TELEMETRY_COLUMNS, telemetryRow, toNdjson, toParquet, type Feature, type RuptureClass, type Scored, type TelemetryRow } from "../../src/telemetry";
import { prng } from "../helpers";

const FEATURES: Feature[] = ["hashrate", "reject_ratio", "temperature", "latency", "hashes_per_joule", "load", "thread_balance"];
const CLASSES: RuptureClass[] = ["none", "minor", "major", "critical"];

/** A scored second as the scorer would make it; `i` varies every field, with nulls where a rig cannot measure. */
function scored(i: number, rnd: () => number): Scored {
  const t = Date.UTC(2026, 10, 26, 12, 0, 0) + i * 1000 + (i % 7) * 200; // bursts: not only whole seconds
  const measured = i % 5 !== 0;
  const features = {} as Scored["features"];
  for (const f of FEATURES) {
    features[f] = { value: measured ? rnd() * 100 : null, bits: null, stability: rnd(), entropy: rnd(), change: rnd(), alarm: (i + f.length) % 11 === 0 };
  }
  return {
    t,
    sample: {
      t,
      hashrate: 40_000_000 + rnd() * 1e6,
      perThread: [1, 2],
      hashes: 2 ** 45 + i * 40_000_000, // past 2^32: the INT64 column must keep it exact
      accepted: measured ? i * 3 : null,
      rejected: measured ? i : null,
      stale: i % 3 === 0 ? null : 0,
      rejectedBy: {},
      latencyMs: measured ? 12.25 + i / 8 : null,
      tempC: measured ? 55 + rnd() * 30 : null,
      energyJ: i % 2 === 0 ? null : 1e6 + i * 65.5,
      load: rnd() * 2,
      threads: 1 + (i % 8),
      batch: 64 << (i % 3),
      paused: i % 13 === 0,
      thermal: ["ok", "throttle", "unavailable"][i % 3]!,
      power: i % 4 === 0 ? "battery" : "ac",
    },
    features,
    kpis: {
      hashesPerJoule: i % 2 === 0 ? null : 1e5 / (1 + rnd()),
      rejectRatio: measured ? 1 / (4 + (i % 4)) : null,
      thermalHeadroomC: measured ? 15 - (i % 30) : null, // negative past the limit
      latencyBudget: null,
    },
    hazard: rnd() / 10,
    score: rnd(),
    class: CLASSES[i % 4]!,
    reasons: i % 4 === 0 ? [] : [`hashrate fell ${(rnd() * 20).toFixed(1)}%`, "température ↑ \"quoted\", comma"],
  };
}

function rows(n: number, seed = 17): TelemetryRow[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => telemetryRow(scored(i, rnd), i % 4));
}

/** The independent reader: arrow-rs parses the file, apache-arrow decodes the IPC stream it hands over. */
function readBack(bytes: Uint8Array): Table {
  const wasm = readParquet(bytes);
  return tableFromIPC(wasm.intoIPCStream());
}

/** A row as plain JSON values: INT64 bigints as numbers, the timestamp as ms (what NDJSON holds). */
function plain(table: Table): Record<string, unknown>[] {
  return table.toArray().map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.toJSON())) o[k] = typeof v === "bigint" ? Number(v) : v instanceof Date ? v.getTime() : v;
    return o;
  });
}

describe("telemetry parquet", () => {
  test("a file read back by arrow-rs matches the NDJSON of the same rows, row for row", () => {
    const rs = rows(2500);
    const bytes = toParquet(rs);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("PAR1");
    expect(new TextDecoder().decode(bytes.subarray(bytes.length - 4))).toBe("PAR1");
    const back = plain(readBack(bytes));
    const nd = toNdjson(rs).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(back.length).toBe(2500);
    expect(nd.length).toBe(2500);
    for (let i = 0; i < rs.length; i++) expect(back[i]).toEqual(nd[i]);
    // Not vacuous: nulls, unicode, big counters and every class are among the rows compared.
    expect(back.some((r) => r.temperature_c === null)).toBe(true);
    expect(back.some((r) => String(r.reasons).includes("température ↑"))).toBe(true);
    expect(back[1]!.hashes).toBe(2 ** 45 + 40_000_000);
    expect(new Set(back.map((r) => r.class))).toEqual(new Set(CLASSES));
  });

  test("the schema: column order, Parquet types and nullability as documented", () => {
    const table = readBack(toParquet(rows(3)));
    const fields = table.schema.fields;
    expect(fields.map((f) => f.name)).toEqual(TELEMETRY_COLUMNS.map((c) => c.name));
    const typeOf = (n: string) => String(fields.find((f) => f.name === n)!.type);
    expect(typeOf("t")).toBe("Timestamp<MILLISECOND, UTC>");
    expect(typeOf("hashes")).toBe("Int64");
    expect(typeOf("threads")).toBe("Int32");
    expect(typeOf("score")).toBe("Float64");
    expect(typeOf("paused")).toBe("Bool");
    expect(typeOf("class")).toBe("Utf8");
    for (const c of TELEMETRY_COLUMNS) expect([c.name, fields.find((f) => f.name === c.name)!.nullable]).toEqual([c.name, c.nullable]);
  });

  test("a column that is null in every row, and a single row, survive the round trip", () => {
    const rs = rows(1).map((r) => ({ ...r, energy_j: null, hashes_per_joule: null, reasons: "", alarms: "" }));
    const back = plain(readBack(toParquet(rs)));
    expect(back).toEqual([JSON.parse(toNdjson(rs))]);
    expect(back[0]!.energy_j).toBeNull();
  });

  test("telemetryRow flattens a scored second: KPIs, alarms and reasons", () => {
    const s = scored(11, prng(1));
    s.features.load.alarm = true;
    s.features.hashrate.alarm = true;
    s.features.temperature.alarm = false;
    const r = telemetryRow(s, 2);
    expect(r.t).toBe(s.t);
    expect(r.reject_ratio).toBe(s.kpis.rejectRatio);
    expect(r.thermal_headroom_c).toBe(s.kpis.thermalHeadroomC);
    expect(r.temperature_c).toBe(s.sample.tempC);
    expect(r.advisories).toBe(2);
    expect(r.alarms.split(",")).toContain("hashrate");
    expect(r.alarms.split(",")).toContain("load");
    expect(r.alarms.split(",")).not.toContain("temperature");
    expect(r.reasons).toBe(s.reasons.join("; "));
    expect(Object.keys(r)).toEqual(TELEMETRY_COLUMNS.map((c) => c.name));
  });

  test("bad rows are refused with the row and field named, by both formats", () => {
    const good = rows(3);
    const cases: [Partial<TelemetryRow> | Record<string, unknown>, RegExp][] = [
      [{ hashrate: Number.NaN }, /row 1: hashrate has NaN, not a finite number/],
      [{ score: Infinity }, /row 1: score has Infinity, not a finite number/],
      [{ threads: 1.5 }, /row 1: threads has 1.5, not a 32-bit integer/],
      [{ hashes: 2 ** 60 }, /row 1: hashes has 1152921504606847000, not a safe integer/],
      [{ class: "bogus" }, /row 1: class has "bogus", not none\|minor\|major\|critical/],
      [{ thermal: null }, /row 1: thermal is missing/],
      [{ t: 1.5 }, /row 1: t has 1.5, not an integer ms timestamp/],
    ];
    for (const [patch, msg] of cases) {
      const bad = [good[0]!, { ...good[1]!, ...patch } as TelemetryRow, good[2]!];
      for (const write of [toParquet, toNdjson]) {
        let err: unknown;
        try {
          write(bad);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(RignodeError);
        expect((err as RignodeError).code).toBe("input");
        expect((err as Error).message).toMatch(msg);
      }
    }
  });

  test("no rows: NDJSON is empty, Parquet refuses with a clear message", () => {
    expect(toNdjson([])).toBe("");
    expect(() => toParquet([])).toThrow(/no telemetry rows to write/);
  });
});

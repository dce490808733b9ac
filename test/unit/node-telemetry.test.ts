// The node's telemetry wiring: the sampler's 5 s hashrate and share fields, the thresholds file reload, the routes,
// the SQLite history with its retention, and the guarded actor (kept, rolled back, bounded).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, telemetryRoutes } from "../../src/api";
import { createLogger, MetricsRegistry } from "../../src/core";
import { DEFAULT_THRESHOLDS, Telemetry, type Advisory, type Scored, type TelemetryView } from "../../src/telemetry";
import { Sampler, startTelemetry, ThresholdsFile, type TelemetryPublisher } from "../../src/node/telemetry";
import { DEFAULTS, loadConfig } from "../../src/config";
import { waitFor } from "../helpers";
import { AuditLog, TelemetryHistory } from "../../src/node/telemetry-history";
import { TelemetryActor } from "../../src/node/telemetry-act";
import { exportTelemetry, parseSince } from "../../src/node/telemetry-export";
import { RaplLimit, RaplRestoreFile } from "../../src/node/telemetry-rapl";
import { existsSync, mkdirSync } from "node:fs";
import { Database } from "bun:sqlite";
import type { MiningEngine } from "../../src/miner";
import type { Rig } from "../../src/node/rig";

const quiet = () => createLogger({ json: true, level: "error", write: () => {} });
const tmp = () => mkdtempSync(join(tmpdir(), "rignode-tel-"));

/** An engine double: counters the test advances, and the knobs the actor turns. */
class FakeEngine {
  hashes = [0, 0];
  threads = 2;
  batch = 65_536 * 16;
  holders = new Map<string, string>();
  changes: string[] = [];
  stats() {
    return {
      threads: this.threads, activeWorkers: this.threads, batch: this.batch, state: this.holders.size ? "paused" : "running",
      hashes: this.hashes.reduce((a, b) => a + b, 0), hashrate: { "10s": 0, "60s": 0, "15m": 0 },
      perThread: this.hashes.map((h, i) => ({ thread: i, cpu: i, hashes: h, hashrate: { "10s": 0, "60s": 0, "15m": 0 } })), found: 0, staleDropped: 0,
    };
  }
  async setThreads(n: number) { this.changes.push(`threads ${this.threads}->${n}`); this.threads = n; }
  setBatch(n: number) { this.changes.push(`batch ${this.batch}->${n}`); this.batch = n; }
  hold(h: string, r = "") { this.holders.set(h, r); this.changes.push(`hold ${h}`); }
  release(h: string) { this.holders.delete(h); this.changes.push(`release ${h}`); }
  heldBy() { return Object.fromEntries(this.holders); }
}

describe("sampler", () => {
  test("hashrate is the hashes counter over the last 5 s, total and per thread; shares and batch units pass through", () => {
    let now = 1_000_000;
    const e = new FakeEngine();
    const s = new Sampler({ engine: e as unknown as MiningEngine, unitNonces: 65_536, shares: () => ({ accepted: 7, rejected: 2, stale: 1, rejectedBy: { "low difficulty": 2 }, latencyMs: 12 }) }, () => now);
    s.sample();
    let last = s.sample();
    for (let i = 0; i < 10; i++) {
      now += 1000;
      e.hashes[0]! += 1000;
      e.hashes[1]! += 3000;
      last = s.sample();
    }
    expect(last.hashrate).toBeCloseTo(4000, 6);
    expect(last.perThread[0]).toBeCloseTo(1000, 6);
    expect(last.perThread[1]).toBeCloseTo(3000, 6);
    expect(last.hashes).toBe(40_000);
    expect(last.batch).toBe(16);
    expect(last.threads).toBe(2);
    expect(last).toMatchObject({ accepted: 7, rejected: 2, stale: 1, rejectedBy: { "low difficulty": 2 }, latencyMs: 12, tempC: null, energyJ: null, thermal: "unavailable" });
    // A thread that stops: the window sees the drop within 5 samples.
    for (let i = 0; i < 5; i++) {
      now += 1000;
      e.hashes[0]! += 1000;
      last = s.sample();
    }
    expect(last.hashrate).toBeCloseTo(1000, 6);
  });

  test("a pool without a miner: hashrate from its shares, the hashes counter integrated from it", () => {
    let now = 0;
    const s = new Sampler({ hashrate: () => 500 }, () => now);
    s.sample();
    now += 2000;
    const x = s.sample();
    expect(x.hashrate).toBe(500);
    expect(x.hashes).toBe(1000);
    expect(x.perThread).toEqual([]);
  });

  test("a pool's integrated counter is whole hashes (fractions carried), so its history rows are written", () => {
    let now = 0;
    const s = new Sampler({ hashrate: () => 333.3 }, () => now);
    const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS });
    const warned: unknown[] = [];
    const log = createLogger({ json: true, level: "warn" }, {});
    log.warn = (...a: unknown[]) => void warned.push(a);
    const h = TelemetryHistory.open(tmp(), 1, log, () => now);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const x = s.sample();
      seen.push(x.hashes);
      h.add(tel.push({ ...x, load: 0.5, threads: 0, batch: 0, paused: false, thermal: "cool", power: "ac" } as never), 0);
      now += 1000;
    }
    expect(seen).toEqual([0, 333, 666, 999]);
    expect(h.rows(0).map((r) => r.hashes)).toEqual([0, 333, 666, 999]); // a fraction failed the STRICT integer column
    expect(warned).toEqual([]);
    h.close();
  });
});

describe("thresholds file", () => {
  test("an edit is picked up on its mtime; a bad edit keeps the thresholds in force", () => {
    const dir = tmp();
    const path = join(dir, "t.json");
    writeFileSync(path, JSON.stringify({}));
    const seen: unknown[] = [];
    const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS, thresholdsPath: path });
    const orig = tel.setThresholds.bind(tel);
    tel.setThresholds = (t, p) => { seen.push(t); orig(t, p); };
    const f = new ThresholdsFile(path, tel, quiet());
    writeFileSync(path, "{ not json");
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    f.check();
    expect(seen).toEqual([]);
    writeFileSync(path, JSON.stringify(DEFAULT_THRESHOLDS));
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    f.check();
    expect(seen).toEqual([DEFAULT_THRESHOLDS]);
    f.check(); // unchanged mtime: not re-read
    expect(seen.length).toBe(1);
  });
});

function scored(t: number, hashrate: number, threads = 2, extra: Partial<Scored["kpis"]> = {}): Scored {
  const tel = new Telemetry({ thresholds: DEFAULT_THRESHOLDS });
  const s = tel.push({ t, hashrate, perThread: [], hashes: t, accepted: null, rejected: null, stale: null, rejectedBy: {}, latencyMs: null, tempC: 60, energyJ: null, load: 0.5, threads, batch: 16, paused: false, thermal: "cool", power: "ac" });
  return { ...s, kpis: { ...s.kpis, ...extra } };
}

describe("routes", () => {
  const app = (src: Parameters<typeof telemetryRoutes>[1]) => createApp({ token: null, metrics: new MetricsRegistry(), health: () => ({ ok: true }), info: () => ({}), groups: [(a) => telemetryRoutes(a, src)] });
  const adv: Advisory = { kind: "threads", target: "miner", delta: -1, reason: "r", ttl: 60, at: 1 };
  const rows = [scored(1, 10), scored(2, 11), scored(3, 12)];
  const view: TelemetryView = { last: rows[2]!, advisories: [adv], actions: [], rateHz: 1, thresholdsPath: null };
  const src = { view: () => view, advice: () => [adv], history: (n?: number) => rows.slice(-(n ?? 3)) };

  test("view, advice and history", async () => {
    const a = app(() => src);
    expect(await (await a.request("/api/telemetry")).json()).toEqual(JSON.parse(JSON.stringify(view)));
    expect(await (await a.request("/api/telemetry/advice")).json()).toEqual({ advisories: [adv] });
    const h = (await (await a.request("/api/telemetry/history?n=2")).json()) as { n: number; samples: Scored[] };
    expect(h.n).toBe(2);
    expect(h.samples.map((s) => s.t)).toEqual([2, 3]);
  });

  test("a bad n is a 400 naming the range; no telemetry is a 404", async () => {
    const r = await app(() => src).request("/api/telemetry/history?n=abc");
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toContain("1..3600");
    expect((await app(() => null).request("/api/telemetry")).status).toBe(404);
    expect((await app(() => null).request("/api/telemetry/advice")).status).toBe(404);
  });
});

describe("history", () => {
  test("rows are kept and read back in order; rows past the retention are deleted", () => {
    const dir = tmp();
    let now = 10 * 86_400_000;
    const h = TelemetryHistory.open(dir, 1, null, () => now);
    for (let i = 0; i < 25; i++) h.add(scored(now - 2 * 86_400_000 + i, 100 + i), 0);
    for (let i = 0; i < 5; i++) h.add(scored(now + i * 1000, 200 + i), 1);
    const all = h.rows(0);
    expect(all.length).toBe(30);
    expect(all[29]).toMatchObject({ t: now + 4000, hashrate: 204, class: "none", threads: 2, batch: 16, paused: false, temperature_c: 60, advisories: 1 });
    expect(h.prune()).toBe(25);
    expect(h.rows(0).map((r) => r.hashrate)).toEqual([200, 201, 202, 203, 204]);
    expect(h.rows(now + 2000).length).toBe(3);
    h.close();
    now += 1;
    const again = TelemetryHistory.open(dir, 1, null, () => now);
    expect(again.rows(0).length).toBe(5);
    again.close();
  });

  test("a history written before a column existed is opened: the column is added, empty for the old rows", () => {
    const dir = tmp();
    const first = TelemetryHistory.open(dir, 3650, null, () => 2000);
    first.add(scored(1000, 5, 2), 0);
    first.close();
    const old = new Database(join(dir, "telemetry.sqlite"));
    old.exec("ALTER TABLE samples DROP COLUMN thread_balance"); // as an older rignode made it
    old.close();
    const h = TelemetryHistory.open(dir, 3650, null, () => 2000);
    const s = scored(1500, 7, 2);
    s.features.thread_balance = { ...s.features.thread_balance, value: 0.75 };
    h.add(s, 0);
    expect(h.rows(0).map((r) => [r.t, r.hashrate, r.thread_balance])).toEqual([[1000, 5, null], [1500, 7, 0.75]]);
    h.close();
  });
});

/** The actor's view of the scorer: advisories the test sets, history it appends, actions it records. */
class FakeTelemetry {
  adv: Advisory[] = [];
  hist: Scored[] = [];
  actions = new Map<number, string>();
  advice() { return this.adv; }
  history(n = 10) { return this.hist.slice(-n); }
  recordAction(a: { id: number; outcome: string }) { this.actions.set(a.id, a.outcome); }
}

describe("guarded actions", () => {
  function rig(settle = 2, validate = 5, rapl: RaplLimit | null = null, makeController: ((e: FakeEngine) => ReturnType<typeof controllerOf>) | null = null) {
    let now = 0;
    const e = new FakeEngine();
    const controller = makeController?.(e) ?? null;
    const t = new FakeTelemetry();
    const dir = tmp();
    const audit = new AuditLog(dir, quiet());
    const actor = new TelemetryActor({ engine: e as unknown as MiningEngine, rig: controller, telemetry: t as unknown as Telemetry, audit, log: quiet(), unitNonces: 65_536, now: () => now, settleS: settle, validateS: validate, perHour: 2, cooldownS: 600, leaseS: 60, rapl });
    const state = { thermal: "cool" };
    const feed = async (n: number, hashrate: (threads: number) => number, hpj: () => number | null = () => null) => {
      for (let i = 0; i < n; i++) {
        now += 1000;
        const s0 = scored(now, hashrate(e.threads), e.threads, { hashesPerJoule: hpj() });
        const s = { ...s0, sample: { ...s0.sample, thermal: state.thermal } };
        t.hist.push(s);
        actor.step(s);
        await Bun.sleep(0);
      }
    };
    return { e, t, actor, feed, audit, state, controller, advise: (a: Partial<Advisory>) => t.adv.push({ kind: "threads", target: "miner", delta: -1, reason: "test", ttl: 600, at: now, ...a }) };
  }

  /** A controller double: what the actor steers, applied to the engine the way the rig's poll would. */
  function controllerOf(e: FakeEngine, start = { threads: 2, batch: 16 }, tuner = false) {
    const wishes: Record<string, number>[] = [];
    const c = {
      wishes,
      view: () => ({ tuner: tuner ? {} : null }) as unknown as ReturnType<Rig["view"]>,
      async steer(w: Partial<Record<"threads" | "batch", number>>) {
        wishes.push({ ...w });
        const want = { ...start, ...w };
        if (e.threads !== want.threads) await e.setThreads(want.threads);
        if (e.batch !== want.batch * 65_536) e.setBatch(want.batch * 65_536);
      },
    };
    return c;
  }

  test("kept when the KPI beat both the samples before (A1) and the rig put back without it (A2): hashrate per thread after a thread less", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(16, (n) => (n === 2 ? 200 : 180)); // 1 thread: 180 H/s per thread > 100, with 2 threads or without
    expect(r.e.changes).toEqual(["threads 2->1", "threads 1->2", "threads 2->1"]); // B, A2, then the change again
    expect([...r.t.actions.values()]).toEqual(["kept"]);
    const lines = readFileSync(r.audit.path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.outcome)).toEqual(["pending", "pending", "kept"]);
    expect(lines[2].note).toContain("A1 100, B 180, A2 100");
  });

  test("a dip that passes (a false alarm): B beats A1, the dip, but not A2, so the change is rolled back", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    await r.feed(10, (n) => n * 60); // a transient dip raised the advisory
    r.advise({});
    await r.feed(16, (n) => n * 100); // gone by itself: per thread the same with 1 or 2 threads
    expect(r.e.changes).toEqual(["threads 2->1", "threads 1->2"]);
    expect([...r.t.actions.values()]).toEqual(["rolled_back"]);
    expect(r.e.threads).toBe(2);
  });

  test("rolled back when it did not, then the kind waits (no loop)", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(10, (n) => n * 90); // per thread worse after the change
    expect(r.e.changes).toEqual(["threads 2->1", "threads 1->2"]);
    expect([...r.t.actions.values()]).toEqual(["rolled_back"]);
    r.t.adv.length = 0; // the advisory lapses and comes back: a new episode, but the kind is cooling down
    await r.feed(1, (n) => n * 100);
    r.advise({ at: 99 });
    await r.feed(10, (n) => n * 100);
    expect(r.e.changes.length).toBe(2);
  });

  test("a batch advisory changes the batch in units, and an unactionable kind is recorded, not acted on", async () => {
    const r = rig();
    await r.feed(5, () => 100);
    r.advise({ kind: "power_limit", delta: -10 });
    await r.feed(1, () => 100);
    expect([...r.t.actions.values()]).toEqual(["failed"]);
    r.advise({ kind: "batch", delta: -4, at: 5 });
    await r.feed(16, () => (r.e.batch === 65_536 * 12 ? 120 : 100));
    expect(r.e.changes).toEqual([`batch ${65_536 * 16}->${65_536 * 12}`, `batch ${65_536 * 12}->${65_536 * 16}`, `batch ${65_536 * 16}->${65_536 * 12}`]);
    expect([...r.t.actions.values()]).toEqual(["failed", "kept"]);
  });
  test("with the rig's controller the change is steered through it; a rollback withdraws the wish instead of fixing a value", async () => {
    const r = rig(2, 5, null, (e) => controllerOf(e));
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(10, (n) => n * 90); // worse per thread: rolled back
    expect(r.controller!.wishes).toEqual([{ threads: 1 }, {}]);
    expect(r.e.threads).toBe(2);
    expect([...r.t.actions.values()]).toEqual(["rolled_back"]);
  });

  test("a kept change is a lease: when it ends the configured value comes back (restored)", async () => {
    const r = rig(2, 5, null, (e) => controllerOf(e));
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(16, (n) => (n === 2 ? 200 : 180));
    expect([...r.t.actions.values()]).toEqual(["kept"]);
    expect(r.e.threads).toBe(1);
    await r.feed(60, (n) => n * 100); // the 60 s lease runs out
    expect([...r.t.actions.values()]).toEqual(["kept", "restored"]);
    expect(r.controller!.wishes.at(-1)).toEqual({});
    expect(r.e.threads).toBe(2);
  });

  test("a value changed meanwhile by someone else is superseded, not rolled back", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(3, (n) => n * 100);
    expect(r.e.threads).toBe(1);
    r.e.threads = 3; // the operator, or a governor
    await r.feed(10, (n) => n * 90);
    expect([...r.t.actions.values()]).toEqual(["superseded"]);
    expect(r.e.threads).toBe(3);
    expect(r.e.changes).toEqual(["threads 2->1"]);
  });

  test("nothing is done while another holder pauses mining, the auto-tuner runs or the thermal governor caps (hot); each skip recorded once", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    r.e.hold("operator", "maintenance");
    r.advise({});
    await r.feed(5, () => 0);
    expect(r.e.changes).toEqual(["hold operator"]);
    const skips = () => [...r.t.actions.values()].filter((o) => o === "skipped").length;
    expect(skips()).toBe(1);
    r.e.release("operator");
    r.state.thermal = "hot";
    await r.feed(5, (n) => n * 100);
    expect(skips()).toBe(2);
    expect(r.e.changes).toEqual(["hold operator", "release operator"]);
    r.state.thermal = "warm"; // warm caps nothing: the advisory is ours to carry out
    await r.feed(1, (n) => n * 100);
    expect(r.e.changes.at(-1)).toBe("threads 2->1");

    const tuned = rig(2, 5, null, (e) => controllerOf(e, undefined, true));
    await tuned.feed(10, (n) => n * 100);
    tuned.advise({});
    await tuned.feed(5, (n) => n * 100);
    expect(tuned.e.changes).toEqual([]);
    expect([...tuned.t.actions.values()]).toEqual(["skipped"]);
  });

  test("a standing advisory, refreshed every second, is acted on once; cooling (advice for people) is passed by, not recorded", async () => {
    const r = rig();
    await r.feed(10, (n) => n * 100);
    for (let i = 0; i < 40; i++) {
      // The scorer refreshes its advisories each second: a new `at`, the same kind, target and delta.
      r.t.adv = [
        { kind: "cooling", target: "package", delta: 0, reason: "fans", ttl: 120, at: i },
        // A batch cut's delta follows the batch in force: still the same advisory (kind and target).
        { kind: "threads", target: "miner", delta: -1 - (i % 2), reason: "test", ttl: 120, at: i },
      ];
      await r.feed(1, (n) => (n === 2 ? 200 : 180));
    }
    expect(r.e.changes).toEqual(["threads 2->1", "threads 1->2", "threads 2->1"]); // one action: B, A2, kept
    expect([...r.t.actions.values()]).toEqual(["kept"]);
  });

  test("a resume is carried out and kept, never rolled back (paused, the KPI cannot be measured before it)", async () => {
    const r = rig();
    await r.feed(5, (n) => n * 100);
    r.e.hold("telemetry", "heat");
    r.advise({ kind: "resume", delta: 0 });
    await r.feed(40, () => 0);
    expect(r.e.holders.size).toBe(0);
    expect([...r.t.actions.values()]).toEqual(["kept"]);
  });

  test("superseded under the rig's controller: our wish is withdrawn, so it does not come back when the cap lifts", async () => {
    const r = rig(2, 5, null, (e) => controllerOf(e));
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(3, (n) => n * 100);
    await r.e.setThreads(3); // the operator, or a governor
    await r.feed(10, (n) => n * 90);
    expect([...r.t.actions.values()]).toEqual(["superseded"]);
    expect(r.controller!.wishes).toEqual([{ threads: 1 }, {}]);
  });

  test("stop() during an apply still in flight puts the change back once it is applied", async () => {
    const r = rig();
    let finish!: () => void;
    const slow = new Promise<void>((res) => (finish = res));
    const set = r.e.setThreads.bind(r.e);
    r.e.setThreads = async (n: number) => {
      await slow;
      await set(n);
    };
    await r.feed(10, (n) => n * 100);
    r.advise({});
    await r.feed(1, (n) => n * 100);
    const stopped = r.actor.stop();
    finish();
    await stopped;
    expect(r.e.changes).toEqual(["threads 2->1", "threads 1->2"]);
    expect(r.e.threads).toBe(2);
  });
});

describe("RAPL power limit", () => {
  function fakeRapl(uw: number) {
    const root = tmp();
    const d = join(root, "sys/class/powercap/intel-rapl:0");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "name"), "package-0\n");
    writeFileSync(join(d, "constraint_0_power_limit_uw"), `${uw}\n`);
    return { root, file: join(d, "constraint_0_power_limit_uw") };
  }

  test("a step takes at most half the limit; the limits replaced are kept on disk and written back at the next start after a crash", async () => {
    const { root, file } = fakeRapl(20_000_000);
    const limit = () => Number(readFileSync(file, "utf8"));
    const dir = tmp();
    let now = 0;
    const t = new FakeTelemetry();
    const rapl = new RaplLimit(root);
    const actor = new TelemetryActor({ engine: new FakeEngine() as unknown as MiningEngine, telemetry: t as unknown as Telemetry, audit: null, log: quiet(), unitNonces: 1, now: () => now, settleS: 1, validateS: 3, rapl, stateDir: dir });
    const feed = async (n: number, hpj: number | (() => number)) => {
      for (let i = 0; i < n; i++) {
        now += 1000;
        const s = scored(now, 1000, 2, { hashesPerJoule: typeof hpj === "number" ? hpj : hpj() });
        t.hist.push(s);
        actor.step(s);
        await Bun.sleep(0);
      }
    };
    await feed(5, 100);
    t.adv.push({ kind: "power_limit", target: "package-0", delta: -30, reason: "test", ttl: 600, at: 1 });
    await feed(10, () => (limit() < 20_000_000 ? 150 : 100));
    expect([...t.actions.values()]).toEqual(["kept"]);
    expect(limit()).toBe(10_000_000); // 20 W − 30 W would be below half: 10 W
    const saved = join(dir, "telemetry-rapl-restore.json");
    expect(JSON.parse(readFileSync(saved, "utf8"))).toEqual({ [file]: 20_000_000 });
    // The process dies here (no stop()). The next start writes the limit back and forgets it.
    const lines: { event: string }[] = [];
    new RaplRestoreFile(dir, createLogger({ json: true, level: "info", write: (l: string) => void lines.push(JSON.parse(l)) })).restore(new RaplLimit(root));
    expect(limit()).toBe(20_000_000);
    expect(existsSync(saved)).toBe(false);
    expect(lines.map((l) => l.event)).toEqual(["telemetry.power_limit_restored"]);
  });

  test("each package steps from its own limit; a kept limit is written back by stop(), per package; a restore file naming anything but a package limit is refused", async () => {
    const { root, file } = fakeRapl(65_000_000);
    const d1 = join(root, "sys/class/powercap/intel-rapl:1");
    mkdirSync(d1, { recursive: true });
    writeFileSync(join(d1, "name"), "package-1\n");
    const file1 = join(d1, "constraint_0_power_limit_uw");
    writeFileSync(file1, "40000000\n");
    const limits = () => [Number(readFileSync(file, "utf8")), Number(readFileSync(file1, "utf8"))];
    const dir = tmp();
    let now = 0;
    const t = new FakeTelemetry();
    const rapl = new RaplLimit(root);
    const actor = new TelemetryActor({ engine: new FakeEngine() as unknown as MiningEngine, telemetry: t as unknown as Telemetry, audit: null, log: quiet(), unitNonces: 1, now: () => now, settleS: 1, validateS: 3, rapl, stateDir: dir });
    for (let i = 0; i < 15; i++) {
      if (i === 5) t.adv.push({ kind: "power_limit", target: "package-0", delta: -10, reason: "test", ttl: 600, at: 1 });
      now += 1000;
      const s = scored(now, 1000, 2, { hashesPerJoule: limits()[0]! < 65_000_000 ? 150 : 100 });
      t.hist.push(s);
      actor.step(s);
      await Bun.sleep(0);
    }
    expect([...t.actions.values()]).toEqual(["kept"]);
    expect(limits()).toEqual([55_000_000, 30_000_000]); // −10 W each, from its own limit
    await actor.stop();
    expect(limits()).toEqual([65_000_000, 40_000_000]);
    expect(existsSync(join(dir, "telemetry-rapl-restore.json"))).toBe(false);
    expect(() => rapl.restore({ "/etc/passwd": 1 })).toThrow("not a RAPL package limit file");
    expect(() => rapl.restore({ [join(root, "sys/class/powercap/intel-rapl:0/../../../../x")]: 1 })).toThrow("not a RAPL package limit file");
  });

  test("no powercap: unavailable, said why", () => {
    const s = new RaplLimit(tmp()).status();
    expect(s.ok).toBe(false);
    expect(!s.ok && s.reason).toContain("no powercap");
  });

  test("a power_limit advisory lowers the package limit; kept when hashes per joule improved, else put back", async () => {
    const { root, file } = fakeRapl(65_000_000);
    const limit = () => Number(readFileSync(file, "utf8"));
    const r = (() => {
      let now = 0;
      const e = new FakeEngine();
      const t = new FakeTelemetry();
      const actor = new TelemetryActor({ engine: e as unknown as MiningEngine, telemetry: t as unknown as Telemetry, audit: null, log: quiet(), unitNonces: 1, now: () => now, settleS: 1, validateS: 3, rapl: new RaplLimit(root) });
      const feed = async (n: number, hpj: () => number) => {
        for (let i = 0; i < n; i++) {
          now += 1000;
          const s = scored(now, 1000, 2, { hashesPerJoule: hpj() });
          t.hist.push(s);
          actor.step(s);
          await Bun.sleep(0);
        }
      };
      return { t, feed, advise: (at: number) => t.adv.push({ kind: "power_limit", target: "package-0", delta: -10, reason: "test", ttl: 600, at }) };
    })();
    await r.feed(5, () => 100);
    r.advise(1);
    await r.feed(10, () => (limit() === 55_000_000 ? 120 : 100));
    expect([...r.t.actions.values()]).toEqual(["kept"]);
    expect(limit()).toBe(55_000_000);
    r.t.adv.length = 0; // the advisory lapses, then comes again: a new episode
    await r.feed(1, () => 120);
    r.advise(2);
    await r.feed(6, () => 90); // 45 W: worse, rolled back to 55 W
    expect([...r.t.actions.values()]).toEqual(["kept", "rolled_back"]);
    expect(limit()).toBe(55_000_000);
  });
});

test("an actor given an undefined clock and windows takes the defaults", () => {
  const t = new FakeTelemetry();
  const actor = new TelemetryActor({ engine: new FakeEngine() as unknown as MiningEngine, telemetry: t as unknown as Telemetry, audit: null, log: quiet(), unitNonces: 1, now: undefined, settleS: undefined });
  t.adv.push({ kind: "batch", target: "miner", delta: -4, reason: "x", ttl: 60, at: Date.now() });
  expect(() => actor.step(scored(Date.now(), 100))).not.toThrow();
  expect([...t.actions.values()]).toEqual(["pending"]);
});

test("an error while acting is logged as telemetry.action_failed, never an unhandled rejection in the sampler", async () => {
  const t = new FakeTelemetry();
  const lines: { event: string; error?: string }[] = [];
  const log = createLogger({ json: true, level: "error", write: (l: string) => void lines.push(JSON.parse(l)) });
  const engine = { heldBy: () => ({}), stats: () => { throw new Error("engine gone"); } };
  const actor = new TelemetryActor({ engine: engine as unknown as MiningEngine, telemetry: t as unknown as Telemetry, audit: null, log, unitNonces: 1 });
  t.adv.push({ kind: "batch", target: "miner", delta: -4, reason: "x", ttl: 60, at: Date.now() });
  let unhandled: unknown = null;
  const onUnhandled = (e: unknown) => void (unhandled = e);
  process.on("unhandledRejection", onUnhandled);
  try {
    actor.step(scored(Date.now(), 100));
    await waitFor(() => (lines.length ? true : undefined), 5_000);
    await Bun.sleep(20);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  expect(unhandled).toBeNull();
  expect(lines[0]).toMatchObject({ event: "telemetry.action_failed", error: "engine gone" });
});

describe("export", () => {
  test("ndjson and parquet: the rows since --since, the history's columns; an unknown format refused clearly", () => {
    const dir = tmp();
    const now = Date.now();
    const h = TelemetryHistory.open(dir, 7);
    for (let i = 0; i < 12; i++) h.add(scored(now - 3_600_000 + i * 600_000, 1000 + i), 0);
    h.close();
    const all = exportTelemetry(dir, { since: 0, format: "ndjson" });
    expect(all.rows).toBe(12);
    const lines = (all.body as string).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.hashrate)).toEqual([...Array(12).keys()].map((i) => 1000 + i));
    expect(Object.keys(lines[0])).toContain("reject_ratio");
    const recent = exportTelemetry(dir, { since: parseSince("-30m", now), format: "ndjson" });
    expect(recent.rows).toBe(9); // rows every 10 min from -60m: those at or after -30m
    // Parquet from the same rows (read back by an independent reader in telemetry-parquet.test.ts).
    const pq = exportTelemetry(dir, { since: 0, format: "parquet" });
    expect(pq.rows).toBe(12);
    expect(Buffer.from(pq.body as Uint8Array).subarray(0, 4).toString()).toBe("PAR1");
    expect(() => exportTelemetry(dir, { since: 0, format: "csv" })).toThrow(/expected one of ndjson/);
    expect(() => exportTelemetry(tmp(), { since: 0, format: "ndjson" })).toThrow(/no telemetry history/);
  });

  test("--since: ISO or a span back from now; anything else is a usage error", () => {
    expect(parseSince("-1h", 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(parseSince("-7d", 1e12)).toBe(1e12 - 7 * 86_400_000);
    expect(parseSince("2026-11-26T10:00:00Z")).toBe(Date.parse("2026-11-26T10:00:00Z"));
    expect(() => parseSince("yesterday")).toThrow(/ISO time/);
    expect(() => parseSince("1h")).toThrow(/-1h/);
  });
});

describe("startTelemetry", () => {
  test("each scored view goes to the Redis publisher when --telemetry-redis is set; stop closes it", async () => {
    const got: TelemetryView[] = [];
    let closed = false;
    const publisher = (url: string) => {
      expect(url).toBe("redis://127.0.0.1:6390");
      return { publish: async (v) => void got.push(v), close: () => void (closed = true) } satisfies TelemetryPublisher;
    };
    const config = { ...DEFAULTS, telemetry: { ...DEFAULTS.telemetry, redis: "redis://127.0.0.1:6390" } };
    const t = startTelemetry(config, quiet(), { engine: new FakeEngine() as unknown as MiningEngine }, { dataDir: null, publisher })!;
    await waitFor(() => (got.length >= 2 ? true : undefined), 10_000);
    expect(got[1]!.last!.sample.threads).toBe(2);
    t.stop();
    expect(closed).toBe(true);
  });

  test("off with --telemetry=false or with nothing to sample; a bad thresholds file refused at start naming it", () => {
    const e = { engine: new FakeEngine() as unknown as MiningEngine };
    expect(startTelemetry({ ...DEFAULTS, telemetry: { ...DEFAULTS.telemetry, enabled: false } }, quiet(), e, { dataDir: null })).toBeNull();
    expect(startTelemetry(DEFAULTS, quiet(), {}, { dataDir: null })).toBeNull();
    const path = join(tmp(), "bad.json");
    writeFileSync(path, "{ nope");
    expect(() => startTelemetry({ ...DEFAULTS, telemetry: { ...DEFAULTS.telemetry, thresholds: path } }, quiet(), e, { dataDir: null })).toThrow(path);
  });

  test("the flags reach the config", () => {
    const c = loadConfig({ env: {}, flags: { "telemetry-act": true, "telemetry-retention-days": "3", "telemetry-redis": "redis://h:1", "telemetry-thresholds": "/x.json" } });
    expect(c.telemetry).toEqual({ enabled: true, act: true, retentionDays: 3, redis: "redis://h:1", thresholds: "/x.json" });
    expect(() => loadConfig({ env: {}, flags: { "telemetry-retention-days": "-1" } })).toThrow("--telemetry-retention-days: -1 is not allowed; expected a whole number of days 0..3650");
  });
});

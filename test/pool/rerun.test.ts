// RunAgain: the one "run once, then once more if asked meanwhile" of the pool (job builds, template fetches).
import { describe, expect, test } from "bun:test";
import { RunAgain } from "../../src/pool/rerun";

/** A promise with its resolve and reject at hand. */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const p = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
  return { p, open, fail };
}

describe("RunAgain", () => {
  test("an ask while idle runs at once (synchronously), and its promise resolves when it is done", async () => {
    const runs: number[] = [];
    const r = new RunAgain<number>((n) => void runs.push(n));
    const done = r.ask(7);
    expect(runs).toEqual([7]);
    expect(r.running).toBe(false);
    await done;
    r.ask(8);
    expect(runs).toEqual([7, 8]);
  });

  test("asks during a run make exactly one more run, with their arguments merged, and every asker waits for it", async () => {
    const runs: boolean[] = [];
    const gates = [gate(), gate()];
    const r = new RunAgain<boolean>((clean) => (runs.push(clean), gates[runs.length - 1]!.p), (a, b) => a || b);
    const first = r.ask(false);
    const asks = [r.ask(false), r.ask(true), r.ask(false)];
    expect(runs).toEqual([false]); // none runs alongside the first
    let settled = false;
    void Promise.all([first, ...asks]).then(() => (settled = true));
    gates[0]!.open();
    await Bun.sleep(0);
    expect(runs).toEqual([false, true]); // one more run; a clean ask among them makes it clean
    expect(settled).toBe(false); // the askers wait for the run that answers them
    gates[1]!.open();
    await Promise.all([first, ...asks]);
    expect(runs).toEqual([false, true]);
    expect(r.running).toBe(false);
  });

  test("without a merge, the queued run takes the newest argument", async () => {
    const runs: string[] = [];
    const g = gate();
    const r = new RunAgain<string>((s) => (runs.push(s), s === "a" ? g.p : undefined));
    r.ask("a");
    r.ask("b");
    r.ask("c");
    g.open();
    await r.ask("d"); // still running "a": queued, replacing "c"
    expect(runs).toEqual(["a", "d"]);
  });

  test("a queued run is dropped when `more` says no (stopped), and the askers are still answered", async () => {
    let stopped = false;
    let runs = 0;
    const g = gate();
    const r = new RunAgain<void>(() => (runs++, g.p), undefined, () => !stopped);
    r.ask();
    const queued = r.ask();
    stopped = true;
    g.open();
    await queued;
    expect(runs).toBe(1);
    expect(r.running).toBe(false);
  });

  test("a run that throws or rejects does not stop the runs after it", async () => {
    let runs = 0;
    const g = gate();
    const r = new RunAgain<number>((n) => {
      runs++;
      if (n === 1) throw new Error("sync failure");
      if (n === 2) return g.p;
    });
    await r.ask(1);
    expect(runs).toBe(1);
    const p = r.ask(2);
    r.ask(3);
    g.fail(new Error("async failure"));
    await p;
    expect(runs).toBe(3);
  });

  test("a synchronous run that asks again is not re-entered: the next run follows it", () => {
    const log: string[] = [];
    const r: RunAgain<number> = new RunAgain<number>((n) => {
      log.push(`start ${n}`);
      if (n === 1) r.ask(2);
      log.push(`end ${n}`);
    });
    r.ask(1);
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2"]);
  });
});

// A block a stratum shard found, on the main thread: handed to the real source (the node's chain or the daemon) and,
// accepted, recorded here with its plan before the tip's next job is built (the next plan closes its round).
import type { Ledger } from "./ledger";
import type { FromShard, ToShard } from "./shard-wire";
import type { SubmitResult, WorkSource } from "./source";

type Submit = Extract<FromShard, { t: "submit" }>;
type Answer = Extract<ToShard, { t: "submit-answer" }>;

export function submitForShard(source: WorkSource, ledger: Ledger, m: Submit, reply: (a: Answer) => void): void {
  const answer = (r: SubmitResult) => {
    const tell = (recorded: boolean) => reply({ t: "submit-answer", id: m.id, ok: true, value: recorded ? { ...r, recorded } : r });
    if (r.status !== "accepted") return tell(false);
    // The same order a block found on a single-thread pool keeps: recorded before any job the new tip makes. Recorded
    // here once (a second write from the shard would land while the tip's notifies go out); not recorded, the shard
    // tries itself and says so as a single-thread pool does.
    let done: void | Promise<boolean>;
    try {
      done = ledger.recordBlock({ hash: r.hash, height: r.height, plan: m.plan });
    } catch {
      return tell(false);
    }
    if (!done) return tell(true);
    done.then(() => tell(true), () => tell(false));
  };
  const fail = (e: unknown) => reply({ t: "submit-answer", id: m.id, ok: false, error: (e as Error).message });
  try {
    const r = source.submit({ ...m.work, data: source.decodeData(m.work.data) }, m.header, m.coinbase);
    // A synchronous source (the chain) is answered in this turn: the tip's new job is built after the record.
    if (r instanceof Promise) r.then(answer, fail);
    else answer(r);
  } catch (e) {
    fail(e);
  }
}

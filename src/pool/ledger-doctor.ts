// `rignode doctor` for a ledger kept in PostgreSQL: reachable, its migrations, its amounts (the same check as the
// SQLite ledger's), and found blocks whose plan was kept but not yet recorded. Read only: it never writes a row.
import { ledgerAmountProblems, type Finding } from "../store";
import { LEDGER_MIGRATIONS } from "./ledger-backend";
import { PostgresLedger } from "./ledger-postgres";

/** The findings for the PostgreSQL ledger at `url` (`where` names it without the password). */
export async function diagnosePostgresLedger(url: string, where: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (check: string, status: Finding["status"], detail: string) => out.push({ check, status, detail });
  const backend = new PostgresLedger(url, { max: 1 });
  const sql = backend.sql;
  try {
    let versions: number[];
    try {
      const has = (await sql.unsafe("SELECT to_regclass('ledger_migrations') AS t")) as { t: unknown }[];
      if (has[0]?.t === null) {
        add("ledger", "warn", `the PostgreSQL ledger at ${where} has no tables yet: the first pool start creates them`);
        return out;
      }
      versions = ((await sql.unsafe("SELECT version FROM ledger_migrations ORDER BY version")) as { version: unknown }[]).map((r) => Number(r.version));
    } catch (e) {
      add("ledger", "fail", `the PostgreSQL ledger at ${where} cannot be read: ${(e as Error).message}; check the URL, the server and the user's rights`);
      return out;
    }
    const latest = LEDGER_MIGRATIONS[LEDGER_MIGRATIONS.length - 1]!.version;
    const top = versions.length ? versions[versions.length - 1]! : 0;
    if (top > latest) add("ledger schema", "fail", `ledger schema version ${top} is newer than this rignode knows (${latest}); use a newer rignode`);
    else if (top < latest) add("ledger schema", "warn", `ledger schema version ${top}; the next pool start upgrades it to ${latest}`);
    else add("ledger schema", "ok", `ledger schema version ${top} at ${where}`);
    const carry = (await sql.unsafe("SELECT address, amount FROM pool_carry")) as { address: Uint8Array; amount: string }[];
    const plans = ((await sql.unsafe("SELECT height, plan FROM pool_blocks")) as { height: unknown; plan: string }[]).map((r) => ({ height: Number(r.height), plan: r.plan }));
    const shares = Number(((await sql.unsafe("SELECT count(*) AS n FROM shares")) as { n: unknown }[])[0]!.n);
    const { problems, blocks } = ledgerAmountProblems(carry, plans);
    if (problems.length) add("pool ledger", "fail", `${problems.join("; ")}; restore the ledger database from a backup`);
    else add("pool ledger", "ok", `${shares} shares, ${blocks} pool blocks, amounts consistent`);
    const pending = (await backend.candidates()).length;
    if (pending) add("pool blocks", "warn", `${pending} found block(s) kept but not recorded yet (a crash before the record): the next pool start settles them against the chain`);
  } finally {
    await Promise.resolve(backend.close()).catch(() => {});
  }
  return out;
}

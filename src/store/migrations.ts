/** Numbered schema migrations: append only; a released migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "meta",
    sql: `CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
          ) STRICT;`,
  },
  {
    version: 2,
    name: "chain",
    // Amounts are TEXT (decimal) so that no balance ever passes through a float; work is 64 hex digits so
    // that it sorts as a number.
    sql: `CREATE TABLE blocks (
            hash      BLOB PRIMARY KEY,
            height    INTEGER NOT NULL,
            prev      BLOB NOT NULL,
            header    BLOB NOT NULL,
            body      BLOB NOT NULL,
            work      TEXT NOT NULL,
            status    TEXT NOT NULL CHECK (status IN ('main', 'side', 'invalid')),
            received  INTEGER NOT NULL
          ) STRICT;
          CREATE INDEX blocks_prev ON blocks (prev);
          CREATE INDEX blocks_work ON blocks (work);
          CREATE TABLE main_chain (height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE) STRICT;
          CREATE TABLE accounts (address BLOB PRIMARY KEY, balance TEXT NOT NULL, nonce INTEGER NOT NULL) STRICT;
          CREATE TABLE undo (hash BLOB PRIMARY KEY, data BLOB NOT NULL) STRICT;
          CREATE TABLE txindex (txid BLOB PRIMARY KEY, block BLOB NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL) STRICT;
          CREATE TABLE mempool (
            txid   BLOB PRIMARY KEY,
            raw    BLOB NOT NULL,
            sender BLOB NOT NULL,
            nonce  INTEGER NOT NULL,
            fee    TEXT NOT NULL,
            added  INTEGER NOT NULL
          ) STRICT;
          CREATE INDEX mempool_sender ON mempool (sender, nonce);`,
  },
  {
    version: 3,
    name: "pool ledger",
    // weight = difficulty x 2^32 as a decimal integer, so fractional difficulties add up exactly.
    sql: `CREATE TABLE shares (
            id         INTEGER PRIMARY KEY,
            time       INTEGER NOT NULL,
            worker     TEXT NOT NULL,
            address    BLOB NOT NULL,
            job        TEXT NOT NULL,
            difficulty REAL NOT NULL,
            weight     TEXT NOT NULL,
            hash       TEXT NOT NULL UNIQUE
          ) STRICT;
          CREATE TABLE pool_blocks (
            hash    BLOB PRIMARY KEY,
            height  INTEGER NOT NULL,
            time    INTEGER NOT NULL,
            plan    TEXT NOT NULL
          ) STRICT;
          CREATE TABLE pool_carry (address BLOB PRIMARY KEY, amount TEXT NOT NULL) STRICT;`,
  },
  {
    version: 4,
    name: "pool block rounds",
    // The last share id a block's plan counted: PROP rounds start after it; the plan JSON keeps the weights.
    sql: `ALTER TABLE pool_blocks ADD COLUMN last_share INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 5,
    name: "pool block status",
    // 'orphaned' when a reorganisation takes a pool block off the main chain (its plan no longer pays anyone).
    sql: `ALTER TABLE pool_blocks ADD COLUMN status TEXT NOT NULL DEFAULT 'main' CHECK (status IN ('main', 'orphaned'));`,
  },
];

/**
 * @module store/migrations
 * Versioned schema migrations, in SQL that SQLite and PostgreSQL both accept (the PostgreSQL
 * store maps INTEGER PRIMARY KEY AUTOINCREMENT to an identity column). Append only: a shipped
 * migration is never edited.
 */

export interface Migration {
  version: number;
  name: string;
  up: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'banks and entries',
    up: [
      `CREATE TABLE banks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('block', 'negative')),
        pdq_distance INTEGER NOT NULL DEFAULT 31 CHECK (pdq_distance BETWEEN 0 AND 256),
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0
      )`,
      // Entry ids are never reused (AUTOINCREMENT): index tombstones and snapshots rely on it.
      `CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bank_id INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
        signal TEXT NOT NULL,
        value TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '',
        source TEXT,
        source_id TEXT,
        added_at TEXT NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0,
        UNIQUE (bank_id, signal, value)
      )`,
    ],
  },
];

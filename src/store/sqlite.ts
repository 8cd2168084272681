/**
 * @module store/sqlite
 * The default store: one SQLite file (better-sqlite3). Imports are one transaction each: the file
 * is staged in a temporary table, then merged in key order, so the unique index is written
 * sequentially (random-order inserts into a multi-gigabyte index are what make naive imports
 * slow).
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeLabels, encodeLabels } from '../banks/labels.js';
import type { Bank, BankKind, EntryBatch, ParsedEntry, RowIssue } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { RemovalRow } from '../match/bank-index.js';
import { MIGRATIONS } from './migrations.js';
import type { BankStats, BankStore, BankWithCounts, ImportOptions, ImportReport, StoredEntry } from './types.js';

const BANK_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_LISTED_ISSUES = 100;
const STAGE_BATCH = 200;
/** Page size of new databases (bytes). */
const PAGE_SIZE = 16384;
/** Page cache in normal use (KiB). */
const CACHE_KIB = 128 * 1024;

/** Page cache during imports (KiB): WARD_IMPORT_CACHE_MIB, default 1 GiB. */
function importCacheKiB(): number {
  const mib = Number(process.env.WARD_IMPORT_CACHE_MIB ?? 1024);
  return Number.isFinite(mib) && mib >= 16 ? Math.floor(mib * 1024) : 1024 * 1024;
}

/** `--db`, else `WARD_DB`, else the user's data directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WARD_DB) return env.WARD_DB;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'ward', 'ward.db');
}

/** A `banks` row as the databases return it (PostgreSQL gives bigints as strings). @internal */
export interface BankRow {
  id: number;
  name: string;
  kind: BankKind;
  pdq_distance: number;
  created_at: string;
  version: number;
}

/** @internal */
export interface EntryRow {
  id: number;
  signal: string;
  value: string;
  labels: string;
  source: string | null;
  source_id: string | null;
  added_at: string;
  bank?: string;
}

/** @internal */
export function toBank(row: BankRow): Bank {
  return {
    id: Number(row.id),
    name: row.name,
    kind: row.kind,
    pdqDistance: Number(row.pdq_distance),
    createdAt: row.created_at,
    version: Number(row.version),
  };
}

/** @internal */
export function toEntry(row: EntryRow): StoredEntry {
  return {
    id: Number(row.id),
    signal: row.signal,
    value: row.value,
    labels: decodeLabels(row.labels),
    ...(row.source === null ? {} : { source: row.source }),
    ...(row.source_id === null ? {} : { sourceId: row.source_id }),
    addedAt: row.added_at,
  };
}

/** Validates a new bank's name and options (shared by every store). @internal */
export function checkNewBank(
  name: string,
  options: { kind?: BankKind; pdqDistance?: number } = {},
): { kind: BankKind; pdqDistance: number } {
  if (typeof name !== 'string' || !BANK_NAME.test(name)) {
    throw new WardError('WARD_ERR_BANK_NAME', 'A bank name must be 1-64 letters, digits, dots, dashes or underscores', {
      actual: String(name).slice(0, 80),
    });
  }
  const kind = options.kind ?? 'block';
  const distance = options.pdqDistance ?? 31;
  if (kind !== 'block' && kind !== 'negative') {
    throw new WardError(
      'WARD_ERR_CONFIG_INVALID',
      `Expected block or negative for kind but received ${JSON.stringify(kind)}`,
    );
  }
  if (!Number.isInteger(distance) || distance < 0 || distance > 256) {
    throw new WardError('WARD_ERR_CONFIG_INVALID', `Expected a PDQ distance 0-256 but received ${distance}`);
  }
  return { kind, pdqDistance: distance };
}

export class SqliteStore implements BankStore {
  readonly path: string;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  /** Opens (creating if needed) and migrates the database at `path` (':memory:' works). */
  static open(path: string = defaultDbPath()): SqliteStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // A new database is readable by its owner only (SQLite gives its -wal and -shm files
        // the same mode): bank contents are confidential.
        if (!existsSync(path)) {
          try {
            closeSync(openSync(path, 'wx', 0o600));
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          }
        }
      }
      db = new Database(path);
      // Only takes effect on a new database. 16 KiB pages (SQLite's default is 4 KiB) cut the
      // per-page work of big imports (b-tree pages, WAL frames, checkpoint) by about a sixth.
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma(`cache_size = -${CACHE_KIB}`);
    } catch (cause) {
      throw new WardError('WARD_ERR_STORE', `Cannot open the database: ${(cause as Error).message}`, { path }, cause);
    }
    const store = new SqliteStore(path, db);
    store.migrate();
    return store;
  }

  /** Applies pending migrations, each in its own transaction. */
  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    const newest = Math.max(0, ...done);
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    if (newest > known) {
      throw new WardError('WARD_ERR_STORE', `The database schema (v${newest}) is newer than this Ward (v${known})`, {
        path: this.path,
      });
    }
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        for (const sql of m.up) this.db.exec(sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  /** The better-sqlite3 connection (the service store shares it). @internal */
  get database(): Database.Database {
    return this.db;
  }

  schemaVersion(): number {
    return (this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  private bankRow(name: string): BankRow {
    const row = this.db.prepare('SELECT * FROM banks WHERE name = ?').get(name) as BankRow | undefined;
    if (!row) throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name)}`);
    return row;
  }

  createBank(name: string, options: { kind?: BankKind; pdqDistance?: number } = {}): Bank {
    const { kind, pdqDistance: distance } = checkNewBank(name, options);
    if (this.getBank(name)) throw new WardError('WARD_ERR_BANK_EXISTS', `A bank named ${JSON.stringify(name)} exists`);
    this.db
      .prepare('INSERT INTO banks (name, kind, pdq_distance, created_at, version) VALUES (?, ?, ?, ?, 0)')
      .run(name, kind, distance, new Date().toISOString());
    return toBank(this.bankRow(name));
  }

  getBank(name: string): Bank | undefined {
    const row = this.db.prepare('SELECT * FROM banks WHERE name = ?').get(name) as BankRow | undefined;
    return row ? toBank(row) : undefined;
  }

  listBanks(): BankWithCounts[] {
    const rows = this.db
      .prepare(
        'SELECT b.*, (SELECT count(*) FROM entries e WHERE e.bank_id = b.id) AS entries FROM banks b ORDER BY b.name',
      )
      .all() as (BankRow & { entries: number })[];
    return rows.map((r) => ({ ...toBank(r), entries: r.entries }));
  }

  deleteBank(name: string): boolean {
    const row = this.db.prepare('SELECT id FROM banks WHERE name = ?').get(name) as { id: number } | undefined;
    if (!row) return false;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM entries WHERE bank_id = ?').run(row.id);
      this.db.prepare('DELETE FROM entry_removals WHERE bank_id = ?').run(row.id);
      this.db.prepare('DELETE FROM banks WHERE id = ?').run(row.id);
    })();
    return true;
  }

  /** Imports on one store run one after another (one connection, one transaction at a time). */
  private importQueue: Promise<unknown> = Promise.resolve();

  importEntries(
    bankName: string,
    items: AsyncIterable<ParsedEntry | RowIssue | EntryBatch>,
    options: ImportOptions = {},
  ): Promise<ImportReport> {
    const run = this.importQueue.then(() => this.importNow(bankName, items, options));
    this.importQueue = run.catch(() => undefined);
    return run;
  }

  private async importNow(
    bankName: string,
    items: AsyncIterable<ParsedEntry | RowIssue | EntryBatch>,
    options: ImportOptions,
  ): Promise<ImportReport> {
    const bank = this.bankRow(bankName);
    const gen = bank.version + 1;
    const report: ImportReport = {
      bank: bankName,
      read: 0,
      added: 0,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      invalid: [],
      invalidCount: 0,
      applied: false,
    };
    // synchronous stays NORMAL: in WAL mode pages spilled during the transaction are not synced
    // anyway, and the checkpoint (at commit, and the one below) syncs the WAL before it copies
    // pages into the database, so a crash cannot corrupt it.
    this.db.pragma(`cache_size = -${importCacheKiB()}`);
    // Let SQLite's external sorter use the other cores for the merge's ORDER BY.
    this.db.pragma(`threads = ${Math.min(8, availableParallelism())}`);
    this.db.exec('BEGIN IMMEDIATE');
    let committed = false;
    try {
      // Stage the file first (an append-only table, no index), then merge it in key order:
      // SQLite's external sorter orders the rows, so the unique index is written sequentially
      // instead of at random (random writes into a multi-gigabyte index take minutes).
      this.db.exec(
        // rowid is the file order (the table is emptied before each import): later lines win.
        'CREATE TEMP TABLE IF NOT EXISTS import_staging (signal TEXT NOT NULL, value TEXT NOT NULL, labels TEXT NOT NULL, source_id TEXT)',
      );
      this.db.exec('DELETE FROM temp.import_staging');
      // Rows are staged STAGE_BATCH at a time: one statement call per batch, not per row.
      const stageMany = this.db.prepare(
        `INSERT INTO temp.import_staging VALUES ${Array(STAGE_BATCH).fill('(?, ?, ?, ?)').join(', ')}`,
      );
      const stageOne = this.db.prepare('INSERT INTO temp.import_staging VALUES (?, ?, ?, ?)');
      // A worker's batch arrives as one JSON text, staged by one statement (SQLite splits it).
      const stageJson = this.db.prepare(
        'INSERT INTO temp.import_staging SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?)',
      );
      const batch: (string | number | null)[] = [];
      let staged = 0;
      let poisoned = false;
      const invalid = (issue: RowIssue): void => {
        report.invalidCount++;
        if (report.invalid.length < MAX_LISTED_ISSUES) report.invalid.push(issue);
        // Keep reading to report every bad line, but stop writing: nothing will be applied.
        if (!options.skipInvalid) poisoned = true;
      };
      for await (const item of items) {
        if ('kind' in item) {
          report.read += item.count + item.issues.length;
          for (const issue of item.issues) invalid(issue);
          if (poisoned || item.count === 0) continue;
          stageJson.run(item.rows);
          staged += item.count;
          continue;
        }
        report.read++;
        if ('code' in item) {
          invalid(item);
          continue;
        }
        if (poisoned) continue;
        batch.push(item.signal, item.value, encodeLabels(item.labels), item.sourceId ?? null);
        staged++;
        if (batch.length === STAGE_BATCH * 4) {
          stageMany.run(batch);
          batch.length = 0;
        }
      }
      if (poisoned) return report; // rolled back below
      for (let i = 0; i < batch.length; i += 4) stageOne.run(batch.slice(i, i + 4));
      const count = this.db.prepare('SELECT count(*) AS n FROM entries WHERE bank_id = ?');
      const before = (count.get(bank.id) as { n: number }).n;
      // Later lines win over earlier duplicates (ordered by file order within a key).
      const merged = this.db
        .prepare(
          `INSERT INTO entries (bank_id, signal, value, labels, source, source_id, added_at, seen)
           SELECT ?, signal, value, labels, ?, source_id, ?, ? FROM temp.import_staging WHERE true
           ORDER BY signal, value, rowid
           ON CONFLICT (bank_id, signal, value) DO UPDATE SET
             labels = excluded.labels,
             source_id = coalesce(excluded.source_id, entries.source_id),
             seen = excluded.seen
           WHERE entries.labels IS NOT excluded.labels
              OR (excluded.source_id IS NOT NULL AND entries.source_id IS NOT excluded.source_id)`,
        )
        .run(bank.id, options.source ?? null, new Date().toISOString(), gen).changes;
      const after = (count.get(bank.id) as { n: number }).n;
      report.added = after - before;
      report.updated = merged - report.added;
      report.unchanged = staged - merged;
      if (options.replace) {
        // Unchanged entries were not touched by the merge: mark them seen, then drop the rest.
        this.db
          .prepare(
            `UPDATE entries SET seen = ? WHERE bank_id = ? AND seen <> ?
               AND (signal, value) IN (SELECT signal, value FROM temp.import_staging)`,
          )
          .run(gen, bank.id, gen);
        // Removals are logged so that a live index (ward serve) can follow the bank.
        this.db
          .prepare(
            'INSERT INTO entry_removals (bank_id, entry_id, signal, value) SELECT bank_id, id, signal, value FROM entries WHERE bank_id = ? AND seen <> ? ORDER BY id',
          )
          .run(bank.id, gen);
        report.deleted = this.db
          .prepare('DELETE FROM entries WHERE bank_id = ? AND seen <> ?')
          .run(bank.id, gen).changes;
      }
      this.db.exec('DELETE FROM temp.import_staging');
      // A replace always moves to a new generation, so its `seen` marks are never reused.
      if (options.replace || report.added + report.updated > 0) {
        this.db.prepare('UPDATE banks SET version = ? WHERE id = ?').run(gen, bank.id);
      }
      this.db.exec('COMMIT');
      committed = true;
      report.applied = true;
      return report;
    } finally {
      if (!committed) this.db.exec('ROLLBACK');
      this.db.pragma(`cache_size = -${CACHE_KIB}`);
      if (report.applied) this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
  }

  *entries(bankName: string, signal?: string): IterableIterator<StoredEntry> {
    const bank = this.bankRow(bankName);
    const rows = signal
      ? this.db.prepare('SELECT * FROM entries WHERE bank_id = ? AND signal = ? ORDER BY id').iterate(bank.id, signal)
      : this.db.prepare('SELECT * FROM entries WHERE bank_id = ? ORDER BY id').iterate(bank.id);
    for (const row of rows) yield toEntry(row as EntryRow);
  }

  /** Just (id, value) of one signal type, in id order, optionally only ids above `afterId`. */
  *values(bankName: string, signal: string, afterId = 0): IterableIterator<[number, string]> {
    const bank = this.bankRow(bankName);
    const stmt = this.db
      .prepare('SELECT id, value FROM entries WHERE bank_id = ? AND signal = ? AND id > ? ORDER BY id')
      .raw(true);
    for (const row of stmt.iterate(bank.id, signal, afterId)) yield row as [number, string];
  }

  /** (id, value) of one signal type of a bank, ids above `afterId`, ascending (the index loader's pages). */
  valuesPage(bank: Bank, signal: string, afterId: number, limit: number): [number, string][] {
    return this.db
      .prepare('SELECT id, value FROM entries WHERE bank_id = ? AND signal = ? AND id > ? ORDER BY id LIMIT ?')
      .raw(true)
      .all(bank.id, signal, afterId, limit) as [number, string][];
  }

  /** Entries removed from a bank (by --replace or deletion) after sequence `afterSeq`, in order. */
  removalsSince(bank: Bank, afterSeq: number, limit: number): RemovalRow[] {
    return (
      this.db
        .prepare(
          'SELECT id, entry_id, signal, value FROM entry_removals WHERE bank_id = ? AND id > ? ORDER BY id LIMIT ?',
        )
        .all(bank.id, afterSeq, limit) as { id: number; entry_id: number; signal: string; value: string }[]
    ).map((r) => ({ seq: r.id, entryId: r.entry_id, signal: r.signal, value: r.value }));
  }

  /** The last removal's sequence number of a bank (0: none). */
  lastRemovalSeq(bank: Bank): number {
    const row = this.db.prepare('SELECT max(id) AS m FROM entry_removals WHERE bank_id = ?').get(bank.id) as {
      m: number | null;
    };
    return row.m ?? 0;
  }

  /** How many entries of one signal type a bank has. */
  count(bankName: string, signal: string): number {
    const bank = this.bankRow(bankName);
    const row = this.db
      .prepare('SELECT count(*) AS n FROM entries WHERE bank_id = ? AND signal = ?')
      .get(bank.id, signal);
    return (row as { n: number }).n;
  }

  /** The ids of one signal type's entries, ascending (for bringing an index snapshot up to date). */
  ids(bankName: string, signal: string): Uint32Array {
    const bank = this.bankRow(bankName);
    const out = new Uint32Array(this.count(bankName, signal));
    let i = 0;
    const stmt = this.db.prepare('SELECT id FROM entries WHERE bank_id = ? AND signal = ? ORDER BY id').pluck(true);
    for (const id of stmt.iterate(bank.id, signal)) {
      if (i === out.length) break;
      out[i++] = id as number;
    }
    return out.subarray(0, i);
  }

  entriesById(ids: readonly number[]): Map<number, StoredEntry & { bank: string }> {
    const out = new Map<number, StoredEntry & { bank: string }>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(
          `SELECT e.*, b.name AS bank FROM entries e JOIN banks b ON b.id = e.bank_id WHERE e.id IN (${batch.map(() => '?').join(',')})`,
        )
        .all(...batch) as EntryRow[];
      for (const row of rows) out.set(row.id, { ...toEntry(row), bank: row.bank as string });
    }
    return out;
  }

  stats(bankName: string): BankStats {
    const bank = this.bankRow(bankName);
    const bySignal: Record<string, number> = {};
    let entries = 0;
    for (const r of this.db
      .prepare('SELECT signal, count(*) AS n FROM entries WHERE bank_id = ? GROUP BY signal ORDER BY signal')
      .all(bank.id) as { signal: string; n: number }[]) {
      bySignal[r.signal] = r.n;
      entries += r.n;
    }
    const byLabel: Record<string, number> = {};
    for (const r of this.db
      .prepare("SELECT labels, count(*) AS n FROM entries WHERE bank_id = ? AND labels <> '' GROUP BY labels")
      .all(bank.id) as { labels: string; n: number }[]) {
      for (const label of decodeLabels(r.labels)) byLabel[label] = (byLabel[label] ?? 0) + r.n;
    }
    return { bank: toBank(bank), entries, bySignal, byLabel };
  }

  close(): void {
    this.db.close();
  }
}

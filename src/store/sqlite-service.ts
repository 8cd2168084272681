/**
 * @module store/sqlite-service
 * The service store on SQLite: the CLI's SqliteStore (its connection, its tuned imports) plus the
 * service tables. better-sqlite3 is synchronous and one connection has one transaction, so every
 * write goes through one async lock: an import streaming from a slow client holds the lock, and
 * other writes wait for it (asynchronously) instead of landing inside its transaction.
 */
import type Database from 'better-sqlite3';
import { WardError } from '../errors.js';
import { type ImportItem, type SqlDb, type SqlExecutor, SqlServiceStore, type SqlValue } from './sql-store.js';
import { type BankRow, SqliteStore } from './sqlite.js';
import type { ImportOptions, ImportReport } from './types.js';

/** A FIFO async lock. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

function storeError(cause: unknown): unknown {
  if (WardError.is(cause)) return cause;
  return new WardError('WARD_ERR_STORE', `Database error: ${(cause as Error).message}`, {}, cause);
}

class SqliteDb implements SqlDb {
  readonly lock = new Mutex();
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Runs a statement now (inside a transaction, or a read) or under the write lock. */
  private exec<T>(sql: string, fn: (s: Database.Statement) => T, locked: boolean): Promise<T> {
    let s: Database.Statement;
    try {
      s = this.stmt(sql);
    } catch (cause) {
      return Promise.reject(storeError(cause));
    }
    const go = (): T => {
      try {
        return fn(s);
      } catch (cause) {
        throw storeError(cause);
      }
    };
    if (locked || s.readonly) return Promise.resolve().then(go);
    return this.lock.run(go);
  }

  executor(locked: boolean): SqlExecutor {
    return {
      all: <T>(sql: string, params: readonly SqlValue[] = []) =>
        this.exec(
          sql,
          (s) => {
            if (s.reader) return s.all(...params) as T[];
            s.run(...params);
            return [] as T[];
          },
          locked,
        ),
      get: <T>(sql: string, params: readonly SqlValue[] = []) =>
        this.exec(sql, (s) => s.get(...params) as T | undefined, locked),
      run: (sql: string, params: readonly SqlValue[] = []) =>
        this.exec(sql, (s) => (s.reader ? (s.all(...params) as unknown[]).length : s.run(...params).changes), locked),
    };
  }

  private readonly free = this.executor(false);
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.free.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.free.get<T>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.free.run(sql, params);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (cause) {
        throw storeError(cause);
      }
      try {
        const result = await fn(this.executor(true));
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }
}

export class SqliteServiceStore extends SqlServiceStore {
  readonly dialect = 'sqlite' as const;
  readonly location: string;
  readonly sqlitePath: string | undefined;
  private readonly sdb: SqliteDb;

  private constructor(readonly bankStore: SqliteStore) {
    const sdb = new SqliteDb(bankStore.database);
    super(sdb);
    this.sdb = sdb;
    this.location = bankStore.path;
    this.sqlitePath = bankStore.path === ':memory:' ? undefined : bankStore.path;
  }

  /** Opens (creating and migrating) the SQLite database at `path`. */
  static open(path: string): SqliteServiceStore {
    return new SqliteServiceStore(SqliteStore.open(path));
  }

  importEntries(bank: string, entries: AsyncIterable<ImportItem>, options?: ImportOptions): Promise<ImportReport> {
    return this.sdb.lock.run(async () => {
      try {
        return await this.bankStore.importEntries(bank, entries, options);
      } catch (cause) {
        throw storeError(cause);
      }
    });
  }

  protected async lockAudit(): Promise<void> {
    // BEGIN IMMEDIATE already made this transaction the only writer.
  }

  protected lockBank(tx: SqlExecutor, name: string) {
    return tx.get<BankRow>('SELECT * FROM banks WHERE name = ?', [name]);
  }

  async close(): Promise<void> {
    await this.sdb.lock.run(() => this.bankStore.close());
  }
}

/**
 * The service tests run against both stores: SQLite (a temporary file) and PostgreSQL (a fresh
 * schema per store, dropped at the end). PostgreSQL is at WARD_TEST_DATABASE_URL, default
 * postgres://root@127.0.0.1:5432/test. Outside CI a missing server skips its half with a warning;
 * in CI (CI=true) it fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { beforeEach } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import type { ServiceStore } from '../../src/store/service.js';
import { SqliteServiceStore } from '../../src/store/sqlite-service.js';

export const PG_URL = process.env.WARD_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

// The global setup (test/helpers/global-setup.ts) checked once per run and said so once.
export const PG_AVAILABLE =
  process.env.WARD_TEST_POSTGRES !== undefined ? process.env.WARD_TEST_POSTGRES === '1' : await postgresReachable();
if (!PG_AVAILABLE && process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_URL}; CI needs it`);

export type StoreKind = 'sqlite' | 'postgres';
/** Both halves always: the PostgreSQL one is reported as skipped (not left out) when it cannot run. */
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

/** In a `describe.each(STORE_KINDS)` body: skips its tests on a PostgreSQL that is not reachable. */
export function skipUnavailable(kind: StoreKind): void {
  beforeEach((ctx) => {
    if (kind === 'postgres' && !PG_AVAILABLE) ctx.skip();
  });
}

export interface OpenedStore {
  store: ServiceStore;
  /** SQLite: the file; PostgreSQL: the schema. */
  where: string;
  /** The environment a `ward` child process needs to use this database. */
  env: Record<string, string>;
  args: string[];
  drop(): Promise<void>;
}

export async function openStore(kind: StoreKind): Promise<OpenedStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ward-serve-'));
    const path = join(dir, 'ward.db');
    const store = SqliteServiceStore.open(path);
    return {
      store,
      where: path,
      env: {},
      args: ['--db', path],
      drop: async () => {
        await store.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `ward_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const store = await PostgresStore.open(PG_URL, { schema, max: 4 });
  return {
    store,
    where: schema,
    env: { DATABASE_URL: PG_URL, WARD_PG_SCHEMA: schema },
    args: [],
    drop: async () => {
      await store.close().catch(() => {});
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Runs raw SQL against a store's database (to tamper with it in tests). */
export async function rawSql(opened: OpenedStore, kind: StoreKind, sql: string, params: unknown[] = []): Promise<void> {
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(opened.where);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${opened.where}` });
  await client.connect();
  try {
    let n = 0;
    await client.query(
      sql.replace(/\?/g, () => `$${++n}`),
      params,
    );
  } finally {
    await client.end();
  }
}

export async function* iter<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

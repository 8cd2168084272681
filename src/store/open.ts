/**
 * @module store/open
 * Which database a command or the service uses, SQLite or PostgreSQL alike: `--db` (a path or a
 * `postgres://` URL), else `DATABASE_URL` when it is a PostgreSQL URL, else `WARD_DB`, else the
 * default SQLite file. Commands that only read (`ward match`, `ward scan`, `ward bank
 * list|stats|export`) never create a database: a named one that does not exist is
 * WARD_ERR_DB_NOT_FOUND (exit 3).
 */
import { existsSync } from 'node:fs';
import { WardError } from '../errors.js';
import { PostgresStore } from './postgres.js';
import type { ServiceStore } from './service.js';
import { defaultDbPath } from './sqlite.js';
import { SqliteServiceStore } from './sqlite-service.js';

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

export interface OpenStoreOptions {
  /** `--db`: a SQLite path or a PostgreSQL URL. */
  db?: string;
  /** False: a SQLite file that does not exist is an error instead of being created (default true). */
  create?: boolean;
}

/** Where the database is, by the rule above: a PostgreSQL URL, or a SQLite path and how it was named. */
export function resolveDatabase(
  options: { db?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): { postgres: string } | { sqlite: string; named: '--db' | 'WARD_DB' | 'default' } {
  if (options.db !== undefined && options.db !== '') {
    return isPostgresUrl(options.db) ? { postgres: options.db } : { sqlite: options.db, named: '--db' };
  }
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== '') {
    if (!isPostgresUrl(env.DATABASE_URL)) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'DATABASE_URL must be a postgres:// or postgresql:// URL');
    }
    return { postgres: env.DATABASE_URL };
  }
  if (env.WARD_DB !== undefined && env.WARD_DB !== '') return { sqlite: env.WARD_DB, named: 'WARD_DB' };
  return { sqlite: defaultDbPath(env), named: 'default' };
}

export async function openServiceStore(
  options: OpenStoreOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServiceStore> {
  const where = resolveDatabase(options, env);
  if ('postgres' in where) return PostgresStore.open(where.postgres);
  if (options.create === false && where.sqlite !== ':memory:' && !existsSync(where.sqlite)) {
    const how = where.named === 'default' ? 'the default database' : `the database named by ${where.named}`;
    throw new WardError(
      'WARD_ERR_DB_NOT_FOUND',
      `No database at ${where.sqlite} (${how}): create one with \`ward bank create\`, or give --db`,
      { path: where.sqlite },
    );
  }
  return SqliteServiceStore.open(where.sqlite);
}

/** Opens the database, runs `fn`, and always closes it. */
export async function withServiceStore<T>(
  options: OpenStoreOptions,
  fn: (store: ServiceStore) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const store = await openServiceStore(options, env);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

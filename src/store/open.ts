/**
 * @module store/open
 * Which database the service and its commands use: `--db PATH` (SQLite), else `DATABASE_URL`
 * when it is a PostgreSQL URL, else `WARD_DB`, else the default SQLite file. The CLI's other
 * commands use the same rule for SQLite.
 */
import { WardError } from '../errors.js';
import { PostgresStore } from './postgres.js';
import type { ServiceStore } from './service.js';
import { defaultDbPath } from './sqlite.js';
import { SqliteServiceStore } from './sqlite-service.js';

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

export async function openServiceStore(
  options: { db?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServiceStore> {
  if (options.db !== undefined) return SqliteServiceStore.open(options.db);
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== '') {
    if (!isPostgresUrl(env.DATABASE_URL)) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'DATABASE_URL must be a postgres:// or postgresql:// URL');
    }
    return PostgresStore.open(env.DATABASE_URL);
  }
  return SqliteServiceStore.open(defaultDbPath(env));
}

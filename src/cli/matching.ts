/**
 * @module cli/matching
 * The banks of the commands that scan (`ward scan`, `ward dataset audit`): scanning without a
 * database is useful (provenance, models, text), so the default database is not required; one
 * named by --db or WARD_DB must exist (WARD_ERR_DB_NOT_FOUND). Nothing here creates one. Either
 * case without banks is a warning on stderr.
 */
import { existsSync } from 'node:fs';
import { StoreMatcher } from '../match/store-matcher.js';
import { openServiceStore, resolveDatabase } from '../store/open.js';
import type { ServiceStore } from '../store/service.js';

export async function openScanMatcher(
  db: string | undefined,
  banks: readonly string[] | undefined,
  stderr: NodeJS.WritableStream,
): Promise<{ store?: ServiceStore; matcher?: StoreMatcher }> {
  const where = resolveDatabase({ db });
  if ('sqlite' in where && where.named === 'default' && !existsSync(where.sqlite)) {
    stderr.write(`ward: warning: no database at ${where.sqlite}: nothing can match (see \`ward bank create\`)\n`);
    return {};
  }
  const store = await openServiceStore({ db, create: false });
  try {
    const matcher = await StoreMatcher.open(store, banks ? { banks } : {});
    if (matcher.banks.length === 0)
      stderr.write('ward: warning: no banks in the database: nothing can match (see `ward bank create`)\n');
    return { store, matcher };
  } catch (e) {
    await store.close();
    throw e;
  }
}

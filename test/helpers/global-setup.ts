/**
 * Vitest global setup: runs once per `vitest run`, before any test file.
 * - Checks once whether PostgreSQL and chromium are there (with CI=true, missing fails the run)
 *   and whether ../shared is present and says so once (not once per test file); test
 *   files read the answer from WARD_TEST_SHARED (test/helpers/fixtures.ts) and skip with
 *   `describe.skipIf`/`it.skipIf`, so vitest counts the skips.
 * - Points TMPDIR at one folder for this run and removes it at the end, so every
 *   `mkdtemp(join(tmpdir(), …))` in a test (and in the `ward` processes tests start) is cleaned
 *   up even when a test forgets or fails before its own cleanup; XDG_DATA_HOME too, so a `ward`
 *   command run without --db never touches the user's database.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHARED = process.env.WARD_SHARED
  ? resolve(process.env.WARD_SHARED)
  : resolve(fileURLToPath(new URL('../../..', import.meta.url)), 'shared');

/** PostgreSQL for the service tests' second half (test/server/stores.ts reads the same URL). */
const PG_URL = process.env.WARD_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const CHROMIUM = process.env.WARD_CHROMIUM ?? '/usr/bin/chromium';

async function postgresReachable(): Promise<boolean> {
  const { default: pg } = await import('pg');
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

export default async function setup(): Promise<() => void> {
  // PostgreSQL and chromium: checked once; with CI=true a half that cannot run fails the run.
  const postgres = await postgresReachable();
  const chromium = existsSync(CHROMIUM);
  process.env.WARD_TEST_POSTGRES = postgres ? '1' : '0';
  process.env.WARD_TEST_CHROMIUM = chromium ? '1' : '0';
  const missing = [
    ...(postgres ? [] : [`PostgreSQL is not reachable at ${PG_URL}`]),
    ...(chromium ? [] : [`${CHROMIUM} is missing (.ci/run installs Debian's chromium)`]),
  ];
  if (missing.length > 0 && process.env.CI) throw new Error(`${missing.join('; ')}: CI needs it`);
  for (const m of missing) console.warn(`${m}: the tests that need it are skipped`);
  const shared = existsSync(join(SHARED, 'README.md'));
  process.env.WARD_TEST_SHARED = shared ? '1' : '0';
  if (!shared) {
    console.warn(
      `../shared not found at ${SHARED}: the tests that need it are skipped (they run in CI, where it is present)`,
    );
  }
  const outer = process.env.TMPDIR;
  const runDir = mkdtempSync(join(tmpdir(), 'ward-test-run-'));
  process.env.TMPDIR = runDir;
  process.env.WARD_TEST_TMPDIR = runDir;
  // A `ward` command run without --db opens $XDG_DATA_HOME/ward/ward.db: inside the run's folder,
  // never the user's own database.
  const outerData = process.env.XDG_DATA_HOME;
  process.env.XDG_DATA_HOME = join(runDir, 'data');
  return () => {
    rmSync(runDir, { recursive: true, force: true });
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    if (outerData === undefined) delete process.env.XDG_DATA_HOME;
    else process.env.XDG_DATA_HOME = outerData;
  };
}

/**
 * Paths into ../shared (read-only reference data beside the project). Nothing is copied in.
 * When ../shared is absent (a user's fresh clone), conformance suites skip and say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROJECT_ROOT = root;
// WARD_SHARED points elsewhere (a git worktree has no ../shared beside it).
export const SHARED = process.env.WARD_SHARED ? resolve(process.env.WARD_SHARED) : resolve(root, '..', 'shared');
/** From the global setup (test/helpers/global-setup.ts), which checks once per run. */
export const sharedAvailable =
  process.env.WARD_TEST_SHARED === undefined
    ? existsSync(join(SHARED, 'README.md'))
    : process.env.WARD_TEST_SHARED === '1';
export const SKIP_REASON = `../shared not found at ${SHARED}: conformance tests skipped (they run in CI, where it is present)`;

/** Meta's PDQ conformance images (ThreatExchange repository, BSD) and their MANIFEST.tsv. */
export const PDQ_CONFORMANCE = join(SHARED, 'conformance', 'pdq');
/** Benign photos (adults, objects) with licences in their MANIFEST.tsv. */
export const PHOTOS = join(SHARED, 'fixtures', 'photos');

/** Rows of a MANIFEST.tsv as objects keyed by its header. */
export function readManifest(dir: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n');
  const keys = (header ?? '').split('\t');
  return lines.map((line) => Object.fromEntries(line.split('\t').map((v, i) => [keys[i], v])));
}

// Said once per run by the global setup; only a file run without it (another runner) says it here.
if (!sharedAvailable && process.env.WARD_TEST_SHARED === undefined) console.warn(SKIP_REASON);

/**
 * `ward demo`, the README's main-job command: it builds a stand-in bank from generated images,
 * scans a demo folder of variants, unrelated images, archives and broken files, and says that the
 * bank is a stand-in. Checked on the NDJSON it prints.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runWard, tempDir } from '../helpers/cli.js';

describe('ward demo', () => {
  it('finds the stand-ins and their variants, inside archives too, and nothing else', async () => {
    const dir = tempDir('ward-demo-test-');
    const r = await runWard(['demo', '--format', 'ndjson', '--dir', dir, '--jobs', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stand-in/);
    expect(r.stderr).toMatch(/No real hash list/);
    const items = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const verdict = Object.fromEntries(
      items.map((i) => [`${i.path.replace(/^scan-me\//, '')}${i.archivePath ? `::${i.archivePath}` : ''}`, i.verdict]),
    );
    expect(verdict).toEqual({
      'backup.tar.gz': 'clean',
      'backup.tar.gz::backup/inner.zip': 'clean',
      'backup.tar.gz::backup/inner.zip!/deep/copy.jpg': 'match',
      'backup.tar.gz::backup/readme.txt': 'clean',
      'empty.jpg': 'skipped',
      'flat-grey.png': 'skipped',
      'holiday-1.jpg': 'clean',
      'holiday-2.png': 'clean',
      'holiday-3.jpg': 'clean',
      'holiday-4.png': 'clean',
      'meme-repost.jpg': 'clean',
      'not-really.png': 'clean',
      'photos.zip': 'clean',
      'photos.zip::trip/beach.jpg': 'clean',
      'photos.zip::trip/scan-0042.jpg': 'match',
      'truncated.jpg': 'error',
      'upload-001.jpg': 'match',
      'upload-002.jpg': 'match',
      'upload-003.jpg': 'match',
      'upload-004.jpg': 'match',
      'upload-005.jpg': 'match',
    });
    const byName = (n: string) => items.find((i) => i.path.endsWith(n) && !i.archivePath);
    // The exact copy matches by MD5 as well; the flipped copy through a dihedral transform.
    expect(
      byName('upload-001.jpg')
        .matches.map((m: { signal: string }) => m.signal)
        .sort(),
    ).toEqual(['md5', 'pdq']);
    expect(byName('upload-005.jpg').matches[0].transform).not.toBe('original');
    // The meme matched the block bank and was suppressed by the negative bank.
    expect(byName('meme-repost.jpg').suppressedBy[0].bank).toBe('demo-allow');
    expect(byName('truncated.jpg').error.code).toBe('WARD_ERR_IMAGE_DECODE');
    // --dir keeps the folder it was given; only the database, its index and the demo folder are there.
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['demo.db', 'scan-me']));
  });

  it('removes its temporary directory unless asked to keep it', async () => {
    const r = await runWard(['demo', '--format', 'ndjson', '--jobs', '1']);
    expect(r.code).toBe(0);
    const where = /Working in (\S+)/.exec(r.stderr)?.[1];
    expect(where).toBeDefined();
    expect(existsSync(where as string)).toBe(false);
  });
});

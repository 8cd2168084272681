/**
 * 7z and RAR in `ward scan` and `ward inspect` (issue 21: a malicious pickle inside a 7z was
 * "skipped: not a format any inspector reads"). The archives are built here: 7z by 7-Zip itself
 * (test/helpers/sevenzip.ts), RAR 5 byte by byte (test/helpers/rar5.ts). Benign content only:
 * synthetic scenes, a synthetic PyTorch checkpoint, and picklescan's malicious-pickle stand-ins
 * read from ../shared/fixtures/pickles (opcode patterns, never unpickled by anything).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { Matcher } from '../../src/match/matcher.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { scan, scanBytes } from '../../src/scan/pipeline.js';
import type { ItemReport } from '../../src/scan/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { zipOf } from '../helpers/archives.js';
import { runWard, tempDir } from '../helpers/cli.js';
import { PROJECT_ROOT, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';
import { rar5Of } from '../helpers/rar5.js';
import { sevenZipOf } from '../helpers/sevenzip.js';
import { torchStateDictPickle } from '../models/build.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;

const PICKLES = join(SHARED, 'fixtures', 'pickles');
if (!sharedAvailable) console.log(`7z/RAR scan and inspect tests: ${SKIP_REASON}`);

const dir = tempDir('ward-7z-scan-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reports = new Map<string, ItemReport>();
const key = (r: ItemReport) => `${r.path.slice(dir.length + 1)}${r.archivePath ? `!/${r.archivePath}` : ''}`;

describe.skipIf(!sharedAvailable)('7z and RAR in scan and inspect', () => {
  beforeAll(async () => {
    const jpeg = await sceneImage(11, 'jpeg', 320, 240);
    const png = await sceneImage(12, 'png', 200, 150);
    const checkpoint = zipOf([
      { name: 'archive/data.pkl', data: torchStateDictPickle(['model.diffusion_model.out.2.weight']), method: 'store' },
      { name: 'archive/version', data: Buffer.from('3\n'), method: 'store' },
    ]);
    writeFileSync(
      join(dir, 'forum.7z'),
      await sevenZipOf(
        [
          { name: 'model/evil.pkl', data: readFileSync(join(PICKLES, 'data__malicious2_v4.pkl')) },
          { name: 'model/weights.ckpt', data: checkpoint },
          { name: 'photos/a.jpg', data: jpeg },
          { name: 'inner.zip', data: zipOf([{ name: 'b.png', data: png }]) },
        ],
        { solid: true },
      ),
    );
    writeFileSync(
      join(dir, 'set.rar'),
      rar5Of([
        { name: 'a.jpg', bytes: jpeg },
        { name: 'locked.bin', bytes: Buffer.alloc(64, 3), encrypted: true },
        { name: 'evil.pkl', bytes: readFileSync(join(PICKLES, 'data__malicious1_v3.pkl')) },
      ]),
    );
    const store = SqliteStore.open(':memory:');
    const matcher = Matcher.open(store);
    for await (const r of scan([dir], { jobs: 1, matcher, config: resolveScanConfig({ version: 1 }) }))
      reports.set(key(r), r);
    store.close();
  });

  it('expands 7z entries like zip entries, nested archives included', () => {
    expect([...reports.keys()].filter((k) => k.startsWith('forum.7z')).sort()).toEqual([
      'forum.7z',
      'forum.7z!/inner.zip',
      'forum.7z!/inner.zip!/b.png',
      'forum.7z!/model/evil.pkl',
      'forum.7z!/model/weights.ckpt',
      'forum.7z!/photos/a.jpg',
    ]);
    expect(reports.get('forum.7z')).toMatchObject({ contentType: 'archive', format: '7z' });
    const photo = reports.get('forum.7z!/photos/a.jpg')!;
    expect(photo).toMatchObject({ contentType: 'image', format: 'jpeg', verdict: 'clean' });
    expect(photo.signals.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(reports.get('forum.7z!/inner.zip!/b.png')?.signals.pdq).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rates a raw pickle and a PyTorch checkpoint inside a 7z', () => {
    const evil = reports.get('forum.7z!/model/evil.pkl')!;
    expect(evil).toMatchObject({ contentType: 'model', format: 'pickle', verdict: 'flag' });
    expect(evil.findings.find((f) => f.type === 'model.pickle-dangerous')).toMatchObject({
      severity: 'critical',
      data: { dangerous: ['posix.system'] },
    });
    const ckpt = reports.get('forum.7z!/model/weights.ckpt')!;
    expect(ckpt).toMatchObject({ contentType: 'model', format: 'torch' });
    expect(ckpt.findings.some((f) => f.type === 'model.pickle-dangerous')).toBe(false);
  });

  it('reads RAR entries, rates the pickle, and reports the encrypted entry without guessing', () => {
    expect(reports.get('set.rar')).toMatchObject({ contentType: 'archive', format: 'rar' });
    expect(reports.get('set.rar!/a.jpg')).toMatchObject({ contentType: 'image', verdict: 'clean' });
    const locked = reports.get('set.rar!/locked.bin')!;
    expect(locked.verdict).toBe('error');
    expect(locked.findings.map((f) => f.type)).toEqual(['archive.encrypted']);
    const evil = reports.get('set.rar!/evil.pkl')!;
    expect(evil).toMatchObject({ contentType: 'model', verdict: 'flag' });
    expect(evil.findings.find((f) => f.type === 'model.pickle-dangerous')?.data).toMatchObject({
      dangerous: ['builtins.eval'],
    });
  });

  it('an upload held in memory (scanBytes, what POST /v1/scan runs) gives the same reports', async () => {
    const bytes = readFileSync(join(dir, 'forum.7z'));
    const got = new Map<string, ItemReport>();
    for await (const { report } of scanBytes(join(dir, 'forum.7z'), bytes)) got.set(key(report), report);
    const fromFile = [...reports.entries()].filter(([k]) => k.startsWith('forum.7z'));
    expect([...got.keys()].sort()).toEqual(fromFile.map(([k]) => k).sort());
    for (const [k, r] of fromFile) {
      expect(got.get(k)?.verdict, k).toBe(r.verdict);
      expect(got.get(k)?.signals.sha256, k).toBe(r.signals.sha256);
    }
  });

  it('every report follows the published item schema', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const validate = ajv.compile(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schema', 'scan-item.v1.json'), 'utf8')),
    );
    for (const r of reports.values())
      expect(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('ward inspect rates the pickles inside a 7z and a RAR (exit 1: dangerous)', async () => {
    const run = await runWard(['inspect', '--format', 'ndjson', join(dir, 'forum.7z'), join(dir, 'set.rar')]);
    const records: Json[] = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(run.stderr).toBe('');
    // The encrypted RAR entry is an error record: the exit status says some inputs failed.
    expect(run.code).toBe(2);
    const seven = records.find((r) => r.inspector === 'archive' && r.format === '7z');
    expect(seven).toMatchObject({ kind: 'archive', entries: 4, notInspected: { image: 1 } });
    const evil = records.find((r) => r.archivePath === 'model/evil.pkl');
    expect(evil).toMatchObject({ inspector: 'model', format: 'pickle', pickle: { verdict: 'dangerous' } });
    expect(evil.path).toBe(join(dir, 'forum.7z'));
    expect(records.find((r) => r.archivePath === 'model/weights.ckpt')).toMatchObject({
      format: 'torch',
      pickle: { verdict: 'safe' },
    });
    expect(records.find((r) => r.archivePath === 'inner.zip!/b.png')).toBeUndefined();
    expect(records.find((r) => r.archivePath === 'evil.pkl')).toMatchObject({ pickle: { verdict: 'dangerous' } });
    expect(records.find((r) => r.archivePath === 'locked.bin')).toMatchObject({
      encrypted: true,
      error: { code: 'WARD_ERR_ARCHIVE_CORRUPT' },
    });

    const onlySeven = await runWard(['inspect', '--format', 'ndjson', join(dir, 'forum.7z')]);
    expect(onlySeven.code).toBe(1);
    const table = await runWard(['inspect', '--format', 'table', join(dir, 'forum.7z')]);
    expect(table.stdout).toContain('forum.7z!/model/evil.pkl');
    expect(table.stdout).toMatch(/7z +archive: 4 entries/);
  });
});

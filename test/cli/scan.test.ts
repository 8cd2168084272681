/**
 * `ward scan` end to end, as outside tooling sees it: a folder of real bytes (benign generated
 * scenes standing in for listed material, their near-duplicates, archives, nested archives,
 * broken and odd files), banks set up through the CLI, and the contract checked item by item:
 * verdicts, reasons, matches, suppression, archive paths, content types by magic bytes, input
 * order, exit codes, every output format against the published JSON Schema, --out, --from,
 * --jobs, --config, and the checkpoint (resume, crash, foreign and torn journals).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage, variant } from '../../src/demo/images.js';
import { loadSharp } from '../../src/media/image.js';
import { hashImage } from '../../src/signals/image.js';
import { pdqDistance } from '../../src/signals/pdq/distance.js';
import { gzipOf, tarOf, zipOf } from '../helpers/archives.js';
import { tempDir as makeTempDir, type RunResult, runWard } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;

const parseLines = (stdout: string): Json[] =>
  stdout.trim() === ''
    ? []
    : stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));

const made: string[] = [];
function tempDir(prefix?: string): string {
  const d = makeTempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RFC 4180 CSV (quoted cells, doubled quotes, newlines inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

const SUMMARY =
  /^Scanned (\d+) items in [\d.]+ s.*: match (\d+), flag (\d+), clean (\d+), skipped (\d+), error (\d+)$/m;

// ---------------------------------------------------------------------------------------------
// The schema

const schemaDir = join(PROJECT_ROOT, 'docs', 'schema');
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false, // "required" without "properties" is valid JSON Schema (summary.verdicts)
  allowUnionTypes: true,
  validateFormats: false, // date-time is checked with Date.parse below
});
ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, 'scan-item.v1.json'), 'utf8')));
ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, 'scan-report.v1.json'), 'utf8')));
const validateItem = ajv.getSchema('https://ward.invalid/schema/scan-item.v1.json');
const validateReport = ajv.getSchema('https://ward.invalid/schema/scan-report.v1.json');

function expectValidItems(items: Json[]): void {
  if (!validateItem) throw new Error('scan-item schema not loaded');
  for (const item of items) {
    const ok = validateItem(item);
    expect([item.path, item.archivePath, ok ? [] : validateItem.errors]).toEqual([item.path, item.archivePath, []]);
  }
}

// ---------------------------------------------------------------------------------------------
// The corpus

let root: string;
let db: string;
let corpus: string;
let cleanDir: string;
let errorDir: string;
const f = (name: string) => join(corpus, name);
const ward = (args: string[], options: { cwd?: string; input?: string } = {}): Promise<RunResult> =>
  runWard([...args, '--db', db], options);

/** PDQ of the stand-in "known" images (K1..K3), the suppressed one (S), and the md5-listed file (M). */
const known: Record<'k1' | 'k2' | 'k3' | 's', string> = { k1: '', k2: '', k3: '', s: '' };
let md5Listed = '';
let nestedArchiveMember: Buffer;

/** What the full corpus scan must report, in order: [path, archivePath, contentType, format, verdict]. */
let expectedOrder: [string, string | undefined, string, string | undefined, string][];

beforeAll(async () => {
  root = tempDir('ward-scan-cli-');
  db = join(root, 'ward.db');
  corpus = join(root, 'corpus');
  mkdirSync(join(corpus, 'sub'), { recursive: true });
  const sharp = await loadSharp();

  const k1 = await sceneImage(11);
  const k2 = await sceneImage(12);
  const k3 = await sceneImage(13);
  const m = await sceneImage(14, 'png');
  const s = await sceneImage(15);
  known.k1 = (await hashImage(k1)).pdq;
  known.k2 = (await hashImage(k2)).pdq;
  known.k3 = (await hashImage(k3)).pdq;
  known.s = (await hashImage(s)).pdq;
  md5Listed = (await hashImage(m)).md5;

  writeFileSync(f('a-known.jpg'), k1);
  writeFileSync(f('b-resized.jpg'), await variant(k1, 'resized'));
  writeFileSync(f('c-reencoded.jpg'), await variant(k2, 'reencoded'));
  writeFileSync(f('d-flipped.jpg'), await variant(k3, 'flipped'));
  writeFileSync(f('e-md5.png'), m);
  writeFileSync(f('f-unrelated.jpg'), await sceneImage(21));
  writeFileSync(f('g-unrelated.png'), await sceneImage(22, 'png'));
  writeFileSync(f('h-suppressed.jpg'), s);
  writeFileSync(
    f('i-bundle.zip'),
    zipOf([
      { name: 'v.jpg', data: await variant(k2, 'resized') },
      { name: 'u.jpg', data: await sceneImage(31) },
      { name: 'm.png', data: m, method: 'store' },
    ]),
  );
  writeFileSync(
    f('j-bundle.tar.gz'),
    gzipOf(
      await tarOf([
        { name: 'w.jpg', data: await variant(k1, 'reencoded') },
        { name: 'y.png', data: await sceneImage(32, 'png') },
      ]),
    ),
  );
  nestedArchiveMember = await variant(k3, 'resized');
  writeFileSync(
    f('k-nested.tar.gz'),
    gzipOf(
      await tarOf([
        { name: 'inner.zip', data: zipOf([{ name: 'x.jpg', data: nestedArchiveMember }]) },
        { name: 'after.txt', data: Buffer.from('plain text after the inner zip\n') },
      ]),
    ),
  );
  writeFileSync(f('l-truncated.jpg'), (await sceneImage(33)).subarray(0, 3000));
  writeFileSync(f('m-empty.jpg'), Buffer.alloc(0));
  writeFileSync(f('n-notes.txt'), 'meeting notes, nothing to see\n');
  writeFileSync(
    f('o-grey.png'),
    await sharp({ create: { width: 128, height: 128, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toBuffer(),
  );
  writeFileSync(f('p-picture.txt'), await sceneImage(34, 'png'));
  // Binary that is no known format, whatever the name says.
  writeFileSync(f('q-text.png'), Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37 + 11) % 256)));
  writeFileSync(join(corpus, 'sub', 'r-deep.jpg'), await variant(k2, 'resized'));

  expectedOrder = [
    [f('a-known.jpg'), undefined, 'image', 'jpeg', 'match'],
    [f('b-resized.jpg'), undefined, 'image', 'jpeg', 'match'],
    [f('c-reencoded.jpg'), undefined, 'image', 'jpeg', 'match'],
    [f('d-flipped.jpg'), undefined, 'image', 'jpeg', 'match'],
    [f('e-md5.png'), undefined, 'image', 'png', 'match'],
    [f('f-unrelated.jpg'), undefined, 'image', 'jpeg', 'clean'],
    [f('g-unrelated.png'), undefined, 'image', 'png', 'clean'],
    [f('h-suppressed.jpg'), undefined, 'image', 'jpeg', 'clean'],
    [f('i-bundle.zip'), undefined, 'archive', 'zip', 'clean'],
    [f('i-bundle.zip'), 'v.jpg', 'image', 'jpeg', 'match'],
    [f('i-bundle.zip'), 'u.jpg', 'image', 'jpeg', 'clean'],
    [f('i-bundle.zip'), 'm.png', 'image', 'png', 'match'],
    [f('j-bundle.tar.gz'), undefined, 'archive', 'gzip', 'clean'],
    [f('j-bundle.tar.gz'), 'w.jpg', 'image', 'jpeg', 'match'],
    [f('j-bundle.tar.gz'), 'y.png', 'image', 'png', 'clean'],
    [f('k-nested.tar.gz'), undefined, 'archive', 'gzip', 'clean'],
    [f('k-nested.tar.gz'), 'inner.zip', 'archive', 'zip', 'clean'],
    [f('k-nested.tar.gz'), 'inner.zip!/x.jpg', 'image', 'jpeg', 'match'],
    [f('k-nested.tar.gz'), 'after.txt', 'text', 'plain', 'clean'],
    [f('l-truncated.jpg'), undefined, 'image', 'jpeg', 'error'],
    [f('m-empty.jpg'), undefined, 'other', undefined, 'skipped'],
    [f('n-notes.txt'), undefined, 'text', 'plain', 'clean'],
    [f('o-grey.png'), undefined, 'image', 'png', 'skipped'],
    [f('p-picture.txt'), undefined, 'image', 'png', 'clean'],
    [f('q-text.png'), undefined, 'other', undefined, 'skipped'],
    [join(corpus, 'sub', 'r-deep.jpg'), undefined, 'image', 'jpeg', 'match'],
  ];

  // Folders for the exit codes: clean only; errors only.
  cleanDir = join(root, 'clean-only');
  errorDir = join(root, 'errors-only');
  mkdirSync(cleanDir);
  mkdirSync(errorDir);
  writeFileSync(join(cleanDir, 'one.jpg'), await sceneImage(41));
  writeFileSync(join(cleanDir, 'two.png'), await sceneImage(42, 'png'));
  writeFileSync(join(cleanDir, 'readme.txt'), 'hello\n');
  writeFileSync(join(cleanDir, 'empty.bin'), Buffer.alloc(0));
  writeFileSync(join(errorDir, 'broken.jpg'), (await sceneImage(43)).subarray(0, 500));
  writeFileSync(join(errorDir, 'broken.png'), (await sceneImage(44, 'png')).subarray(0, 400));

  // Banks: "known" (block, PDQ), "hashlist" (block, MD5), "fp" (negative: S is a known false positive).
  for (const args of [['known'], ['hashlist'], ['fp', '--negative']]) {
    const r = await ward(['bank', 'create', ...args]);
    expect(r.code, r.stderr).toBe(0);
  }
  const knownList = [
    { pdq: known.k1, labels: ['k1'], id: 'k1' },
    { pdq: known.k2, labels: ['k2'], id: 'k2' },
    { pdq: known.k3, labels: ['k3'], id: 'k3' },
    { pdq: known.s, labels: ['s'], id: 's' },
  ]
    .map((x) => JSON.stringify(x))
    .join('\n');
  const imports = [
    await ward(['bank', 'import', 'known', '-', '--format', 'ndjson'], { input: `${knownList}\n` }),
    await ward(['bank', 'import', 'hashlist', '-', '--format', 'lines'], { input: `${md5Listed}\n` }),
    await ward(['bank', 'import', 'fp', '-', '--signal', 'pdq', '--format', 'lines'], { input: `${known.s}\n` }),
  ];
  for (const r of imports) expect(r.code, r.stderr).toBe(0);
}, 120_000);

const label = (x: Json): string => (x.archivePath === undefined ? x.path : `${x.path} :: ${x.archivePath}`);

// ---------------------------------------------------------------------------------------------

describe('ward scan: verdicts and the item contract', () => {
  let full: RunResult;
  let items: Json[];
  const item = (path: string, archivePath?: string): Json => {
    const found = items.filter((x) => x.path === path && x.archivePath === archivePath);
    expect(found, `${path} ${archivePath ?? ''}`).toHaveLength(1);
    return found[0];
  };

  beforeAll(async () => {
    full = await ward(['scan', '--dihedral', '--format', 'ndjson', corpus]);
    items = parseLines(full.stdout);
  });

  it('reports every item once, in walk order, with its content type by magic bytes and its verdict', () => {
    expect(full.code, full.stderr).toBe(1);
    expect(items.map((x) => [x.path, x.archivePath, x.contentType, x.format, x.verdict])).toEqual(expectedOrder);
    expectValidItems(items);
  });

  it('puts a one-line summary on stderr that counts the verdicts', () => {
    const m = SUMMARY.exec(full.stderr);
    expect(m, full.stderr).not.toBeNull();
    const count = (v: string) => items.filter((x) => x.verdict === v).length;
    expect(m?.slice(1).map(Number)).toEqual([
      items.length,
      count('match'),
      count('flag'),
      count('clean'),
      count('skipped'),
      count('error'),
    ]);
    expect(full.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('digests every non-empty item and reports the size', () => {
    for (const x of items) {
      if (x.size === 0) {
        expect(x.signals).toEqual({});
        continue;
      }
      expect(x.signals.md5, label(x)).toMatch(/^[0-9a-f]{32}$/);
      expect(x.signals.sha1).toMatch(/^[0-9a-f]{40}$/);
      expect(x.signals.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(x.size).toBeGreaterThan(0);
      expect(x.signals).not.toHaveProperty('pdqDihedral');
    }
    expect(item(f('a-known.jpg')).size).toBe(readFileSync(f('a-known.jpg')).length);
    expect(item(f('k-nested.tar.gz'), 'inner.zip!/x.jpg').size).toBe(nestedArchiveMember.length);
  });

  it('matches known images and their near-duplicates by PDQ, with distance, labels and transform', () => {
    const cases: [Json, string, string][] = [
      [item(f('a-known.jpg')), known.k1, 'k1'],
      [item(f('b-resized.jpg')), known.k1, 'k1'],
      [item(f('c-reencoded.jpg')), known.k2, 'k2'],
      [item(f('i-bundle.zip'), 'v.jpg'), known.k2, 'k2'],
      [item(f('j-bundle.tar.gz'), 'w.jpg'), known.k1, 'k1'],
      [item(f('k-nested.tar.gz'), 'inner.zip!/x.jpg'), known.k3, 'k3'],
      [item(join(corpus, 'sub', 'r-deep.jpg')), known.k2, 'k2'],
    ];
    for (const [x, value, id] of cases) {
      expect(x.verdict, label(x)).toBe('match');
      expect(x.signals.quality).toBeGreaterThanOrEqual(50);
      expect(x.matches, label(x)).toEqual([
        {
          bank: 'known',
          signal: 'pdq',
          value,
          distance: pdqDistance(value, x.signals.pdq),
          entryId: expect.any(Number),
          labels: [id],
          transform: 'original',
        },
      ]);
      expect(x.matches[0].distance).toBeLessThanOrEqual(31);
      expect(x.reasons).toEqual([
        {
          rule: 'bank-match',
          message: `pdq at distance ${x.matches[0].distance} (original) in bank known`,
          ref: 'known',
          score: expect.any(Number),
        },
      ]);
      expect(x.score).toBeGreaterThanOrEqual(0.5);
      expect(x.score).toBeLessThanOrEqual(1);
      expect(x).not.toHaveProperty('suppressedBy');
      expect(x).not.toHaveProperty('error');
    }
    const exact = item(f('a-known.jpg'));
    expect(exact.matches[0].distance).toBe(0);
    expect(exact.score).toBe(1);
    expect(exact.media).toEqual({ width: 640, height: 480 });
    expect(item(f('b-resized.jpg')).media).toEqual({ width: 320, height: 240 });
  });

  it('matches a mirrored copy with --dihedral and says which transform matched', async () => {
    const flipped = item(f('d-flipped.jpg'));
    expect(flipped.verdict).toBe('match');
    expect(flipped.matches).toHaveLength(1);
    expect(flipped.matches[0]).toMatchObject({ bank: 'known', signal: 'pdq', value: known.k3, labels: ['k3'] });
    expect(flipped.matches[0].transform).toBe('flipY'); // sharp's flop() mirrors left-right
    expect(flipped.matches[0].distance).toBeLessThanOrEqual(31);
    // The reported pdq is the item's own (untransformed) hash, far from the bank's.
    expect(pdqDistance(flipped.signals.pdq, known.k3)).toBeGreaterThan(31);
    expect(flipped.reasons[0].message).toContain('(flipY)');
    // Without --dihedral the mirrored copy is not matched, and nothing carries a transform.
    const plain = await ward(['scan', f('d-flipped.jpg'), f('a-known.jpg')]);
    const [p, a] = parseLines(plain.stdout);
    expect(p.verdict).toBe('clean');
    expect(p.matches).toEqual([]);
    expect(a.matches[0]).not.toHaveProperty('transform');
  });

  it('matches exact-hash lists on files and on archive entries', () => {
    for (const x of [item(f('e-md5.png')), item(f('i-bundle.zip'), 'm.png')]) {
      expect(x.signals.md5).toBe(md5Listed);
      expect(x.matches, label(x)).toEqual([
        {
          bank: 'hashlist',
          signal: 'md5',
          value: md5Listed,
          distance: 0,
          entryId: expect.any(Number),
          labels: [],
        },
      ]);
      expect(x.reasons).toEqual([
        { rule: 'bank-match', message: 'md5 exact in bank hashlist', ref: 'hashlist', score: 1 },
      ]);
      expect(x.score).toBe(1);
    }
  });

  it('suppresses a block match with a negative bank: clean, suppressedBy, a suppressed reason', () => {
    const x = item(f('h-suppressed.jpg'));
    expect(x.verdict).toBe('clean');
    expect(x.matches).toEqual([]);
    expect(x.suppressedBy).toEqual([
      {
        bank: 'fp',
        signal: 'pdq',
        value: known.s,
        distance: 0,
        entryId: expect.any(Number),
        labels: [],
        transform: 'original',
      },
    ]);
    expect(x.reasons).toEqual([{ rule: 'suppressed', message: expect.stringContaining('fp'), ref: 'fp' }]);
    expect(x).not.toHaveProperty('score');
    // Nothing else was suppressed.
    expect(items.filter((y) => 'suppressedBy' in y).map(label)).toEqual([f('h-suppressed.jpg')]);
  });

  it('reports unrelated images clean, with no reasons', () => {
    for (const x of [
      item(f('f-unrelated.jpg')),
      item(f('g-unrelated.png')),
      item(f('i-bundle.zip'), 'u.jpg'),
      item(f('j-bundle.tar.gz'), 'y.png'),
      item(f('p-picture.txt')),
    ]) {
      expect(x.verdict, label(x)).toBe('clean');
      expect(x.matches).toEqual([]);
      expect(x.reasons).toEqual([]);
      expect(x.findings).toEqual([]);
      expect(x.signals.pdq).toMatch(/^[0-9a-f]{64}$/);
      expect(x).not.toHaveProperty('score');
    }
  });

  it('reports archives as items of their own, followed by their entries (nested with !/)', () => {
    for (const [path, format] of [
      [f('i-bundle.zip'), 'zip'],
      [f('j-bundle.tar.gz'), 'gzip'],
      [f('k-nested.tar.gz'), 'gzip'],
    ] as const) {
      const x = item(path);
      expect(x).toMatchObject({ contentType: 'archive', format, verdict: 'clean', matches: [], reasons: [] });
      expect(x.signals.md5).toBe(hashOf(path));
      expect(x).not.toHaveProperty('archivePath');
    }
    const inner = item(f('k-nested.tar.gz'), 'inner.zip');
    expect(inner).toMatchObject({ contentType: 'archive', format: 'zip', verdict: 'clean' });
    expect(item(f('k-nested.tar.gz'), 'inner.zip!/x.jpg').path).toBe(f('k-nested.tar.gz'));
  });

  it('gives a truncated image an error with a code, but keeps its digests', () => {
    const x = item(f('l-truncated.jpg'));
    expect(x.verdict).toBe('error');
    expect(x.error).toEqual({ code: 'WARD_ERR_IMAGE_DECODE', message: expect.any(String) });
    expect(x.reasons).toEqual([{ rule: 'error', message: x.error.message, ref: 'WARD_ERR_IMAGE_DECODE' }]);
    expect(x.signals.md5).toBe(hashOf(f('l-truncated.jpg')));
    expect(x.signals).not.toHaveProperty('pdq');
  });

  it('skips empty files, unrecognised content and too-weak hashes, and says why', () => {
    const empty = item(f('m-empty.jpg'));
    expect(empty).toMatchObject({ contentType: 'other', size: 0, verdict: 'skipped' });
    expect(empty.reasons).toEqual([{ rule: 'unsupported', message: 'Empty file' }]);
    expect(empty).not.toHaveProperty('format');
    const junk = item(f('q-text.png'));
    expect(junk).toMatchObject({ contentType: 'other', verdict: 'skipped', matches: [] });
    expect(junk.reasons).toEqual([{ rule: 'unsupported', message: 'Content type not recognised' }]);
    expect(junk.signals).not.toHaveProperty('pdq');
    // Plain text is screened by the text extractor (benign here): clean, not skipped.
    for (const x of [item(f('n-notes.txt')), item(f('k-nested.tar.gz'), 'after.txt')]) {
      expect(x, label(x)).toMatchObject({ contentType: 'text', format: 'plain', verdict: 'clean', findings: [] });
    }
    const grey = item(f('o-grey.png'));
    expect(grey.signals.quality).toBeLessThan(50);
    expect(grey.reasons).toEqual([{ rule: 'weak-hash', message: expect.stringContaining('below 50') }]);
    expect(grey.matches).toEqual([]);
  });

  it('keeps the order of the inputs as given, archive entries right after their archive', async () => {
    const inputs = [f('q-text.png'), f('k-nested.tar.gz'), f('a-known.jpg'), join(corpus, 'sub'), f('e-md5.png')];
    const r = await ward(['scan', '--jobs', '2', '--dihedral', ...inputs]);
    expect(r.code).toBe(1);
    expect(parseLines(r.stdout).map((x) => [x.path, x.archivePath])).toEqual([
      [f('q-text.png'), undefined],
      [f('k-nested.tar.gz'), undefined],
      [f('k-nested.tar.gz'), 'inner.zip'],
      [f('k-nested.tar.gz'), 'inner.zip!/x.jpg'],
      [f('k-nested.tar.gz'), 'after.txt'],
      [f('a-known.jpg'), undefined],
      [join(corpus, 'sub', 'r-deep.jpg'), undefined],
      [f('e-md5.png'), undefined],
    ]);
    // Same reports as in the folder scan.
    const byKey = new Map(items.map((x) => [label(x), x]));
    for (const x of parseLines(r.stdout)) expect(x).toEqual(byKey.get(label(x)));
  });

  it('gives identical NDJSON with --jobs 1 and --jobs 2', async () => {
    const [one, two] = await Promise.all([
      ward(['scan', '--dihedral', '--jobs', '1', corpus]),
      ward(['scan', '--dihedral', '--jobs', '2', corpus]),
    ]);
    expect(one.stdout).toBe(full.stdout);
    expect(two.stdout).toBe(full.stdout);
    expect(one.code).toBe(1);
    expect(two.code).toBe(1);
  });

  it('writes a JSON document that validates and holds the same items, and a CSV with one row per item', async () => {
    const [json, csv] = await Promise.all([
      ward(['scan', '--dihedral', '--format', 'json', corpus]),
      ward(['scan', '--dihedral', '--format', 'csv', corpus]),
    ]);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    if (!validateReport) throw new Error('scan-report schema not loaded');
    expect(validateReport(doc) ? [] : validateReport.errors).toEqual([]);
    expect(doc.items).toEqual(items);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.tool.name).toBe('ward');
    expect(Number.isNaN(Date.parse(doc.startedAt))).toBe(false);
    expect(doc.summary).toMatchObject({
      items: items.length,
      resumed: 0,
      verdicts: {
        match: items.filter((x) => x.verdict === 'match').length,
        flag: 0,
        clean: items.filter((x) => x.verdict === 'clean').length,
        skipped: items.filter((x) => x.verdict === 'skipped').length,
        error: 1,
      },
    });
    expect(SUMMARY.test(json.stderr)).toBe(true);

    expect(csv.code).toBe(1);
    const rows = parseCsv(csv.stdout);
    const header = rows[0] as string[];
    expect(header.slice(0, 6)).toEqual(['path', 'archivePath', 'contentType', 'format', 'size', 'verdict']);
    expect(header).toEqual(expect.arrayContaining(['md5', 'sha256', 'pdq', 'error']));
    expect(rows).toHaveLength(items.length + 1);
    const col = (name: string) => header.indexOf(name);
    rows.slice(1).forEach((row, i) => {
      const x = items[i];
      expect(row).toHaveLength(header.length);
      expect([row[col('path')], row[col('archivePath')], row[col('verdict')], row[col('md5')]]).toEqual([
        x.path,
        x.archivePath ?? '',
        x.verdict,
        x.signals.md5 ?? '',
      ]);
      expect(row[col('error')]).toBe(x.error?.code ?? '');
    });
    expect(SUMMARY.test(csv.stderr)).toBe(true);
  });

  it('quotes CSV cells with commas and defuses cells that start with =', async () => {
    const dir = tempDir('ward-scan-csv-');
    writeFileSync(join(dir, '=HYPERLINK("x").jpg'), await sceneImage(51));
    writeFileSync(join(dir, 'a,b.jpg'), await sceneImage(52));
    writeFileSync(join(dir, '+plus.txt'), 'text\n');
    const r = await ward(['scan', '--format', 'csv', '=HYPERLINK("x").jpg', 'a,b.jpg', '+plus.txt'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]?.startsWith(`"'=HYPERLINK(""x"").jpg",`)).toBe(true);
    expect(lines[2]?.startsWith('"a,b.jpg",')).toBe(true);
    expect(lines[3]?.startsWith("'+plus.txt,")).toBe(true);
    const rows = parseCsv(r.stdout);
    expect(rows.slice(1).map((row) => row[0])).toEqual([`'=HYPERLINK("x").jpg`, 'a,b.jpg', "'+plus.txt"]);
    for (const row of rows) expect(row).toHaveLength(rows[0]?.length ?? 0);
  });

  it('--out writes the report to the file and nothing to stdout', async () => {
    const out = join(tempDir('ward-scan-out-'), 'report.ndjson');
    const r = await ward(['scan', '--dihedral', '--out', out, corpus]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(full.stdout);
    expect(SUMMARY.test(r.stderr)).toBe(true);
    const csvOut = join(tempDir('ward-scan-out-'), 'report.csv');
    const c = await ward(['scan', '--format', 'csv', '--out', csvOut, f('a-known.jpg')]);
    expect(c.stdout).toBe('');
    expect(parseCsv(readFileSync(csvOut, 'utf8'))).toHaveLength(2);
  });

  it('--from FILE and --from - read the paths to scan', async () => {
    const list = join(root, 'paths.txt');
    writeFileSync(list, `# a list\n${corpus}\n\n`);
    const [fromFile, fromStdin] = await Promise.all([
      ward(['scan', '--dihedral', '--from', list]),
      ward(['scan', '--dihedral', '--from', '-'], { input: `${f('a-known.jpg')}\n${f('i-bundle.zip')}\n` }),
    ]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stdout).toBe(full.stdout);
    expect(fromStdin.code).toBe(1);
    expect(parseLines(fromStdin.stdout).map((x) => [x.path, x.archivePath])).toEqual([
      [f('a-known.jpg'), undefined],
      [f('i-bundle.zip'), undefined],
      [f('i-bundle.zip'), 'v.jpg'],
      [f('i-bundle.zip'), 'u.jpg'],
      [f('i-bundle.zip'), 'm.png'],
    ]);
    // Positional paths come first, then the list.
    const both = await ward(['scan', '--from', '-', f('q-text.png')], { input: `${f('n-notes.txt')}\n` });
    expect(parseLines(both.stdout).map((x) => x.path)).toEqual([f('q-text.png'), f('n-notes.txt')]);
    // A list that cannot be read is an error, not an empty scan.
    const missing = await ward(['scan', '--from', join(root, 'no-such-list.txt')]);
    expect(missing.code).not.toBe(0);
    expect(missing.code).not.toBe(1);
    expect(missing.stderr).toContain('WARD_ERR_');
  });

  it('--config with policy.banks turns a bank’s matches into flags', async () => {
    const config = join(root, 'flag-known.yaml');
    writeFileSync(config, 'version: 1\npolicy:\n  banks:\n    known: flag\n');
    const r = await ward(['scan', '--dihedral', '--config', config, corpus]);
    expect(r.code).toBe(1);
    const flagged = parseLines(r.stdout);
    expectValidItems(flagged);
    expect(flagged.map((x) => [x.path, x.archivePath])).toEqual(items.map((x) => [x.path, x.archivePath]));
    flagged.forEach((x, i) => {
      const before = items[i];
      if (before.matches.some((m: Json) => m.bank === 'known')) {
        expect(x.verdict, label(x)).toBe('flag');
        expect(x.reasons.map((y: Json) => [y.rule, y.ref])).toEqual([['bank-flag', 'known']]);
        expect(x.matches).toEqual(before.matches);
      } else {
        expect(x, label(x)).toEqual(before);
      }
    });
    // hashlist is not affected: still matches.
    expect(flagged.find((x) => x.path === f('e-md5.png')).verdict).toBe('match');
    const ignore = join(root, 'ignore.json');
    writeFileSync(ignore, JSON.stringify({ policy: { banks: { known: 'ignore', hashlist: 'ignore' } } }));
    const quiet = await ward(['scan', '--config', ignore, f('a-known.jpg'), f('e-md5.png')]);
    expect(quiet.code).toBe(0);
    expect(parseLines(quiet.stdout).map((x) => x.verdict)).toEqual(['clean', 'clean']);
  });

  it('exits 0 for a clean-only folder and 2 when there are only errors', async () => {
    const [clean, errors, missing] = await Promise.all([
      ward(['scan', cleanDir]),
      ward(['scan', errorDir]),
      ward(['scan', join(root, 'does-not-exist.jpg'), join(errorDir, 'broken.jpg')]),
    ]);
    expect(clean.code, clean.stdout).toBe(0);
    // empty.bin, one.jpg, readme.txt, two.png
    expect(parseLines(clean.stdout).map((x) => x.verdict)).toEqual(['skipped', 'clean', 'clean', 'clean']);
    expect(errors.code).toBe(2);
    const errs = parseLines(errors.stdout);
    expect(errs.map((x) => [x.verdict, x.error?.code])).toEqual([
      ['error', 'WARD_ERR_IMAGE_DECODE'],
      ['error', 'WARD_ERR_IMAGE_DECODE'],
    ]);
    expectValidItems(errs);
    expect(missing.code).toBe(2);
    const m = parseLines(missing.stdout);
    expect(m[0]).toMatchObject({
      path: join(root, 'does-not-exist.jpg'),
      verdict: 'error',
      error: { code: 'WARD_ERR_INPUT_NOT_FOUND' },
    });
    expectValidItems(m);
  });

  it('exits 3 on bad flags and bad configurations, before scanning anything', async () => {
    const badYaml = join(root, 'bad-yaml.yaml');
    writeFileSync(badYaml, 'policy: [unclosed\n');
    const typo = join(root, 'typo.yaml');
    writeFileSync(typo, 'version: 1\npolicy:\n  bnaks:\n    known: flag\n');
    const badValue = join(root, 'bad-value.yaml');
    writeFileSync(badValue, 'match:\n  minQuality: 200\n');
    const badAction = join(root, 'bad-action.json');
    writeFileSync(badAction, JSON.stringify({ policy: { banks: { known: 'block' } } }));
    const cases: string[][] = [
      ['scan'],
      ['scan', '--jobs', '0', corpus],
      ['scan', '--jobs', 'many', corpus],
      ['scan', '--format', 'xml', corpus],
      ['scan', '--nope', corpus],
      ['scan', '--config', join(root, 'no-such-config.yaml'), corpus],
      ['scan', '--config', badYaml, corpus],
      ['scan', '--config', typo, corpus],
      ['scan', '--config', badValue, corpus],
      ['scan', '--config', badAction, corpus],
    ];
    const results = await Promise.all(cases.map((c) => ward(c)));
    results.forEach((r, i) => {
      expect([cases[i], r.code, r.stdout]).toEqual([cases[i], 3, '']);
      expect(r.stderr).toMatch(/^ward: WARD_ERR_(USAGE|CONFIG_INVALID): /);
    });
    const typoResult = results[cases.findIndex((c) => c.includes(typo))] as RunResult;
    expect(typoResult.stderr).toContain('policy.bnaks');
    expect(results[cases.findIndex((c) => c.includes(badValue))]?.stderr).toContain('match.minQuality');
  });
});

/** MD5 of a file as it is now. */
function hashOf(path: string): string {
  return createHash('md5').update(readFileSync(path)).digest('hex');
}

// ---------------------------------------------------------------------------------------------

describe('ward scan --checkpoint', () => {
  const journalLines = (path: string): Json[] =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));

  it('a finished scan reruns from its checkpoint: same output, nothing rescanned, stderr says so', async () => {
    const dir = tempDir('ward-scan-cp-');
    const cp = join(dir, 'scan.cp');
    const args = ['scan', '--dihedral', '--checkpoint', cp, corpus];
    const first = await ward(args);
    expect(first.code).toBe(1);
    const journal = journalLines(cp);
    expect(journal[0]).toMatchObject({ ward: 'ward-scan-checkpoint', version: 1, fingerprint: expect.any(String) });
    expect(journal.at(-1)).toEqual({ complete: true });
    const reports = journal.filter((l) => 'r' in l).map((l) => l.r);
    expect(reports).toEqual(parseLines(first.stdout));
    // One line per archive whose entries are all done (the nested one included).
    expect(journal.filter((l) => 'c' in l)).toHaveLength(4);
    const before = readFileSync(cp);

    const again = await ward(args);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toMatch(SUMMARY);
    expect(again.stderr).toContain(`, ${reports.length} from the checkpoint`);
    expect(readFileSync(cp).equals(before)).toBe(true);
    // JSON output replays too, with the count in the summary.
    const json = await ward(['scan', '--dihedral', '--checkpoint', cp, '--format', 'json', corpus]);
    const doc = JSON.parse(json.stdout);
    expect(doc.items).toEqual(reports);
    expect(doc.summary.resumed).toBe(reports.length);
    expect(validateReport?.(doc)).toBe(true);
  });

  it('refuses a checkpoint of a different scan with exit 3 and WARD_ERR_CHECKPOINT', async () => {
    const dir = tempDir('ward-scan-cp-');
    const cp = join(dir, 'scan.cp');
    expect((await ward(['scan', '--checkpoint', cp, f('a-known.jpg'), f('e-md5.png')])).code).toBe(1);
    const before = readFileSync(cp);
    const others = [
      ['scan', '--checkpoint', cp, f('a-known.jpg')], // other inputs
      ['scan', '--checkpoint', cp, f('e-md5.png'), f('a-known.jpg')], // same inputs, other order
      ['scan', '--dihedral', '--checkpoint', cp, f('a-known.jpg'), f('e-md5.png')], // other configuration
      ['scan', '--bank', 'hashlist', '--checkpoint', cp, f('a-known.jpg'), f('e-md5.png')], // other banks
    ];
    for (const args of others) {
      const r = await ward(args);
      expect([args, r.code, r.stdout]).toEqual([args, 3, '']);
      expect(r.stderr).toContain('WARD_ERR_CHECKPOINT');
    }
    expect(readFileSync(cp).equals(before)).toBe(true);
    // Not a checkpoint at all (a file named by mistake): refused too, and left alone.
    for (const text of ['my notes\n', 'my notes', '{"some":"json"}\n', 'two\nlines\n']) {
      const notCp = join(dir, 'notes.txt');
      writeFileSync(notCp, text);
      const r = await ward(['scan', '--checkpoint', notCp, f('a-known.jpg')]);
      expect([text, r.code, r.stdout]).toEqual([text, 3, '']);
      expect(r.stderr).toContain('WARD_ERR_CHECKPOINT');
      expect(readFileSync(notCp, 'utf8')).toBe(text);
    }
  });

  // Fixed bug: a file whose only line was not JSON was taken for a journal whose header was torn:
  // it was truncated to nothing (the file named by mistake was lost) and the scan went on.
  it('regression: a one-line file that is not a checkpoint is refused, not truncated', async () => {
    const notCp = join(tempDir('ward-scan-cp-'), 'todo.txt');
    writeFileSync(notCp, 'buy milk\n');
    const r = await ward(['scan', '--checkpoint', notCp, f('a-known.jpg')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('WARD_ERR_CHECKPOINT');
    expect(readFileSync(notCp, 'utf8')).toBe('buy milk\n');
  });

  it('starts over when the crash tore the header itself', async () => {
    const dir = tempDir('ward-scan-cp-');
    const cp = join(dir, 'scan.cp');
    const args = ['scan', '--checkpoint', cp, f('a-known.jpg'), f('e-md5.png')];
    const first = await ward(args);
    const header = readFileSync(cp, 'utf8').split('\n')[0] as string;
    writeFileSync(cp, header.slice(0, 30));
    const again = await ward(args);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).not.toContain('from the checkpoint');
    expect(journalLines(cp)[0]).toEqual(JSON.parse(header));
  });

  it('tolerates a torn last line: drops it and rescans that item', async () => {
    const dir = tempDir('ward-scan-cp-');
    const cp = join(dir, 'scan.cp');
    const args = ['scan', '--dihedral', '--checkpoint', cp, corpus];
    const first = await ward(args);
    const text = readFileSync(cp, 'utf8');
    const lines = text.split('\n');
    // Keep the header and 10 records, and half of the 11th (no newline): a crash mid-write.
    const keep = lines.slice(0, 11);
    const kept = keep.join('\n').length + 1;
    const torn = lines[11] as string;
    truncateSync(cp, Buffer.byteLength(text.slice(0, kept + Math.floor(torn.length / 2))));
    const resumedCount = keep.slice(1).filter((l) => JSON.parse(l).r !== undefined).length;
    const again = await ward(args);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toContain(`, ${resumedCount} from the checkpoint`);
    // The journal is whole again.
    expect(readFileSync(cp, 'utf8')).toBe(text);
  });

  describe('after a crash (SIGKILL)', () => {
    let many: string;
    let baseline: RunResult;
    let total: number;
    const name = (i: number) => join(many, `img-${String(i).padStart(3, '0')}.jpg`);
    const ZIP_ENTRIES = 12;

    beforeAll(async () => {
      many = join(tempDir('ward-scan-crash-'), 'many');
      mkdirSync(many);
      for (let i = 0; i < 150; i++) writeFileSync(name(i), await sceneImage(1000 + i));
      // An archive among them (after img-030.jpg), so a crash can land inside one.
      const zipEntries = [];
      for (let i = 0; i < ZIP_ENTRIES; i++) zipEntries.push({ name: `z${i}.jpg`, data: await sceneImage(2000 + i) });
      writeFileSync(join(many, 'img-030.zip'), zipOf(zipEntries));
      baseline = await ward(['scan', '--jobs', '1', many]);
      expect(baseline.code, baseline.stderr).toBe(0);
      total = parseLines(baseline.stdout).length;
      expect(total).toBe(150 + 1 + ZIP_ENTRIES);
    }, 120_000);

    /**
     * Starts `ward scan --jobs 1 --checkpoint` on the folder, SIGKILLs it once `killWhen(journal)`
     * holds, replaces the content of a journaled image, resumes, and checks the outcome.
     */
    async function crashAndResume(killWhen: (journal: string) => boolean): Promise<string> {
      const cp = join(tempDir('ward-scan-crash-'), 'scan.cp');
      const args = ['scan', '--jobs', '1', '--checkpoint', cp, many];
      const bin = join(PROJECT_ROOT, 'bin', 'ward.js');
      const child: ChildProcess = spawn(process.execPath, [bin, ...args, '--db', db], {
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      let finished = false;
      const exited = new Promise<void>((resolve) =>
        child.on('exit', () => {
          finished = true;
          resolve();
        }),
      );
      const journalNow = () => {
        try {
          return readFileSync(cp, 'utf8');
        } catch {
          return '';
        }
      };
      const deadline = Date.now() + 60_000;
      while (!finished && !killWhen(journalNow()) && Date.now() < deadline) await sleep(2);
      child.kill('SIGKILL');
      await exited;
      const journal = readFileSync(cp, 'utf8');
      expect(journal, 'the scan finished before the kill').not.toContain('"complete":true');
      const journaled = journal
        .split('\n')
        .slice(1)
        .filter((l) => l.startsWith('{"r":') && l.endsWith('}'))
        .map((l) => JSON.parse(l).r);
      expect(journaled.length).toBeGreaterThanOrEqual(19);
      expect(journaled.length).toBeLessThan(total);

      // Replace a journaled file's content: a resumed scan must not look at it again.
      const replaced = name(3);
      const original = readFileSync(replaced);
      expect(journaled.map((r) => r.path)).toContain(replaced);
      writeFileSync(replaced, await sceneImage(9999));
      try {
        const resumed = await ward(args);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(resumed.stderr).toContain(`, ${journaled.length} from the checkpoint`);
        // The same output as the uninterrupted run on the original files: the replaced file keeps
        // its old digests (proof it was not rescanned); every item once; the right total.
        expect(resumed.stdout).toBe(baseline.stdout);
        const out = parseLines(resumed.stdout);
        expect(out).toHaveLength(total);
        expect(new Set(out.map(label)).size).toBe(total);
        expect(out.find((x) => x.path === replaced).signals.md5).not.toBe(hashOf(replaced));
        // A fresh scan of the folder as it is now differs in that file only.
        const fresh = parseLines((await ward(['scan', '--jobs', '1', many])).stdout);
        const base = parseLines(baseline.stdout);
        const differ = fresh.filter((x, i) => JSON.stringify(x) !== JSON.stringify(base[i])).map((x) => x.path);
        expect(differ).toEqual([replaced]);

        // The journal now holds every item once and is complete.
        const lines = journalLines(cp);
        expect(lines.at(-1)).toEqual({ complete: true });
        expect(lines.filter((l) => 'r' in l).map((l) => l.r)).toEqual(out);
        expect(lines.filter((l) => 'c' in l)).toHaveLength(1);
      } finally {
        writeFileSync(replaced, original);
      }
      return journal;
    }

    it('resumes a scan killed after 20 journal lines: the rest is scanned, journaled items are not', async () => {
      await crashAndResume((journal) => journal.split('\n').length - 1 >= 20);
    }, 120_000);

    it('resumes a scan killed inside an archive: its remaining entries are read, the others replayed', async () => {
      const journal = await crashAndResume(
        (j) => j.includes('"archivePath":"z3.jpg"') && !j.includes('"archivePath":"z9.jpg"'),
      );
      expect(journal).toContain('"archivePath":"z3.jpg"');
      expect(journal).not.toContain('{"c":');
    }, 120_000);
  });
});

/**
 * Parquet readers on real bytes: LAION-style metadata (the -md5 and LAION-400M variants, column
 * names given), Hugging Face parquet with embedded images, row-group ranges, and bad input
 * (corrupt footers, wrong column types, bad cells), plus fuzzing of what they parse.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { auditDatasets, auditShard, type DatasetRowReport, removalLine } from '../../src/datasets/audit.js';
import { hfParquetReader, laionReader } from '../../src/datasets/laion.js';
import type { DatasetRow } from '../../src/datasets/types.js';
import { sceneImage } from '../../src/demo/images.js';
import { WardError } from '../../src/errors.js';
import { DEFAULT_SCAN_CONFIG } from '../../src/scan/config.js';
import { scanBytes } from '../../src/scan/pipeline.js';
import { urlSha256 } from '../../src/signals/url.js';
import { screenText } from '../../src/text/screen.js';
import { bankMatcher, blockedCaption, collect, writeParquet } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-ds-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function rowsOf(reader = laionReader, path: string, options = {}): Promise<DatasetRow[]> {
  const out: DatasetRow[] = [];
  for await (const shard of reader.shards(path)) for await (const r of reader.rows(shard, options)) out.push(r);
  return out;
}

/** A LAION-2B-style -md5 file: the LAION columns plus md5, in row groups of 4. */
function laionFile(path: string, n: number): { urls: string[]; md5s: string[] } {
  const urls = Array.from({ length: n }, (_, i) => `https://img${i % 3}.example.org/p/${i}.jpg?w=${i}`);
  const md5s = urls.map((u) => md5(u));
  writeParquet(
    path,
    [
      { name: 'URL', data: urls, type: 'STRING' },
      { name: 'TEXT', data: urls.map((_, i) => `a benign caption ${i}`), type: 'STRING' },
      { name: 'WIDTH', data: urls.map(() => 640), type: 'INT32' },
      { name: 'HEIGHT', data: urls.map(() => 480), type: 'INT32' },
      { name: 'similarity', data: urls.map(() => 0.3), type: 'DOUBLE' },
      { name: 'hash', data: urls.map((_, i) => BigInt(i) * 7919n), type: 'INT64' },
      { name: 'punsafe', data: urls.map((_, i) => i / n), type: 'DOUBLE' },
      { name: 'pwatermark', data: urls.map(() => 0.1), type: 'DOUBLE' },
      { name: 'md5', data: md5s, type: 'STRING' },
    ],
    { rowGroupSize: 4 },
  );
  return { urls, md5s };
}

describe('LAION metadata parquet', () => {
  it('reads URL, caption, md5 and scores row by row across row groups; never the int64 hash', async () => {
    const p = join(dir, 'laion2B-en-md5-0000.parquet');
    const { urls, md5s } = laionFile(p, 10);
    const rows = await rowsOf(laionReader, p);
    expect(rows.map((r) => r.row)).toEqual([...Array(10).keys()]);
    expect(rows.map((r) => r.url)).toEqual(urls);
    expect(rows.map((r) => r.declared.md5)).toEqual(md5s);
    expect(rows[3]?.caption).toBe('a benign caption 3');
    expect(rows[5]?.scores).toEqual({ punsafe: 0.5, pwatermark: 0.1 });
    expect(rows.every((r) => r.error === undefined && r.bytes === undefined)).toBe(true);
    expect(Object.keys(rows[0]?.declared ?? {})).toEqual(['md5']);
  });

  it('audits: declared md5 in a bank matches, a screened caption flags, scores only ride along', async () => {
    const p = join(dir, 'audit.parquet');
    const { md5s } = laionFile(p, 12);
    const caption = blockedCaption();
    expect(screenText(caption, { context: 'caption' }).verdict).toBe('block'); // the stand-in works
    // Row 7's caption replaced by a screened one.
    writeParquet(p, [
      { name: 'URL', data: md5s.map((_, i) => `https://example.org/${i}`), type: 'STRING' },
      { name: 'TEXT', data: md5s.map((_, i) => (i === 7 ? caption : `caption ${i}`)), type: 'STRING' },
      { name: 'punsafe', data: md5s.map((_, i) => (i === 2 ? 0.99 : 0.01)), type: 'DOUBLE' },
      { name: 'md5', data: md5s, type: 'STRING' },
    ]);
    const { store, matcher } = await bankMatcher([
      { name: 'known', entries: [{ signal: 'md5', value: md5s[4] as string }] },
    ]);
    try {
      const shard = { dataset: p, shard: 'audit.parquet', path: p };
      const reports = await collect(auditShard(laionReader, shard, { matcher }));
      expect(reports).toHaveLength(12);
      const byRow = new Map(reports.map((r) => [r.row, r]));
      const hit = byRow.get(4) as DatasetRowReport;
      expect(hit.verdict).toBe('match');
      expect(hit.matches).toEqual([
        expect.objectContaining({ bank: 'known', signal: 'md5', value: md5s[4], source: 'declared' }),
      ]);
      expect(hit.signals['url-sha256']).toBe(urlSha256('https://example.org/4'));
      const screened = byRow.get(7) as DatasetRowReport;
      expect(screened.verdict).toBe('flag');
      expect(screened.findings.map((f) => f.type)).toEqual(['text.block']);
      // Redacted: the finding never carries the caption's words.
      expect(JSON.stringify(screened)).not.toContain(caption);
      // punsafe orders review, it never decides.
      expect(byRow.get(2)?.verdict).toBe('clean');
      expect(byRow.get(2)?.scores).toEqual({ punsafe: 0.99 });
      expect(reports.filter((r) => r.verdict !== 'clean').map((r) => r.row)).toEqual([4, 7]);
      // Removal list: only the match, with the contract's columns.
      expect(removalLine(hit)).toEqual({
        dataset: p,
        shard: 'audit.parquet',
        key: '4',
        row: 4,
        url: 'https://example.org/4',
        reason: 'bank-match',
        signal: 'md5',
        value: md5s[4],
        bank: 'known',
        distance: 0,
      });
      expect(removalLine(screened)).toBeUndefined();
      // A policy that maps text.block to match removes it too, with the finding as the reason.
      const strict = {
        ...DEFAULT_SCAN_CONFIG,
        policy: { ...DEFAULT_SCAN_CONFIG.policy, findings: { 'text.block': 'match' as const } },
      };
      const again = await collect(auditShard(laionReader, shard, { matcher, config: strict, rowStart: 7, rowEnd: 8 }));
      expect(again[0]?.verdict).toBe('match');
      expect(removalLine(again[0] as DatasetRowReport, strict)).toMatchObject({
        reason: 'finding',
        signal: 'text.block',
        bank: null,
      });
      // Without caption screening, nothing is found in row 7.
      const off = await collect(
        auditShard(laionReader, shard, { matcher, screenCaptions: false, rowStart: 7, rowEnd: 8 }),
      );
      expect(off[0]?.verdict).toBe('clean');
    } finally {
      store.close();
    }
  });

  it('reads the LAION-400M layout: SAMPLE_ID keys, NSFW tags as review scores', async () => {
    const p = join(dir, 'laion400m-part-00000.parquet');
    writeParquet(p, [
      { name: 'SAMPLE_ID', data: [101n, 102n, 103n], type: 'INT64' },
      { name: 'URL', data: ['http://a.example/1', 'http://a.example/2', 'http://a.example/3'], type: 'STRING' },
      { name: 'TEXT', data: ['one', 'two', null], type: 'STRING' },
      { name: 'HEIGHT', data: [1, 2, 3], type: 'INT32' },
      { name: 'WIDTH', data: [1, 2, 3], type: 'INT32' },
      { name: 'LICENSE', data: ['?', '?', '?'], type: 'STRING' },
      { name: 'NSFW', data: ['UNLIKELY', 'NSFW', 'UNSURE'], type: 'STRING' },
      { name: 'similarity', data: [0.3, 0.3, 0.3], type: 'DOUBLE' },
    ]);
    const rows = await rowsOf(laionReader, p);
    expect(rows.map((r) => r.key)).toEqual(['101', '102', '103']);
    expect(rows.map((r) => r.scores?.NSFW)).toEqual([0, 1, 0.5]);
    expect(rows[2]?.caption).toBeUndefined();
  });

  it('takes column names from the options, and refuses a named column that is missing', async () => {
    const p = join(dir, 'custom.parquet');
    const h = md5('x');
    writeParquet(p, [
      { name: 'link', data: ['https://example.com/a'], type: 'STRING' },
      { name: 'alt', data: ['alt text'], type: 'STRING' },
      { name: 'image_md5', data: [h.toUpperCase()], type: 'STRING' },
    ]);
    const rows = await rowsOf(laionReader, p, { columns: { url: 'link', caption: 'alt', md5: 'image_md5' } });
    expect(rows[0]).toMatchObject({ url: 'https://example.com/a', caption: 'alt text', declared: { md5: h } });
    await expect(rowsOf(laionReader, p, { columns: { url: 'nope' } })).rejects.toMatchObject({
      code: 'WARD_ERR_DATASET_SHARD',
    });
  });

  it('reads row-group ranges whose union is the whole file (for distributed jobs)', async () => {
    const p = join(dir, 'ranges.parquet');
    laionFile(p, 11);
    const shard = { dataset: p, shard: 'ranges.parquet', path: p };
    const ranges = await (laionReader.ranges as NonNullable<typeof laionReader.ranges>)(shard);
    expect(ranges).toEqual([
      { rowStart: 0, rowEnd: 4 },
      { rowStart: 4, rowEnd: 8 },
      { rowStart: 8, rowEnd: 11 },
    ]);
    const whole = await collect(auditShard(laionReader, shard));
    const parts = [];
    for (const r of ranges) parts.push(...(await collect(auditShard(laionReader, shard, r))));
    expect(parts).toEqual(whole);
    const mid = await collect(auditShard(laionReader, shard, { rowStart: 3, rowEnd: 9 }));
    expect(mid.map((r) => r.row)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('reports a bad hash cell as a row error and goes on', async () => {
    const p = join(dir, 'badcell.parquet');
    writeParquet(p, [
      { name: 'URL', data: ['http://x.example/1', 'http://x.example/2'], type: 'STRING' },
      { name: 'md5', data: ['not-a-hash', md5('y')], type: 'STRING' },
    ]);
    const reports = await collect(auditShard(laionReader, { dataset: p, shard: 's', path: p }));
    expect(reports[0]).toMatchObject({ verdict: 'error', error: { code: 'WARD_ERR_DATASET_ROW' } });
    expect(reports[1]).toMatchObject({ verdict: 'clean', declared: { md5: md5('y') } });
  });

  it('refuses wrong column types and corrupt footers per shard; the other shards go on', async () => {
    const d = join(dir, 'mixed');
    laionFile(join(d, '00000.parquet'), 5);
    writeParquet(join(d, '00001.parquet'), [
      { name: 'URL', data: [1n, 2n], type: 'INT64' },
      { name: 'TEXT', data: ['a', 'b'], type: 'STRING' },
    ]);
    laionFile(join(d, '00002.parquet'), 6);
    const good = readFileSync(join(d, '00002.parquet'));
    writeFileSync(join(d, '00002.parquet'), good.subarray(0, good.length - 9)); // footer cut
    laionFile(join(d, '00003.parquet'), 3);
    const footer = readFileSync(join(d, '00003.parquet'));
    footer.fill(0x41, footer.length - 40, footer.length - 8); // footer scribbled, magic intact
    writeFileSync(join(d, '00003.parquet'), footer);
    laionFile(join(d, '00004.parquet'), 2);
    const records = await collect(auditDatasets([d], { knnRadius: 0 }));
    const summary = records.at(-1);
    expect(summary).toMatchObject({ kind: 'summary', reader: 'laion-parquet', shards: 5, rows: 7 });
    if (summary?.kind !== 'summary') throw new Error('no summary');
    expect(summary.shardsSkipped.map((s) => [s.shard, s.code])).toEqual([
      ['00001.parquet', 'WARD_ERR_DATASET_SHARD'],
      ['00002.parquet', 'WARD_ERR_DATASET_SHARD'],
      ['00003.parquet', 'WARD_ERR_DATASET_SHARD'],
    ]);
    expect(summary.shardsSkipped[0]?.message).toMatch(/URL.*INT64/);
    expect(summary.shardsSkipped[1]?.message).toMatch(/PAR1|footer/);
    expect(records.filter((r) => r.kind === 'row').map((r) => (r.kind === 'row' ? r.shard : ''))).toEqual([
      ...Array(5).fill('00000.parquet'),
      ...Array(2).fill('00004.parquet'),
    ]);
  });

  it('never throws anything but a WardError on damaged files (fuzzed)', async () => {
    const p = join(dir, 'fuzz-src.parquet');
    laionFile(p, 9);
    const original = readFileSync(p);
    const target = join(dir, 'fuzz.parquet');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(original.length), { nil: undefined }),
        async (edits, cut) => {
          const b = Buffer.from(original);
          for (const [at, v] of edits) b[at] = v;
          writeFileSync(target, cut === undefined ? b : b.subarray(0, cut));
          try {
            const rows = await rowsOf(laionReader, target);
            for (const r of rows) {
              expect(typeof r.key).toBe('string');
              if (r.url !== undefined) expect(typeof r.url).toBe('string');
            }
          } catch (e) {
            expect(WardError.is(e) && e.code).toBe('WARD_ERR_DATASET_SHARD');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('round-trips arbitrary URLs, captions and hashes (fuzzed)', async () => {
    const target = join(dir, 'fuzz-rt.parquet');
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            url: fc.string(),
            caption: fc.string({ unit: 'binary' }),
            h: fc.uint8Array({ minLength: 16, maxLength: 16 }),
          }),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        async (rows) => {
          writeParquet(
            target,
            [
              { name: 'URL', data: rows.map((r) => r.url), type: 'STRING' },
              { name: 'TEXT', data: rows.map((r) => r.caption), type: 'STRING' },
              { name: 'md5', data: rows.map((r) => Buffer.from(r.h).toString('hex')), type: 'STRING' },
            ],
            { rowGroupSize: 7 },
          );
          const got = await rowsOf(laionReader, target);
          expect(got.map((r) => r.url ?? '')).toEqual(rows.map((r) => r.url));
          expect(got.map((r) => r.caption ?? '')).toEqual(rows.map((r) => r.caption));
          expect(got.map((r) => r.declared.md5)).toEqual(rows.map((r) => Buffer.from(r.h).toString('hex')));
        },
      ),
      { numRuns: 40 },
    );
  });
});

const IMAGE_SCHEMA = [
  { name: 'root', num_children: 2 },
  { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
  { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
  { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
] as const;

describe('Hugging Face parquet with embedded images', () => {
  it('reads struct{bytes, path} images byte-exact, one row group at a time, and audits them as ward scan would', async () => {
    const imgs = await Promise.all([1, 2, 3].map((s) => sceneImage(s, 'jpeg', 160, 120)));
    const p = join(dir, 'train-00000-of-00001.parquet');
    writeParquet(
      p,
      [
        {
          name: 'image',
          data: [
            { bytes: imgs[0], path: 'a.jpg' },
            { bytes: imgs[1], path: 'b.jpg' },
            { bytes: null, path: 'elsewhere/c.jpg' },
            { bytes: imgs[2], path: 'd.jpg' },
          ],
        },
        { name: 'text', data: ['first', 'second', 'third', 'fourth'] },
      ],
      // biome-ignore lint/suspicious/noExplicitAny: the writer's schema type
      { schema: IMAGE_SCHEMA as any, rowGroupSize: 2 },
    );
    const rows = await rowsOf(hfParquetReader, p);
    expect(rows.map((r) => r.bytes && sha256(r.bytes))).toEqual([
      sha256(imgs[0] as Buffer),
      sha256(imgs[1] as Buffer),
      undefined,
      sha256(imgs[2] as Buffer),
    ]);
    expect(rows[2]?.error?.message).toMatch(/never fetched/);
    expect(rows.map((r) => r.caption)).toEqual(['first', 'second', 'third', 'fourth']);
    const { store, matcher } = await bankMatcher([
      { name: 'known', entries: [{ signal: 'sha256', value: sha256(imgs[1] as Buffer) }] },
    ]);
    try {
      const records = await collect(auditDatasets([p], { matcher, knnRadius: 0 }));
      const rowReports = records.filter((r): r is DatasetRowReport => r.kind === 'row');
      expect(rowReports.map((r) => r.reader)).toEqual(Array(4).fill('hf-parquet'));
      // The same verdicts and signals as `ward scan` gives the same bytes (scanBytes).
      const scanned = async (b: Buffer) => (await collect(scanBytes('x', b, { matcher })))[0]?.report;
      const s0 = await scanned(imgs[0] as Buffer);
      const s3 = await scanned(imgs[2] as Buffer);
      expect(rowReports.map((r) => r.verdict)).toEqual([s0?.verdict, 'match', 'error', s3?.verdict]);
      expect(rowReports[0]?.signals).toEqual(s0?.signals);
      expect(rowReports[0]?.reasons).toEqual(s0?.reasons);
      expect(rowReports[1]?.matches[0]).toMatchObject({ signal: 'sha256', source: 'bytes', bank: 'known' });
      expect(rowReports[0]?.signals.pdq).toMatch(/^[0-9a-f]{64}$/);
      expect(rowReports[0]?.media).toEqual({ width: 160, height: 120 });
    } finally {
      store.close();
    }
  });
});

describe('url-sha256 of dataset URLs', () => {
  it("is the signal type's own value for any string (fuzzed)", async () => {
    const { rowUrlSha256 } = await import('../../src/datasets/audit.js');
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()), (u) => {
        expect(rowUrlSha256(u)).toBe(urlSha256(u));
      }),
      { numRuns: 2000 },
    );
  });
});

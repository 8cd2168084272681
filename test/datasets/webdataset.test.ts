/**
 * WebDataset / img2dataset shards built in the test from benign generated scenes: stored bytes
 * hashed through the scan pipeline, the sidecar hash of the original download matched, captions
 * screened, provenance read; the kNN step over the dataset's own PDQ hashes; the checkpoint; and
 * bad input (duplicate keys, missing sidecars and images, undecodable images, truncated tars),
 * with fuzzing of the tar reader.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  auditDatasets,
  auditShard,
  type DatasetRowReport,
  type DatasetSummary,
  type NeighboursReport,
} from '../../src/datasets/audit.js';
import { DatasetCheckpoint } from '../../src/datasets/checkpoint.js';
import type { DatasetRow } from '../../src/datasets/types.js';
import { splitMember, webDatasetReader } from '../../src/datasets/webdataset.js';
import { sceneImage, variant } from '../../src/demo/images.js';
import { WardError } from '../../src/errors.js';
import { hashImage } from '../../src/signals/image.js';
import { pdqDistance } from '../../src/signals/pdq/distance.js';
import { tarOf } from '../helpers/archives.js';
import { bankMatcher, blockedCaption, collect } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-ds-wds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Sample {
  key: string;
  image?: Buffer;
  ext?: string;
  caption?: string;
  json?: Record<string, unknown> | string;
}

function members(samples: Sample[]) {
  const out: { name: string; data: Uint8Array }[] = [];
  for (const s of samples) {
    if (s.image) out.push({ name: `${s.key}.${s.ext ?? 'jpg'}`, data: s.image });
    if (s.caption !== undefined) out.push({ name: `${s.key}.txt`, data: Buffer.from(s.caption) });
    if (s.json !== undefined)
      out.push({
        name: `${s.key}.json`,
        data: Buffer.from(typeof s.json === 'string' ? s.json : JSON.stringify(s.json)),
      });
  }
  return out;
}

async function writeTar(path: string, samples: Sample[]): Promise<Buffer> {
  const t = await tarOf(members(samples));
  writeFileSync(path, t);
  return t;
}

// Benign scenes: "originals" as downloaded, and the resized copies img2dataset stores.
let originals: Buffer[] = [];
let stored: Buffer[] = [];
beforeAll(async () => {
  originals = await Promise.all([0, 1, 2, 3, 4].map((i) => sceneImage(700 + i, 'jpeg', 640, 480)));
  stored = await Promise.all(originals.map((o) => variant(o, 'resized')));
});

const rec = (key: string, i: number, extra: Record<string, unknown> = {}) => ({
  url: `https://cdn.example.net/img/${key}.jpg`,
  caption: `caption ${i}`,
  key,
  status: 'success',
  width: 320,
  height: 240,
  original_width: 640,
  original_height: 480,
  sha256: sha256(originals[i] as Buffer),
  ...extra,
});

describe('WebDataset shards', () => {
  it('groups members by key, reads captions and sidecars, keeps the bytes exact', async () => {
    const p = join(dir, '00000.tar');
    await writeTar(
      p,
      [0, 1, 2].map((i) => ({
        key: `0000000${i}`,
        image: stored[i],
        caption: `caption ${i}`,
        json: rec(`0000000${i}`, i),
      })),
    );
    const rows: DatasetRow[] = [];
    for await (const r of webDatasetReader.rows({ dataset: p, shard: '00000.tar', path: p }, {})) rows.push(r);
    expect(rows.map((r) => r.key)).toEqual(['00000000', '00000001', '00000002']);
    expect(rows.map((r) => r.bytes && sha256(r.bytes))).toEqual(stored.slice(0, 3).map(sha256));
    expect(rows[1]).toMatchObject({
      row: 1,
      name: '00000001.jpg',
      caption: 'caption 1',
      url: 'https://cdn.example.net/img/00000001.jpg',
      declared: { sha256: sha256(originals[1] as Buffer) },
      provenance: { status: 'success', width: 320, original_width: 640 },
    });
    expect(rows.every((r) => r.error === undefined)).toBe(true);
  });

  it('matches stored bytes and the original-download hash; lists near-duplicates of matched rows (kNN)', async () => {
    const d = join(dir, 'knn');
    mkdirSync(d, { recursive: true });
    const near = await variant(stored[2] as Buffer, 'reencoded');
    const caption = blockedCaption();
    await writeTar(join(d, '00000.tar'), [
      { key: '000000000', image: stored[0], json: rec('000000000', 0) },
      { key: '000000001', image: stored[1], json: rec('000000001', 1) },
      { key: '000000002', image: stored[2], json: rec('000000002', 2) },
    ]);
    await writeTar(join(d, '00001.tar'), [
      { key: '000010000', image: stored[3], caption, json: rec('000010000', 3) },
      { key: '000010001', image: near, json: rec('000010001', 2) },
    ]);
    const { store, matcher } = await bankMatcher([
      {
        name: 'known',
        entries: [
          // Row 1: its original download is listed (the sidecar hash), not the stored copy.
          { signal: 'sha256', value: sha256(originals[1] as Buffer) },
          // Row 2: the stored copy itself is listed.
          { signal: 'sha256', value: sha256(stored[2] as Buffer) },
        ],
      },
    ]);
    try {
      const records = await collect(auditDatasets([d], { matcher, knnRadius: 31 }));
      const rows = records.filter((r): r is DatasetRowReport => r.kind === 'row');
      expect(rows.map((r) => `${r.shard}:${r.key}`)).toEqual([
        '00000.tar:000000000',
        '00000.tar:000000001',
        '00000.tar:000000002',
        '00001.tar:000010000',
        '00001.tar:000010001',
      ]);
      const [r0, r1, r2, r3, r4] = rows as [
        DatasetRowReport,
        DatasetRowReport,
        DatasetRowReport,
        DatasetRowReport,
        DatasetRowReport,
      ];
      expect(r1.verdict).toBe('match');
      expect(r1.matches).toEqual([expect.objectContaining({ signal: 'sha256', source: 'declared', bank: 'known' })]);
      expect(r1.declaredMatchesStored).toBe(false); // resized before storing
      expect(r1.signals.sha256).toBe(sha256(stored[1] as Buffer));
      expect(r2.verdict).toBe('match');
      expect(r2.matches).toEqual([expect.objectContaining({ signal: 'sha256', source: 'bytes' })]);
      expect(r0.verdict).toBe('clean');
      expect(r0.signals.pdq).toBe((await hashImage(stored[0] as Buffer)).pdq);
      expect(r3.verdict).toBe('flag');
      expect(r3.findings.map((f) => f.type)).toContain('text.block');
      expect(r4.verdict).toBe('clean'); // not listed: only a near-duplicate of a listed row
      const neighbours = records.filter((r): r is NeighboursReport => r.kind === 'neighbours');
      const of2 = neighbours.find((n) => n.key === '000000002');
      const d24 = pdqDistance(r2.signals.pdq as string, r4.signals.pdq as string);
      expect(d24).toBeLessThanOrEqual(31);
      expect(of2?.neighbours).toContainEqual({
        shard: '00001.tar',
        key: '000010001',
        row: 1,
        distance: d24,
        verdict: 'clean',
      });
      // Every neighbour listed is within the radius, and never the row itself.
      for (const n of neighbours)
        for (const x of n.neighbours) {
          expect(x.distance).toBeLessThanOrEqual(31);
          expect(`${x.shard}:${x.row}`).not.toBe(`${n.shard}:${n.row}`);
        }
      // Radius 0 turns the step off.
      const none = await collect(auditDatasets([d], { matcher, knnRadius: 0 }));
      expect(none.some((r) => r.kind === 'neighbours')).toBe(false);
      const summary = records.at(-1) as DatasetSummary;
      expect(summary).toMatchObject({
        kind: 'summary',
        reader: 'webdataset',
        shards: 2,
        rows: 5,
        verdicts: { match: 2, flag: 1, clean: 2, skipped: 0, error: 0 },
        reasons: { 'bank-match:known': 2, 'finding:text.block': 1 },
        shardsSkipped: [],
      });
      expect(summary.neighbourRows).toBe(neighbours.length);
    } finally {
      store.close();
    }
  });

  it('reports duplicate keys, missing sidecars and images, undecodable images per row; the shard goes on', async () => {
    const p = join(dir, 'bad.tar');
    await writeTar(p, [
      { key: 'a', image: stored[0], caption: 'x', json: rec('a', 0) },
      { key: 'b', image: stored[1], caption: 'y' }, // missing b.json
      { key: 'c', caption: 'z', json: rec('c', 2) }, // no image
      { key: 'a', image: stored[2], caption: 'again', json: rec('a', 2) }, // duplicate key
      { key: 'd', image: Buffer.from('not an image at all, just text bytes'), caption: 'w', json: rec('d', 3) },
      { key: 'd2', image: (stored[3] as Buffer).subarray(0, 600), caption: 'cut', json: rec('d2', 3) },
      { key: 'e', image: stored[3], caption: 'ok', json: '{not json' },
      { key: 'f', image: stored[4], caption: 'fine', json: rec('f', 4) },
    ]);
    const reports = await collect(auditShard(webDatasetReader, { dataset: p, shard: 'bad.tar', path: p }));
    const by = new Map(reports.map((r) => [`${r.row}:${r.key}`, r]));
    expect([...by.keys()]).toEqual(['0:a', '1:b', '2:c', '3:a', '4:d', '5:d2', '6:e', '7:f']);
    expect(by.get('1:b')?.error?.message).toMatch(/missing sidecar b\.json/);
    expect(by.get('2:c')?.error?.message).toMatch(/no image member/);
    expect(by.get('3:a')?.error?.message).toMatch(/duplicate key "a"/);
    expect(by.get('6:e')?.error?.message).toMatch(/e\.json is not a JSON object/);
    expect(by.get('4:d')?.error).toEqual({
      code: 'WARD_ERR_DATASET_ROW',
      message: 'the stored image d.jpg is text content, not an image',
    });
    expect(by.get('5:d2')?.error?.code).toBe('WARD_ERR_IMAGE_DECODE');
    for (const k of ['1:b', '2:c', '3:a', '4:d', '5:d2', '6:e']) expect(by.get(k)?.verdict).toBe('error');
    // Undecodable bytes still get their digests (a listed file is caught by MD5 whatever it is).
    expect(by.get('5:d2')?.signals.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(by.get('7:f')?.verdict).toBe('clean');
    expect(by.get('0:a')?.verdict).toBe('clean');
  });

  it('reports a truncated tar as a shard error after the rows before the damage; other shards go on', async () => {
    const d = join(dir, 'trunc');
    mkdirSync(d, { recursive: true });
    const whole = await writeTar(
      join(d, '00000.tar'),
      [0, 1, 2, 3].map((i) => ({ key: `k${i}`, image: stored[i], json: rec(`k${i}`, i) })),
    );
    // Cut inside the third sample's image.
    const cutAt = whole.indexOf(Buffer.from('k2.jpg')) + 512 + 100;
    writeFileSync(join(d, '00000.tar'), whole.subarray(0, cutAt));
    await writeTar(join(d, '00001.tar'), [{ key: 'z0', image: stored[4], json: rec('z0', 4) }]);
    const records = await collect(auditDatasets([d], { knnRadius: 0 }));
    const rows = records.filter((r): r is DatasetRowReport => r.kind === 'row');
    expect(rows.map((r) => `${r.shard}:${r.key}`)).toEqual(['00000.tar:k0', '00000.tar:k1', '00001.tar:z0']);
    const summary = records.at(-1) as DatasetSummary;
    expect(summary.shardsSkipped).toEqual([
      expect.objectContaining({ shard: '00000.tar', code: 'WARD_ERR_DATASET_SHARD', rowsRead: 2 }),
    ]);
    expect(summary.shardsSkipped[0]?.message).toMatch(/Truncated or corrupt tar/);
  });

  it('never throws anything but a shard WardError on damaged tars (fuzzed)', async () => {
    const p = join(dir, 'fuzz-src.tar');
    const small = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    const original = await writeTar(
      p,
      [0, 1, 2].map((i) => ({
        key: `s${i}`,
        image: small,
        caption: `c${i}`,
        json: { url: `http://x/${i}`, sha256: 'ab'.repeat(32) },
      })),
    );
    const target = join(dir, 'fuzz.tar');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.option(fc.nat(original.length), { nil: undefined }),
        async (edits, cut) => {
          const b = Buffer.from(original);
          for (const [at, v] of edits) b[at] = v;
          writeFileSync(target, cut === undefined ? b : b.subarray(0, cut));
          try {
            for await (const r of webDatasetReader.rows({ dataset: target, shard: 'f', path: target }, {})) {
              expect(typeof r.key).toBe('string');
              expect(r.row).toBeGreaterThanOrEqual(0);
              if (r.error) expect(r.error.code).toBe('WARD_ERR_DATASET_ROW');
            }
          } catch (e) {
            expect(WardError.is(e) && e.code).toBe('WARD_ERR_DATASET_SHARD');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('splits member names into key and extension as WebDataset does (fuzzed)', () => {
    expect(splitMember('dir/000010001.jpg')).toEqual({ key: 'dir/000010001', ext: 'jpg' });
    expect(splitMember('a.b/c.seg.PNG')).toEqual({ key: 'a.b/c', ext: 'seg.png' });
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_/]{1,12}$/), fc.stringMatching(/^[a-z]{1,4}$/), (key, ext) => {
        const k = key.replace(/\/+$/, '') || 'k';
        expect(splitMember(`${k}.${ext}`)).toEqual({ key: k, ext });
      }),
    );
  });
});

describe('the audit checkpoint', () => {
  it('resumes shard by shard: finished shards replayed (digest unchanged), changed ones audited again', async () => {
    const d = join(dir, 'resume');
    mkdirSync(d, { recursive: true });
    for (const s of [0, 1, 2])
      await writeTar(join(d, `0000${s}.tar`), [
        { key: `${s}a`, image: stored[s], json: rec(`${s}a`, s) },
        { key: `${s}b`, image: stored[s + 1], json: rec(`${s}b`, s + 1) },
      ]);
    const { store, matcher } = await bankMatcher([
      { name: 'known', entries: [{ signal: 'sha256', value: sha256(stored[1] as Buffer) }] },
    ]);
    const cpPath = join(d, '..', 'resume.ckpt');
    const strip = (recs: AuditRecord[]) =>
      recs.map((r) => (r.kind === 'summary' ? { ...r, seconds: 0, resumedShards: 0 } : r));
    try {
      const plain = await collect(auditDatasets([d], { matcher }));
      // Stop after the first shard (as a crash would).
      let cp = DatasetCheckpoint.open(cpPath, 'fp-1');
      for await (const r of auditDatasets([d], { matcher, checkpoint: cp }))
        if (r.kind === 'row' && r.shard === '00001.tar') break;
      cp.close();
      cp = DatasetCheckpoint.open(cpPath, 'fp-1');
      expect(cp.resumable).toBe(1);
      const resumed = await collect(auditDatasets([d], { matcher, checkpoint: cp }));
      cp.close();
      const summary = resumed.at(-1) as DatasetSummary;
      expect(summary.resumedShards).toBe(1);
      // The same findings and counts; clean rows of the replayed shard are counted, not repeated.
      const notClean = (recs: AuditRecord[]) => strip(recs).filter((r) => r.kind !== 'row' || r.verdict !== 'clean');
      expect(notClean(resumed)).toEqual(notClean(plain));
      expect(resumed.filter((r) => r.kind === 'row' && r.shard === '00000.tar' && r.verdict === 'clean')).toEqual([]);
      // A changed shard is audited again.
      await writeTar(join(d, '00000.tar'), [{ key: 'new', image: stored[4], json: rec('new', 4) }]);
      cp = DatasetCheckpoint.open(cpPath, 'fp-1');
      const after = await collect(auditDatasets([d], { matcher, checkpoint: cp }));
      cp.close();
      expect(
        after.filter((r) => r.kind === 'row' && r.shard === '00000.tar').map((r) => (r as DatasetRowReport).key),
      ).toEqual(['new']);
      expect((after.at(-1) as DatasetSummary).resumedShards).toBe(2);
      // Another audit's checkpoint is refused.
      expect(() => DatasetCheckpoint.open(cpPath, 'fp-2')).toThrow(
        expect.objectContaining({ code: 'WARD_ERR_CHECKPOINT' }),
      );
      // A torn last line is dropped; a foreign file is refused.
      const text = readFileSync(cpPath);
      writeFileSync(cpPath, text.subarray(0, text.length - 20));
      cp = DatasetCheckpoint.open(cpPath, 'fp-1');
      expect(cp.resumable).toBe(3); // the re-audited shard's new line is gone, its first one stays
      cp.close();
      const foreign = join(dir, 'foreign.txt');
      writeFileSync(foreign, 'hello\nworld\n');
      expect(() => DatasetCheckpoint.open(foreign, 'fp-1')).toThrow(
        expect.objectContaining({ code: 'WARD_ERR_CHECKPOINT' }),
      );
    } finally {
      store.close();
    }
  });
});

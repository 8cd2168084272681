/**
 * Image folders with caption sidecars and COCO JSON, built in the test from benign scenes;
 * reader detection and the registry slot; URL-hash banks (the `url-sha256` signal type).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDatasets, chooseReader, type DatasetRowReport, type DatasetSummary } from '../../src/datasets/audit.js';
import { cocoReader } from '../../src/datasets/folder.js';
import type { DatasetReader } from '../../src/datasets/types.js';
import { sceneImage } from '../../src/demo/images.js';
import { WardError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { activeRegistry } from '../../src/registry.js';
import { urlSha256 } from '../../src/signals/url.js';
import { tarOf } from '../helpers/archives.js';
import { bankMatcher, blockedCaption, collect, writeParquet } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-ds-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

let imgs: Buffer[] = [];
beforeAll(async () => {
  imgs = await Promise.all([0, 1, 2].map((i) => sceneImage(900 + i, 'jpeg', 320, 240)));
});

const rows = (recs: Awaited<ReturnType<typeof collect<unknown>>>) =>
  recs.filter((r): r is DatasetRowReport => (r as DatasetRowReport).kind === 'row');

describe('image folders with caption sidecars', () => {
  it('one shard per folder, captions from .txt, records from .json, missing and duplicate files per row', async () => {
    const d = join(dir, 'folder');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'a.jpg'), imgs[0] as Buffer);
    writeFileSync(join(d, 'a.txt'), blockedCaption());
    writeFileSync(join(d, 'b.jpg'), imgs[1] as Buffer);
    writeFileSync(join(d, 'b.json'), JSON.stringify({ url: 'https://ex.example/b.jpg', md5: md5(imgs[1] as Buffer) }));
    writeFileSync(join(d, 'b.png'), Buffer.from('same key, not really a png'));
    writeFileSync(join(d, 'c.json'), '{broken');
    writeFileSync(join(d, 'c.jpg'), imgs[2] as Buffer);
    writeFileSync(join(d, 'sub', 'z.jpg'), imgs[2] as Buffer);
    expect((await chooseReader(d)).name).toBe('image-folder');
    const { store, matcher } = await bankMatcher([
      { name: 'known', entries: [{ signal: 'md5', value: md5(imgs[2] as Buffer) }] },
    ]);
    try {
      const recs = await collect(auditDatasets([d], { matcher, knnRadius: 0 }));
      const r = rows(recs);
      expect(r.map((x) => `${x.shard}/${x.name}`)).toEqual(['./a.jpg', './b.jpg', './b.png', './c.jpg', 'sub/z.jpg']);
      expect(r[0]).toMatchObject({ verdict: 'flag', key: 'a' });
      expect(r[1]).toMatchObject({
        url: 'https://ex.example/b.jpg',
        declared: { md5: md5(imgs[1] as Buffer) },
        declaredMatchesStored: true,
      });
      expect(r[2]?.error?.message).toMatch(/share the key "b"/);
      expect(r[3]).toMatchObject({ verdict: 'match', error: { code: 'WARD_ERR_DATASET_ROW' } }); // match wins; the error stays
      expect(r[4]).toMatchObject({ verdict: 'match', shard: 'sub' });
      expect((recs.at(-1) as DatasetSummary).shards).toBe(2);
    } finally {
      store.close();
    }
  });
});

describe('COCO JSON', () => {
  it('reads images[] with captions from annotations, images from the split folder; URLs only hashed', async () => {
    const d = join(dir, 'coco');
    mkdirSync(join(d, 'annotations'), { recursive: true });
    mkdirSync(join(d, 'val2017'), { recursive: true });
    writeFileSync(join(d, 'val2017', '000000000001.jpg'), imgs[0] as Buffer);
    writeFileSync(join(d, 'val2017', '000000000002.jpg'), imgs[1] as Buffer);
    const doc = {
      info: {},
      images: [
        {
          id: 1,
          file_name: '000000000001.jpg',
          width: 320,
          height: 240,
          coco_url: 'http://images.cocodataset.example/val2017/1.jpg',
        },
        { id: 2, file_name: '000000000002.jpg', width: 320, height: 240, flickr_url: 'http://farm.example/2.jpg' },
        { id: 3, file_name: '000000000003.jpg' },
        { id: 2, file_name: '../../etc/passwd' },
      ],
      annotations: [
        { id: 10, image_id: 1, caption: 'a benign caption' },
        { id: 11, image_id: 2, caption: 'first' },
        { id: 12, image_id: 2, caption: blockedCaption() },
      ],
    };
    writeFileSync(join(d, 'annotations', 'captions_val2017.json'), JSON.stringify(doc));
    expect((await chooseReader(d)).name).toBe('coco');
    const url1 = doc.images[0]?.coco_url as string;
    const { store, matcher } = await bankMatcher([
      { name: 'urls', entries: [{ signal: 'md5', value: md5(imgs[0] as Buffer) }] },
    ]);
    try {
      const r = rows(await collect(auditDatasets([d], { matcher, knnRadius: 0 })));
      expect(r.map((x) => [x.shard, x.key, x.verdict])).toEqual([
        ['annotations/captions_val2017.json', '1', 'match'],
        ['annotations/captions_val2017.json', '2', 'flag'],
        ['annotations/captions_val2017.json', '3', 'error'],
        // The duplicate id has id 2's captions too: flag outranks its error, which stays.
        ['annotations/captions_val2017.json', '2', 'flag'],
      ]);
      expect(r[0]?.signals['url-sha256']).toBe(urlSha256(url1));
      expect(r[1]?.url).toBe('http://farm.example/2.jpg');
      expect(r[2]?.error?.message).toMatch(/cannot be read \(ENOENT\)/);
      expect(r[3]?.error?.message).toMatch(/duplicate image id "2".*leaves the dataset folder/);
    } finally {
      store.close();
    }
  });

  it('refuses JSON that is not COCO per shard (fuzzed documents never throw anything else)', async () => {
    const p = join(dir, 'fuzz-coco.json');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        writeFileSync(p, JSON.stringify({ images: value }));
        try {
          for await (const shard of cocoReader.shards(p))
            for await (const row of cocoReader.rows(shard, {})) {
              expect(typeof row.key).toBe('string');
              expect(row.bytes).toBeUndefined(); // nothing there to read
            }
        } catch (e) {
          expect(WardError.is(e) && e.code).toBe('WARD_ERR_DATASET_SHARD');
        }
      }),
      { numRuns: 100 },
    );
    writeFileSync(p, '{"images": 5');
    await expect(collect(cocoReader.rows({ dataset: p, shard: 'x', path: p }, {}))).rejects.toMatchObject({
      code: 'WARD_ERR_DATASET_SHARD',
    });
  });
});

describe('reader detection and the registry slot', () => {
  it('registers the built-in readers in order, and detects each layout', async () => {
    expect(
      activeRegistry()
        .datasetReaders()
        .map((r) => r.name),
    ).toEqual(['laion-parquet', 'webdataset', 'hf-parquet', 'image-folder', 'coco']);
    const wds = join(dir, 'detect-wds');
    mkdirSync(wds, { recursive: true });
    writeFileSync(join(wds, '00000.tar'), await tarOf([{ name: 'a.jpg', data: imgs[0] as Buffer }]));
    // img2dataset writes its metadata parquet beside the tar: the tars are the dataset.
    writeParquet(join(wds, '00000.parquet'), [{ name: 'url', data: ['http://x'], type: 'STRING' }]);
    expect((await chooseReader(wds)).name).toBe('webdataset');
    expect((await chooseReader(join(wds, '00000.tar'))).name).toBe('webdataset');
    expect((await chooseReader(join(wds, '00000.parquet'))).name).toBe('laion-parquet');
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'notes.md'), 'nothing here');
    await expect(chooseReader(empty)).rejects.toMatchObject({ code: 'WARD_ERR_DATASET_FORMAT' });
    await expect(chooseReader(empty, { reader: 'nope' })).rejects.toMatchObject({ code: 'WARD_ERR_DATASET_FORMAT' });
    expect((await chooseReader(empty, { reader: 'image-folder' })).name).toBe('image-folder');
  });

  it('takes a plugin reader that answers higher, and refuses one without rows()', async () => {
    const csv = join(dir, 'list.csv');
    writeFileSync(csv, 'http://a.example/1\nhttp://a.example/2\n');
    const csvReader: DatasetReader = {
      name: 'url-list',
      detect: (i) => (i.path.endsWith('.csv') ? 1 : 0),
      async *shards(path) {
        yield { dataset: path, shard: '.', path };
      },
      async *rows(shard) {
        const { readFileSync } = await import('node:fs');
        const lines = readFileSync(shard.path, 'utf8').trim().split('\n');
        for (const [i, url] of lines.entries()) yield { key: String(i), row: i, url, declared: {} };
      },
    };
    const plugin = definePlugin({ name: 'test-url-list', datasetReaders: [csvReader] });
    const readers = [...activeRegistry().datasetReaders(), ...(plugin.datasetReaders ?? [])];
    const recs = await collect(auditDatasets([csv], { readers }));
    expect(rows(recs).map((r) => [r.reader, r.url])).toEqual([
      ['url-list', 'http://a.example/1'],
      ['url-list', 'http://a.example/2'],
    ]);
    const broken = { name: 'broken', detect: () => 1 } as unknown as DatasetReader;
    await expect(chooseReader(csv, { readers: [broken] })).rejects.toMatchObject({ code: 'WARD_ERR_PLUGIN_INVALID' });
  });
});

describe('URL-hash banks', () => {
  it('matches a dataset URL against a url-sha256 bank however the URL is written (never fetched)', async () => {
    const listed = 'https://Bad.Example.org:443/a/./b/%7Euser/pic.jpg?x=1#frag';
    const p = join(dir, 'urls.parquet');
    writeParquet(p, [
      {
        name: 'URL',
        data: ['http://bad.example.org/a/b/~user/pic.jpg?x=1', 'https://ok.example.org/x.jpg'],
        type: 'STRING',
      },
    ]);
    const { store, matcher } = await bankMatcher([
      { name: 'url-list', entries: [{ signal: 'url-sha256', value: urlSha256(listed) as string }] },
    ]);
    try {
      const r = rows(await collect(auditDatasets([p], { matcher })));
      expect(r[0]).toMatchObject({
        verdict: 'match',
        matches: [expect.objectContaining({ signal: 'url-sha256', source: 'declared' })],
      });
      expect(r[1]?.verdict).toBe('clean');
    } finally {
      store.close();
    }
  });
});

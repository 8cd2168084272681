/**
 * One scan loop: `scan([file])` and `scanBytes(bytes)` give the same report for every kind of item
 * (image, video, model, text, archive with its entries, broken file), on this thread and on
 * worker threads; `hashFiles` (ward hash, ward match) runs on the same loop and gives the records
 * the library's `hashImage` gives, with one job and with several.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { hashFiles, isErrorRecord } from '../../src/scan/hash-files.js';
import { createScanRunner, hashBytes, scan, scanBytes } from '../../src/scan/pipeline.js';
import type { ItemReport } from '../../src/scan/types.js';
import { hashImage } from '../../src/signals/image.js';
import { tarOf, zipOf } from '../helpers/archives.js';
import { tempDir } from '../helpers/cli.js';
import { safetensorsOf } from '../models/build.js';
import { hasFfmpeg, makeVideo } from '../video/videos.js';

let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = tempDir('ward-parity-');
  const put = (name: string, bytes: Uint8Array) => {
    files[name] = join(dir, name);
    writeFileSync(files[name] as string, bytes);
  };
  put('image.jpg', await sceneImage(1));
  put('image.png', await sceneImage(2, 'png', 700, 500));
  put('model.safetensors', safetensorsOf([{ name: 'w', shape: [4, 4] }], { ss_tag_frequency: '{}' }));
  put('notes.txt', Buffer.from('a caption for a landscape photo\n'));
  put('broken.jpg', (await sceneImage(3)).subarray(0, 300));
  put('empty.bin', Buffer.alloc(0));
  put('noise.bin', Buffer.from([0, 1, 2, 3, 255, 254, 0, 0, 7]));
  const inner = await tarOf([{ name: 'in/tar.jpg', data: await sceneImage(4) }]);
  put(
    'bundle.zip',
    zipOf([
      { name: 'a.jpg', data: await sceneImage(5) },
      { name: 'b.txt', data: Buffer.from('hello there\n') },
      { name: 'nested.tar', data: inner, method: 'store' },
      { name: 'cut.jpg', data: (await sceneImage(6)).subarray(0, 200) },
      { name: 'm.safetensors', data: safetensorsOf([{ name: 'x', shape: [2] }]) },
    ]),
  );
  if (hasFfmpeg) files['video.mp4'] = makeVideo(join(dir, 'video.mp4'), { duration: 1 });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('one scan loop', () => {
  it('scan([file]) and scanBytes(bytes) give the same reports for every kind of item', async () => {
    const kinds = new Set<string>();
    for (const [name, path] of Object.entries(files)) {
      const fromFile = await collect(scan([path], { jobs: 1 }));
      const fromBytes = (await collect(scanBytes(path, readFileSync(path)))).map((s) => s.report);
      expect(fromBytes, name).toEqual(fromFile);
      for (const r of fromFile) kinds.add(`${r.contentType}${r.error ? ':error' : ''}`);
      if (name === 'bundle.zip') {
        expect(fromFile.map((r) => r.archivePath)).toEqual([
          undefined,
          'a.jpg',
          'b.txt',
          'nested.tar',
          'nested.tar!/in/tar.jpg',
          'cut.jpg',
          'm.safetensors',
        ]);
      }
    }
    // Every kind really was there (a broken image is an image with an error).
    for (const k of ['image', 'model', 'text', 'archive', 'other', 'image:error', ...(hasFfmpeg ? ['video'] : [])])
      expect(kinds, k).toContain(k);
  });

  it('gives the same reports on worker threads as on this thread, in input order', async () => {
    const paths = Object.values(files);
    const one = await collect(scan(paths, { jobs: 1 }));
    const two = await collect(scan(paths, { jobs: 2 }));
    expect(two).toEqual(one);
    const runner = createScanRunner(undefined, 2);
    try {
      for (const path of paths) {
        const pooled = (await collect(scanBytes(path, readFileSync(path), { runner }))).map((s) => s.report);
        expect(pooled).toEqual(await collect(scan([path], { jobs: 1 })));
      }
    } finally {
      await runner.close();
    }
  });

  it("hashBytes (the service's /v1/hash) runs the upload's scan task", async () => {
    const runner = createScanRunner();
    try {
      const path = files['image.jpg'] as string;
      const { result, contentType, format } = await hashBytes('upload', readFileSync(path), runner);
      const [report] = await collect(scan([path], { jobs: 1 }));
      expect(contentType).toBe('image');
      expect(format).toBe('jpeg');
      const { pdqDihedral: _d, ...signals } = result.signals;
      expect(signals).toEqual((report as ItemReport).signals);
      // An archive upload: its own digests, its entries not expanded.
      const zip = files['bundle.zip'] as string;
      const archive = await hashBytes('upload.zip', readFileSync(zip), runner);
      const [zipReport] = await collect(scan([zip], { jobs: 1 }));
      expect(archive.contentType).toBe('archive');
      expect(archive.result.signals).toEqual((zipReport as ItemReport).signals);
    } finally {
      await runner.close();
    }
  });

  it('hashFiles gives the records hashImage gives, and the same with one job and several', async () => {
    const paths = Object.values(files);
    for (const options of [{}, { dihedral: true }, { profile: 'cli512' as const }]) {
      const one = await collect(hashFiles([dir], { ...options, jobs: 1 }));
      const two = await collect(hashFiles([dir], { ...options, jobs: 2 }));
      expect(two).toEqual(one);
      expect(one.map((r) => r.path).sort()).toEqual([...paths].sort());
      for (const r of one) {
        if (r.path === undefined) throw new Error('a record without a path');
        if (r.path.endsWith('.jpg') || r.path.endsWith('.png')) {
          if (r.path.includes('broken')) {
            expect(isErrorRecord(r) && r.error.code).toBe('WARD_ERR_IMAGE_DECODE');
            continue;
          }
          expect(r).toEqual(await hashImage(r.path, options));
        }
      }
      // The scan's PDQ is ward hash's PDQ (full resolution).
      if (!('profile' in options)) {
        const [scanned] = await collect(scan([files['image.png'] as string], { jobs: 1 }));
        const record = one.find((r) => r.path === files['image.png']);
        expect(record && 'pdq' in record && record.pdq).toBe(scanned?.signals.pdq);
      }
    }
    const errors = Object.fromEntries(
      (await collect(hashFiles([files['empty.bin'] as string, files['notes.txt'] as string, join(dir, 'nope')])))
        .filter(isErrorRecord)
        .map((r) => [r.path, r.error.code]),
    );
    expect(errors).toEqual({
      [files['empty.bin'] as string]: 'WARD_ERR_INPUT_EMPTY',
      [files['notes.txt'] as string]: 'WARD_ERR_IMAGE_UNSUPPORTED',
      [join(dir, 'nope')]: 'WARD_ERR_INPUT_NOT_FOUND',
    });
  });
});

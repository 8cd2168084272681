/**
 * Archive reading on real archive bytes built in the test (benign generated content only):
 * order and content, skipped records, unsafe names, zip and gzip bombs, lying sizes, damage,
 * limits, and that file descriptors are released however the consumer stops.
 */
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  gzipChunks,
  gzipOf,
  noise,
  tarOf,
  tarOfZeros,
  textBytes,
  ustarHeader,
  zeros,
  zipOf,
} from '../../test/helpers/archives.js';
import { WardError } from '../errors.js';
import { type ArchiveEntry, type ArchiveFormat, readArchive, sniffArchive } from './archive.js';

const tmp = mkdtempSync(join(tmpdir(), 'ward-archive-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function tempFile(bytes: Uint8Array): string {
  const path = join(tmp, `a${fileNo++}`);
  writeFileSync(path, bytes);
  return path;
}

type Source = { path: string } | { bytes: Uint8Array };

async function readAll(source: Source, format: ArchiveFormat, limits?: Parameters<typeof readArchive>[2]) {
  const out: ArchiveEntry[] = [];
  for await (const entry of readArchive(source, format, limits)) out.push(entry);
  return out;
}

/** A compact view: name → text of the bytes, or the error code. */
function summary(entries: ArchiveEntry[]): [string, number, string][] {
  return entries.map((e) => [
    e.name,
    e.index,
    'bytes' in e ? `${e.size}:${Buffer.from(e.bytes).toString('hex', 0, 8)}` : e.error.code,
  ]);
}

function bytesOf(e: ArchiveEntry | undefined): Buffer {
  if (e === undefined || !('bytes' in e)) throw new Error(`expected bytes, got ${JSON.stringify(e)}`);
  expect(e.size).toBe(e.bytes.length);
  // Its own ArrayBuffer, so the pipeline can transfer it to a worker without a copy.
  expect([e.bytes.byteOffset, e.bytes.buffer.byteLength]).toEqual([0, e.bytes.length]);
  return Buffer.from(e.bytes);
}

function errorOf(e: ArchiveEntry | undefined): { code: string; message: string } {
  if (e === undefined || !('error' in e)) throw new Error(`expected an error, got ${e?.name}`);
  return e.error;
}

/** File descriptors of this process open on `path`. */
function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

const A = textBytes(3000, 1);
const B = noise(5000, 2);
const C = textBytes(70_000, 3);

describe('sniffArchive', () => {
  it('recognises zip, empty zip, gzip and tar by magic bytes', async () => {
    expect(sniffArchive(zipOf([{ name: 'a', data: A }]))).toBe('zip');
    expect(sniffArchive(zipOf([]))).toBe('zip');
    expect(sniffArchive(gzipOf(A))).toBe('gzip');
    expect(sniffArchive(await tarOf([{ name: 'a', data: A }]))).toBe('tar');
  });

  it('answers undefined for other or too few bytes', async () => {
    expect(sniffArchive(new Uint8Array(0))).toBeUndefined();
    expect(sniffArchive(Buffer.from('PK'))).toBeUndefined();
    expect(sniffArchive(Buffer.from([0x1f, 0x8b, 0x07]))).toBeUndefined();
    expect(sniffArchive(noise(600, 9).map((b) => b & 0x3f))).toBeUndefined();
    const tar = await tarOf([{ name: 'a', data: A }]);
    expect(sniffArchive(tar.subarray(0, 261))).toBeUndefined();
    expect(sniffArchive(tar.subarray(0, 262))).toBe('tar');
  });
});

describe('readArchive: zip', () => {
  const zip = zipOf([
    { name: 'one.txt', data: A },
    { name: 'two.bin', data: B, method: 'store' },
    { name: 'sub/three.txt', data: C },
    { name: 'empty', data: new Uint8Array(0) },
  ]);

  it('yields every file in stored order with its exact bytes, from bytes or a path', async () => {
    for (const source of [{ bytes: zip }, { path: tempFile(zip) }]) {
      const entries = await readAll(source, 'zip');
      expect(entries.map((e) => [e.name, e.index])).toEqual([
        ['one.txt', 0],
        ['two.bin', 1],
        ['sub/three.txt', 2],
        ['empty', 3],
      ]);
      expect(bytesOf(entries[0]).equals(A)).toBe(true);
      expect(bytesOf(entries[1]).equals(B)).toBe(true);
      expect(bytesOf(entries[2]).equals(C)).toBe(true);
      expect(bytesOf(entries[3]).length).toBe(0);
      expect(entries.some((e) => e.unsafeName)).toBe(false);
    }
  });

  it('yields nothing for an empty zip', async () => {
    expect(await readAll({ bytes: zipOf([]) }, 'zip')).toEqual([]);
    expect(await readAll({ path: tempFile(zipOf([])) }, 'zip')).toEqual([]);
  });

  it('returns a nested archive as bytes, for the caller to open', async () => {
    const inner = zipOf([{ name: 'inner.txt', data: A }]);
    const outer = zipOf([
      { name: 'inner.zip', data: inner },
      { name: 'after.txt', data: B },
    ]);
    const entries = await readAll({ bytes: outer }, 'zip');
    const nested = bytesOf(entries[0]);
    expect(nested.equals(inner)).toBe(true);
    expect(sniffArchive(nested)).toBe('zip');
    const innerEntries = await readAll({ bytes: nested }, 'zip');
    expect(bytesOf(innerEntries[0]).equals(A)).toBe(true);
    expect(bytesOf(entries[1]).equals(B)).toBe(true);
  });

  it('skips directories (their records still take an index) but reads a "directory" that has content', async () => {
    const entries = await readAll(
      {
        bytes: zipOf([
          { name: 'dir/' },
          { name: 'dir/a.txt', data: A },
          { name: 'other/', method: 'store' },
          { name: 'hidden/', data: B },
        ]),
      },
      'zip',
    );
    expect(summary(entries).map(([name, index]) => [name, index])).toEqual([
      ['dir/a.txt', 1],
      ['hidden/', 3],
    ]);
    expect(bytesOf(entries[1]).equals(B)).toBe(true);
  });

  it('yields path-traversal and odd names as labels, flagged unsafeName, without aborting', async () => {
    const names = [
      '../../evil.txt',
      '/abs',
      'C:\\x',
      'a/../../b',
      'back\\slash',
      'nul\0byte',
      'ok/fine.txt',
      'dots..ok',
    ];
    const entries = await readAll({ bytes: zipOf(names.map((name, i) => ({ name, data: textBytes(10, i) }))) }, 'zip');
    expect(entries.map((e) => [e.name, e.unsafeName ?? false])).toEqual([
      ['../../evil.txt', true],
      ['/abs', true],
      ['C:\\x', true],
      ['a/../../b', true],
      ['back\\slash', true],
      ['nul\0byte', true],
      ['ok/fine.txt', false],
      ['dots..ok', false],
    ]);
    for (const [i, e] of entries.entries()) expect(bytesOf(e).equals(textBytes(10, i))).toBe(true);
  });

  it('refuses an entry whose declared ratio is a bomb, before inflating it, and goes on', async () => {
    const zeros20M = new Uint8Array(20 * 1024 * 1024);
    const zip = zipOf([
      { name: 'zeros.bin', data: zeros20M },
      { name: 'after.txt', data: A },
    ]);
    expect(zip.length).toBeLessThan(40_000); // ~1030:1
    const entries = await readAll({ bytes: zip }, 'zip');
    expect(errorOf(entries[0]).code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(errorOf(entries[0]).message).toMatch(/expands \d+(\.\d)?:1, more than the limit of 1000:1/);
    expect(bytesOf(entries[1]).equals(A)).toBe(true);
    // A lower limit catches ordinary text too.
    const text = await readAll({ bytes: zipOf([{ name: 't', data: textBytes(100_000) }]) }, 'zip', { maxRatio: 10 });
    expect(errorOf(text[0]).code).toBe('WARD_ERR_LIMIT_ARCHIVE');
  });

  it('reports an entry whose data is bigger than its declared size, then reads the next', async () => {
    const zip = zipOf([
      { name: 'liar.txt', data: C, declaredSize: 100 },
      { name: 'short.txt', data: A, declaredSize: A.length + 50 },
      { name: 'honest.txt', data: B },
    ]);
    for (const source of [{ bytes: zip }, { path: tempFile(zip) }]) {
      const entries = await readAll(source, 'zip');
      expect(errorOf(entries[0])).toEqual({
        code: 'WARD_ERR_ARCHIVE_CORRUPT',
        message: 'Entry is larger than its declared size of 100 bytes',
      });
      expect(errorOf(entries[1]).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
      expect(bytesOf(entries[2]).equals(B)).toBe(true);
    }
  });

  it('stops an overlapping-entry bomb (many records sharing one local entry) at maxTotalBytes', async () => {
    const block = noise(64 * 1024, 5);
    const specs = [
      { name: 'r0', data: block },
      ...Array.from({ length: 40 }, (_, i) => ({ name: `r${i + 1}`, sameAs: 0 })),
    ];
    const zip = zipOf(specs);
    expect(zip.length).toBeLessThan(80 * 1024);
    const entries = await readAll({ bytes: zip }, 'zip', { maxTotalBytes: 1024 * 1024 });
    expect(entries).toHaveLength(17);
    for (const e of entries.slice(0, 16)) expect(bytesOf(e).equals(block)).toBe(true);
    expect(entries[16]!.index).toBe(16);
    expect(errorOf(entries[16]).code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(errorOf(entries[16]).message).toMatch(/total limit of 1048576 bytes/);
  });

  it('skips an entry over maxEntryBytes (declared) and goes on', async () => {
    const zip = zipOf([
      { name: 'big', data: C },
      { name: 'small', data: A },
    ]);
    const entries = await readAll({ bytes: zip }, 'zip', { maxEntryBytes: 10_000 });
    expect(errorOf(entries[0]).code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(errorOf(entries[0]).message).toBe('Entry of 70000 bytes exceeds the limit of 10000 bytes: not read');
    expect(bytesOf(entries[1]).equals(A)).toBe(true);
  });

  it('stops after maxEntries records with one error entry', async () => {
    const zip = zipOf(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, data: textBytes(20, i) })));
    const entries = await readAll({ bytes: zip }, 'zip', { maxEntries: 3 });
    expect(summary(entries).map(([n, i, what]) => [n, i, what.startsWith('WARD') ? what : 'ok'])).toEqual([
      ['f0', 0, 'ok'],
      ['f1', 1, 'ok'],
      ['f2', 2, 'ok'],
      ['f3', 3, 'WARD_ERR_LIMIT_ARCHIVE'],
    ]);
  });

  it('reports encrypted entries and unknown compression methods, and goes on', async () => {
    const zip = zipOf([
      { name: 'secret', data: A, encrypted: true },
      { name: 'bzip2', data: A, method: 'store', methodCode: 12 },
      { name: 'plain', data: B },
    ]);
    const entries = await readAll({ bytes: zip }, 'zip');
    expect(errorOf(entries[0])).toEqual({ code: 'WARD_ERR_ARCHIVE_CORRUPT', message: 'Encrypted entry, not read' });
    expect(errorOf(entries[1]).message).toBe('Unsupported compression method 12, entry not read');
    expect(bytesOf(entries[2]).equals(B)).toBe(true);
  });

  it('reads an empty file stored as "deflated" with no data at all as empty, not damaged', async () => {
    const zip = Buffer.from(
      zipOf([
        { name: 'e', method: 'store' },
        { name: 'f', data: A },
      ]),
    );
    zip.writeUInt16LE(8, 8); // method in the local header...
    zip.writeUInt16LE(8, zip.indexOf(Buffer.from('PK\x01\x02', 'latin1')) + 10); // ...and the central directory
    const entries = await readAll({ bytes: zip }, 'zip');
    expect(bytesOf(entries[0]).length).toBe(0);
    expect(bytesOf(entries[1]).equals(A)).toBe(true);
  });

  it('recovers the entries of a truncated zip from its local headers, then reports the damage', async () => {
    const zip = zipOf([
      { name: 'one.txt', data: A },
      { name: 'two.bin', data: B, method: 'store' },
      { name: 'three.txt', data: C },
    ]);
    const third = zip.indexOf(Buffer.from('three.txt'));
    for (const cut of [third + 100, zip.length - 10]) {
      const truncated = zip.subarray(0, cut);
      for (const source of [{ bytes: truncated }, { path: tempFile(truncated) }]) {
        const entries = await readAll(source, 'zip');
        expect(bytesOf(entries[0]).equals(A)).toBe(true);
        expect(bytesOf(entries[1]).equals(B)).toBe(true);
        if (cut < zip.length - 100) {
          expect(entries).toHaveLength(3);
          expect(entries[2]!.name).toBe('three.txt');
        } else {
          expect(entries).toHaveLength(4);
          expect(bytesOf(entries[2]).equals(C)).toBe(true);
          expect(entries[3]!.name).toBe('(archive)');
        }
        expect(errorOf(entries.at(-1)).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
      }
    }
  });

  it('keeps the entries listed before a damaged central-directory record', async () => {
    const zip = zipOf([
      { name: 'one.txt', data: A },
      { name: 'two.txt', data: C },
    ]);
    const damaged = Buffer.from(zip);
    const cd = damaged.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'));
    damaged[cd + 2] = 0x09; // second record's signature
    const entries = await readAll({ bytes: damaged }, 'zip');
    expect(bytesOf(entries[0]).equals(A)).toBe(true);
    expect(entries).toHaveLength(2);
    expect(entries[1]!.name).toBe('(archive)');
    expect(errorOf(entries[1]).message).toMatch(/central directory file header signature/);
  });

  it('turns garbage behind a zip magic into one error entry', async () => {
    for (const magic of ['PK\x03\x04', 'PK\x05\x06']) {
      const bytes = Buffer.concat([Buffer.from(magic, 'latin1'), noise(4000, 11)]);
      const entries = await readAll({ bytes }, 'zip');
      expect(entries.every((e) => 'error' in e)).toBe(true);
      expect(entries.length).toBeGreaterThanOrEqual(1);
      expect(errorOf(entries.at(-1)).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
    }
  });
});

describe('readArchive: tar', () => {
  const longName = `${'deep/'.repeat(40)}file.txt`;

  it('yields files in order with exact bytes, long names included, from bytes or a path', async () => {
    const tar = await tarOf([
      { name: 'one.txt', data: A },
      { name: 'two.bin', data: B },
      { name: longName, data: C },
      { name: 'empty' },
    ]);
    for (const source of [{ bytes: tar }, { path: tempFile(tar) }]) {
      const entries = await readAll(source, 'tar');
      expect(entries.map((e) => e.name)).toEqual(['one.txt', 'two.bin', longName, 'empty']);
      expect(bytesOf(entries[0]).equals(A)).toBe(true);
      expect(bytesOf(entries[1]).equals(B)).toBe(true);
      expect(bytesOf(entries[2]).equals(C)).toBe(true);
      expect(bytesOf(entries[3]).length).toBe(0);
    }
  });

  it('skips directories, symlinks, hard links and devices; their records take an index', async () => {
    const tar = await tarOf([
      { name: 'dir', type: 'directory' },
      { name: 'dir/a.txt', data: A },
      { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'hard', type: 'link', linkname: 'dir/a.txt' },
      { name: 'fifo', type: 'fifo' },
      { name: 'dev', type: 'character-device' },
      { name: 'b.bin', data: B },
    ]);
    const entries = await readAll({ bytes: tar }, 'tar');
    expect(entries.map((e) => [e.name, e.index])).toEqual([
      ['dir/a.txt', 1],
      ['b.bin', 6],
    ]);
  });

  it('flags unsafe names', async () => {
    const names = ['../../evil.txt', '/abs', 'C:\\x', 'a/../../b', 'fine.txt'];
    const entries = await readAll({ bytes: await tarOf(names.map((name) => ({ name, data: A }))) }, 'tar');
    expect(entries.map((e) => [e.name, e.unsafeName ?? false])).toEqual([
      ['../../evil.txt', true],
      ['/abs', true],
      ['C:\\x', true],
      ['a/../../b', true],
      ['fine.txt', false],
    ]);
  });

  it('skips an entry over maxEntryBytes, stops at maxTotalBytes and maxEntries', async () => {
    const tar = await tarOf([
      { name: 'a', data: A },
      { name: 'c', data: C },
      { name: 'b', data: B },
      { name: 'a2', data: A },
    ]);
    const big = await readAll({ bytes: tar }, 'tar', { maxEntryBytes: 10_000 });
    expect(summary(big).map(([n, , w]) => [n, w.startsWith('WARD') ? w : 'ok'])).toEqual([
      ['a', 'ok'],
      ['c', 'WARD_ERR_LIMIT_ARCHIVE'],
      ['b', 'ok'],
      ['a2', 'ok'],
    ]);
    expect(bytesOf(big[2]).equals(B)).toBe(true);
    const total = await readAll({ bytes: tar }, 'tar', { maxTotalBytes: A.length + C.length + 1 });
    expect(summary(total).map(([n, , w]) => [n, w.startsWith('WARD') ? w : 'ok'])).toEqual([
      ['a', 'ok'],
      ['c', 'ok'],
      ['b', 'WARD_ERR_LIMIT_ARCHIVE'],
    ]);
    const count = await readAll({ bytes: tar }, 'tar', { maxEntries: 2 });
    expect(count.map((e) => ('error' in e ? e.error.code : e.name))).toEqual(['a', 'c', 'WARD_ERR_LIMIT_ARCHIVE']);
  });

  it('keeps the entries before the damage of a truncated tar, then reports it', async () => {
    const tar = await tarOf([
      { name: 'one.txt', data: A },
      { name: 'two.bin', data: B },
      { name: 'three.txt', data: C },
    ]);
    const third = tar.indexOf(Buffer.from('three.txt'));
    // Inside the third entry's data; inside its header; mid-way through the second entry's data.
    for (const [cut, kept] of [
      [third + 512 + 1000, 2],
      [third + 100, 2],
      [third - 1000, 1],
    ] as const) {
      const entries = await readAll({ bytes: tar.subarray(0, cut) }, 'tar');
      expect(entries).toHaveLength(kept + 1);
      expect(bytesOf(entries[0]).equals(A)).toBe(true);
      if (kept === 2) expect(bytesOf(entries[1]).equals(B)).toBe(true);
      expect(errorOf(entries[kept]).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
      expect(errorOf(entries[kept]).message).toMatch(/Unexpected end of data/);
    }
  });

  it('turns garbage behind a ustar magic into one error entry', async () => {
    const bytes = Buffer.from(noise(4096, 12));
    bytes.write('ustar\0', 257, 'latin1');
    const entries = await readAll({ bytes }, 'tar');
    expect(entries).toHaveLength(1);
    expect(errorOf(entries[0]).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
    expect(errorOf(entries[0]).message).toMatch(/Invalid tar header/);
  });
});

describe('readArchive: gzip', () => {
  it('reads a tar.gz as the tar inside it', async () => {
    const tgz = gzipOf(
      await tarOf([
        { name: 'one.txt', data: A },
        { name: 'd', type: 'directory' },
        { name: 'two.bin', data: B },
      ]),
    );
    for (const source of [{ bytes: tgz }, { path: tempFile(tgz) }]) {
      const entries = await readAll(source, 'gzip');
      expect(entries.map((e) => [e.name, e.index])).toEqual([
        ['one.txt', 0],
        ['two.bin', 2],
      ]);
      expect(bytesOf(entries[1]).equals(B)).toBe(true);
    }
  });

  it('yields a single gzipped file as one entry, named from FNAME when present', async () => {
    const named = await readAll({ bytes: gzipOf(C, { name: 'report.txt' }) }, 'gzip');
    expect(named.map((e) => e.name)).toEqual(['report.txt']);
    expect(bytesOf(named[0]).equals(C)).toBe(true);
    const plain = await readAll({ path: tempFile(gzipOf(A)) }, 'gzip');
    expect(plain.map((e) => [e.name, e.index])).toEqual([['(gzip payload)', 0]]);
    expect(bytesOf(plain[0]).equals(A)).toBe(true);
    const tiny = await readAll({ bytes: gzipOf(Buffer.from('hi'), { name: '../up.txt' }) }, 'gzip');
    expect(tiny).toEqual([{ name: '../up.txt', index: 0, unsafeName: true, size: 2, bytes: Buffer.from('hi') }]);
    const empty = await readAll({ bytes: gzipOf(new Uint8Array(0)) }, 'gzip');
    expect(bytesOf(empty[0]).length).toBe(0);
  });

  it('stops a 100 MB gzip bomb early (ratio, total or entry size) with little memory', async () => {
    const bomb = await gzipChunks(zeros(100 * 1024 * 1024));
    const tarBomb = await gzipChunks(tarOfZeros('zeros.bin', 100 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200_000);
    const cases: [Source, Parameters<typeof readArchive>[2], RegExp][] = [
      [{ bytes: bomb }, undefined, /expands \d+(\.\d)?:1, more than the limit of 1000:1/],
      [{ path: tempFile(bomb) }, undefined, /expands/],
      [{ bytes: bomb }, { maxRatio: 1_000_000, maxTotalBytes: 10_000_000 }, /total limit of 10000000 bytes/],
      [{ bytes: bomb }, { maxRatio: 1_000_000, maxEntryBytes: 10_000_000 }, /entry limit of 10000000 bytes/],
      [{ bytes: tarBomb }, undefined, /expands/],
      [{ path: tempFile(tarBomb) }, { maxRatio: 1_000_000, maxTotalBytes: 10_000_000 }, /total limit/],
    ];
    for (const [source, limits, message] of cases) {
      const before = process.memoryUsage().rss;
      let peak = before;
      const entries: ArchiveEntry[] = [];
      for await (const e of readArchive(source, 'gzip', limits)) {
        peak = Math.max(peak, process.memoryUsage().rss);
        entries.push(e);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(entries).toHaveLength(1);
      expect(errorOf(entries[0]).code).toBe('WARD_ERR_LIMIT_ARCHIVE');
      expect(errorOf(entries[0]).message).toMatch(message);
      expect(peak - before).toBeLessThan(50 * 1024 * 1024);
    }
  });

  it('keeps the entries of a truncated tar.gz, and reports a truncated gzip', async () => {
    const tgz = gzipOf(
      await tarOf([
        { name: 'one.txt', data: A },
        { name: 'two.bin', data: noise(200_000, 4) },
      ]),
    );
    const entries = await readAll({ bytes: tgz.subarray(0, Math.floor(tgz.length * 0.6)) }, 'gzip');
    expect(entries).toHaveLength(2);
    expect(bytesOf(entries[0]).equals(A)).toBe(true);
    expect(errorOf(entries[1]).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
    const single = await readAll({ bytes: gzipOf(C, { name: 'c.txt' }).subarray(0, 200) }, 'gzip');
    expect(single).toHaveLength(1);
    expect(single[0]!.name).toBe('c.txt');
    expect(errorOf(single[0]).message).toMatch(/unexpected end of file/);
  });

  it('turns garbage behind a gzip magic into one error entry', async () => {
    for (const tail of [noise(3000, 13), new Uint8Array(0), Buffer.from('zzzzzzz')]) {
      const entries = await readAll({ bytes: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), tail]) }, 'gzip');
      expect(entries).toHaveLength(1);
      expect(errorOf(entries[0]).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
    }
  });
});

describe('readArchive: arguments and resources', () => {
  it('throws WARD_ERR_INPUT_NOT_FOUND for a missing file or a directory, on the first next()', async () => {
    const missing = readArchive({ path: join(tmp, 'nope.zip') }, 'zip');
    await expect(missing.next()).rejects.toMatchObject({ code: 'WARD_ERR_INPUT_NOT_FOUND' });
    const dir = join(tmp, 'dir');
    mkdirSync(dir);
    for (const format of ['zip', 'tar', 'gzip', '7z', 'rar'] as const) {
      await expect(readAll({ path: dir }, format)).rejects.toSatisfy(
        (e) => WardError.is(e) && e.code === 'WARD_ERR_INPUT_NOT_FOUND',
      );
    }
  });

  it('throws WARD_ERR_INPUT_TYPE at the call for a bad source, format or limit', () => {
    const bad = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'WARD_ERR_INPUT_TYPE' }));
    bad(() => readArchive({} as { path: string }, 'zip'));
    bad(() => readArchive({ bytes: A }, 'arj' as ArchiveFormat));
    bad(() => readArchive({ bytes: A }, 'zip', { maxEntries: 0 }));
    bad(() => readArchive({ bytes: A }, 'zip', { maxRatio: 1.5 }));
    // Other keys (the scan's maxDepth) are ignored.
    expect(() => readArchive({ bytes: A }, 'zip', { maxDepth: 3 } as object)).not.toThrow();
  });

  it('closes the file when the consumer stops early or reads to the end', async () => {
    const zip = zipOf([
      { name: 'a', data: A },
      { name: 'b', data: C },
      { name: 'c', data: B },
    ]);
    const tar = await tarOf([
      { name: 'a', data: A },
      { name: 'b', data: C },
      { name: 'c', data: B },
    ]);
    const cases: [Uint8Array, ArchiveFormat][] = [
      [zip, 'zip'],
      [zip.subarray(0, zip.length - 30), 'zip'], // salvaged from local headers
      [tar, 'tar'],
      [gzipOf(tar), 'gzip'],
      [gzipOf(C), 'gzip'],
      [tar.subarray(0, 2000), 'tar'],
    ];
    for (const [bytes, format] of cases) {
      const path = tempFile(bytes);
      for await (const entry of readArchive({ path }, format)) {
        expect(entry.index).toBe(0);
        expect(fdsOn(path)).toBe(1);
        break;
      }
      expect(fdsOn(path)).toBe(0);
      await readAll({ path }, format);
      expect(fdsOn(path)).toBe(0);
      // Stopped before it started: nothing was opened.
      const gen = readArchive({ path }, format);
      await gen.return(undefined);
      expect(fdsOn(path)).toBe(0);
    }
  });

  it('reads ahead only a little: the next entry is read when asked', async () => {
    // Cutting the file after the first entry is yielded must be seen by the second: it was not read yet.
    const MiB = 1024 * 1024;
    const specs = [0, 1, 2].map((i) => ({ name: `n${i}`, data: noise(MiB, 20 + i) }));
    const cases: [Buffer, ArchiveFormat][] = [
      [await tarOf(specs), 'tar'],
      [zipOf(specs.map((s) => ({ ...s, method: 'store' as const }))), 'zip'],
    ];
    for (const [bytes, format] of cases) {
      const path = tempFile(bytes);
      const gen = readArchive({ path }, format);
      const first = await gen.next();
      expect(bytesOf(first.value as ArchiveEntry).equals(specs[0]!.data)).toBe(true);
      truncateSync(path, Math.floor(1.5 * MiB));
      const second = await gen.next();
      expect(errorOf(second.value as ArchiveEntry).code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
      await gen.return(undefined);
      expect(fdsOn(path)).toBe(0);
    }
  });

  it('does not mistake a ustar header inside a gzip payload at another offset for a tar', async () => {
    const payload = Buffer.concat([Buffer.alloc(100), ustarHeader('x', 0)]);
    const entries = await readAll({ bytes: gzipOf(payload) }, 'gzip');
    expect(bytesOf(entries[0]).equals(payload)).toBe(true);
  });
});

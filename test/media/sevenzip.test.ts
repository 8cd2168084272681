/**
 * 7z and RAR through media/archive (7-Zip in WebAssembly). 7z archives are written at test time
 * by 7-Zip itself (test/helpers/sevenzip.ts); RAR 5 archives are built byte by byte from the
 * format's specification (test/helpers/rar5.ts: stored entries only, no free tool writes RAR).
 * Benign bytes only: synthetic scenes (src/demo/images.ts), generated text and zeros.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import {
  type ArchiveEntry,
  type ArchiveLimits,
  decoderBytes,
  MAX_DECODER_BYTES,
  readArchive,
  sniffArchive,
} from '../../src/media/archive.js';
import { sevenZipCounters } from '../../src/media/sevenzip.js';
import { textBytes } from '../helpers/archives.js';
import { rar4Of, rar5Of } from '../helpers/rar5.js';
import { sevenZipOf } from '../helpers/sevenzip.js';

const tmp = mkdtempSync(join(tmpdir(), 'ward-7z-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function readAll(
  source: { path: string } | { bytes: Uint8Array },
  format: '7z' | 'rar',
  limits?: Partial<ArchiveLimits>,
): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const e of readArchive(source, format, limits)) out.push(e);
  return out;
}

function summary(entries: ArchiveEntry[]): (string | [string, string])[] {
  return entries.map((e) => ('error' in e ? [e.name, e.error.code] : e.name));
}

let jpeg: Buffer;
let png: Buffer;
beforeAll(async () => {
  jpeg = await sceneImage(3, 'jpeg', 320, 240);
  png = await sceneImage(4, 'png', 200, 150);
});

describe('sniffing', () => {
  it('recognises 7z, RAR 4 and RAR 5 by their marks, and nothing else as them', () => {
    expect(sniffArchive(Buffer.from('377abcaf271c0004', 'hex'))).toBe('7z');
    expect(sniffArchive(Buffer.from('526172211a0700cf', 'hex'))).toBe('rar');
    expect(sniffArchive(Buffer.from('526172211a070100', 'hex'))).toBe('rar');
    expect(sniffArchive(Buffer.from('526172211a0702', 'hex'))).toBeUndefined();
    expect(sniffArchive(Buffer.from('377abcaf27', 'hex'))).toBeUndefined();
  });
});

describe('7z', () => {
  for (const solid of [true, false]) {
    for (const method of ['LZMA2', 'Copy'] as const) {
      it(`reads every entry exactly, in order (${method}, ${solid ? 'solid' : 'not solid'})`, async () => {
        const text = textBytes(50_000, 2);
        const archive = await sevenZipOf(
          [
            { name: 'trip/a.jpg', data: jpeg },
            { name: 'trip/b.png', data: png },
            { name: 'notes.txt', data: text },
            { name: 'empty.txt', data: new Uint8Array(0) },
          ],
          { method, solid },
        );
        expect(sniffArchive(archive)).toBe('7z');
        const entries = await readAll({ bytes: archive }, '7z');
        const byName = new Map(entries.map((e) => [e.name, e]));
        expect([...byName.keys()].sort()).toEqual(['empty.txt', 'notes.txt', 'trip/a.jpg', 'trip/b.png']);
        expect(Buffer.from((byName.get('trip/a.jpg') as { bytes: Uint8Array }).bytes).equals(jpeg)).toBe(true);
        expect(Buffer.from((byName.get('trip/b.png') as { bytes: Uint8Array }).bytes).equals(png)).toBe(true);
        expect(Buffer.from((byName.get('notes.txt') as { bytes: Uint8Array }).bytes).equals(Buffer.from(text))).toBe(
          true,
        );
        expect((byName.get('empty.txt') as { size: number }).size).toBe(0);
        // Indices are positions in the listing (the folder record counts) and increase.
        const indices = entries.map((e) => e.index);
        expect([...indices].sort((a, b) => a - b)).toEqual(indices);
      });
    }
  }

  it('reads a file in place the same as its bytes', async () => {
    const archive = await sevenZipOf([
      { name: 'a.jpg', data: jpeg },
      { name: 'odd name [1] *?.txt', data: textBytes(300) },
      { name: '-dash.txt', data: textBytes(20, 3) },
      { name: '@list.txt', data: textBytes(20, 4) },
    ]);
    const path = join(tmp, 'in place #1.7z');
    writeFileSync(path, archive);
    const fromFile = await readAll({ path }, '7z');
    const fromBytes = await readAll({ bytes: archive }, '7z');
    expect(summary(fromFile)).toEqual(summary(fromBytes));
    expect(fromFile.every((e) => 'bytes' in e)).toBe(true);
    expect(fromFile.map((e) => e.name).sort()).toEqual(['-dash.txt', '@list.txt', 'a.jpg', 'odd name [1] *?.txt']);
  });

  it('reports encrypted entries and never tries a password', async () => {
    const archive = await sevenZipOf(
      [
        { name: 'a.txt', data: textBytes(100) },
        { name: 'b.txt', data: textBytes(100, 2) },
      ],
      { password: 'not-used-by-ward' },
    );
    const before = sevenZipCounters.extractCalls;
    const entries = await readAll({ bytes: archive }, '7z');
    expect(summary(entries)).toEqual([
      ['a.txt', 'WARD_ERR_ARCHIVE_CORRUPT'],
      ['b.txt', 'WARD_ERR_ARCHIVE_CORRUPT'],
    ]);
    for (const e of entries) {
      expect('error' in e && e.encrypted).toBe(true);
      expect('error' in e && e.error.message).toMatch(/Encrypted/);
    }
    expect(sevenZipCounters.extractCalls).toBe(before);
  });

  it('reports an archive whose names are encrypted too as one encrypted error', async () => {
    const archive = await sevenZipOf([{ name: 'a.txt', data: textBytes(100) }], {
      password: 'not-used-by-ward',
      encryptHeaders: true,
    });
    const entries = await readAll({ bytes: archive }, '7z');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      name: '(archive)',
      encrypted: true,
      error: { code: 'WARD_ERR_ARCHIVE_CORRUPT' },
    });
  });

  it('refuses a bomb from its declared sizes: nothing is decompressed', async () => {
    const bomb = await sevenZipOf(
      [
        { name: 'zeros.bin', data: new Uint8Array(32 * 1024 * 1024) },
        { name: 'small.txt', data: textBytes(1000) },
      ],
      { solid: false },
    );
    expect(bomb.length).toBeLessThan((32 * 1024 * 1024) / 1000); // a real bomb: > 1000:1
    const calls = sevenZipCounters.extractCalls;
    const bytes = sevenZipCounters.extractedBytes;
    const entries = await readAll({ bytes: bomb }, '7z');
    const zeros = entries.find((e) => e.name === 'zeros.bin')!;
    expect('error' in zeros && zeros.error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect('error' in zeros && zeros.error.message).toMatch(/expands .*:1/);
    expect(entries.find((e) => e.name === 'small.txt')).toHaveProperty('size', 1000);
    // One pass of 7-Zip for small.txt, and only its 1,000 bytes came out of it.
    expect(sevenZipCounters.extractCalls - calls).toBe(1);
    expect(sevenZipCounters.extractedBytes - bytes).toBe(1000);

    // In a solid block the bomb and the small file are one stream: both refused, nothing read.
    const solid = await sevenZipOf(
      [
        { name: 'zeros.bin', data: new Uint8Array(32 * 1024 * 1024) },
        { name: 'small.txt', data: textBytes(1000) },
      ],
      { solid: true },
    );
    const before = sevenZipCounters.extractCalls;
    const solidEntries = await readAll({ bytes: solid }, '7z');
    expect(solidEntries.every((e) => 'error' in e && e.error.code === 'WARD_ERR_LIMIT_ARCHIVE')).toBe(true);
    expect(sevenZipCounters.extractCalls).toBe(before);

    // The entry and total limits also apply before decompressing.
    const capped = await readAll({ bytes: bomb }, '7z', { maxEntryBytes: 999, maxRatio: 1_000_000 });
    expect(summary(capped).sort()).toEqual([
      ['small.txt', 'WARD_ERR_LIMIT_ARCHIVE'],
      ['zeros.bin', 'WARD_ERR_LIMIT_ARCHIVE'],
    ]);
  });

  it('keeps the entry-count and total limits', async () => {
    const archive = await sevenZipOf(
      [1, 2, 3, 4].map((i) => ({ name: `f${i}.txt`, data: textBytes(100, i) })),
      { solid: false },
    );
    const few = await readAll({ bytes: archive }, '7z', { maxEntries: 2 });
    expect(summary(few)).toEqual(['f1.txt', 'f2.txt', ['f3.txt', 'WARD_ERR_LIMIT_ARCHIVE']]);
    const total = await readAll({ bytes: archive }, '7z', { maxTotalBytes: 250 });
    expect(summary(total)).toEqual(['f1.txt', 'f2.txt', ['f3.txt', 'WARD_ERR_LIMIT_ARCHIVE']]);
  });

  it('reports a truncated archive, keeping what was read before the damage', async () => {
    const archive = await sevenZipOf([{ name: 'a.txt', data: textBytes(5000) }]);
    const entries = await readAll({ bytes: archive.subarray(0, archive.length - 40) }, '7z');
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect('error' in e && e.error.code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
  });
});

describe('RAR 5 (built from the specification, stored entries)', () => {
  it('reads stored entries exactly and skips folders', async () => {
    const archive = rar5Of([
      { name: 'trip', directory: true },
      { name: 'trip/a.jpg', bytes: jpeg },
      { name: 'b.png', bytes: png },
      { name: 'empty', bytes: new Uint8Array(0) },
    ]);
    expect(sniffArchive(archive)).toBe('rar');
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(summary(entries)).toEqual(['trip/a.jpg', 'b.png', 'empty']);
    expect(entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(Buffer.from((entries[0] as { bytes: Uint8Array }).bytes).equals(jpeg)).toBe(true);
    expect(Buffer.from((entries[1] as { bytes: Uint8Array }).bytes).equals(png)).toBe(true);
  });

  it('keeps good entries around a bad CRC, a short entry and an encrypted one', async () => {
    const archive = rar5Of([
      { name: 'a.txt', bytes: Buffer.from('first') },
      { name: 'bad-crc.txt', bytes: Buffer.from('second'), badCrc: true },
      { name: 'secret.bin', bytes: Buffer.alloc(48, 5), encrypted: true },
      { name: 'short.txt', bytes: Buffer.from('short'), declaredSize: 100 },
      { name: 'z.txt', bytes: Buffer.from('last') },
    ]);
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(summary(entries)).toEqual([
      'a.txt',
      ['bad-crc.txt', 'WARD_ERR_ARCHIVE_CORRUPT'],
      ['secret.bin', 'WARD_ERR_ARCHIVE_CORRUPT'],
      ['short.txt', 'WARD_ERR_ARCHIVE_CORRUPT'],
      'z.txt',
    ]);
    expect(entries[2]).toMatchObject({ encrypted: true });
    expect(Buffer.from((entries[4] as { bytes: Uint8Array }).bytes).toString()).toBe('last');
  });

  it('never holds more than an entry declares', async () => {
    // Six stored bytes behind a header declaring two: at most two bytes are ever kept.
    const archive = rar5Of([{ name: 'liar.txt', bytes: Buffer.from('sixsix'), declaredSize: 2 }]);
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(entries).toHaveLength(1);
    const e = entries[0]!;
    if ('bytes' in e) expect(e.bytes.length).toBeLessThanOrEqual(2);
    else expect(e.error.code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
  });

  it('refuses an entry whose decoder dictionary is over the limit before decompressing', async () => {
    // Method 3 with the largest RAR 5 dictionary field; the data is never decoded.
    const archive = rar5Of([
      { name: 'huge-dict.bin', bytes: Buffer.alloc(64, 1), method: 3, dictionaryLog: 15 },
      { name: 'ok.txt', bytes: Buffer.from('fine') },
    ]);
    const calls = sevenZipCounters.extractedBytes;
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(summary(entries)).toEqual([['huge-dict.bin', 'WARD_ERR_LIMIT_ARCHIVE'], 'ok.txt']);
    expect(sevenZipCounters.extractedBytes - calls).toBe(4);
  });

  it('flags unsafe names and reads repeated names separately', async () => {
    const archive = rar5Of([
      { name: '../escape.txt', bytes: Buffer.from('one') },
      { name: 'same.txt', bytes: Buffer.from('first copy') },
      { name: 'same.txt', bytes: Buffer.from('second copy!') },
    ]);
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(entries.map((e) => [e.name, e.unsafeName ?? false])).toEqual([
      ['../escape.txt', true],
      ['same.txt', false],
      ['same.txt', false],
    ]);
    const texts = entries.map((e) => ('bytes' in e ? Buffer.from(e.bytes).toString() : e.error.code));
    expect(texts).toEqual(['one', 'first copy', 'second copy!']);
  });

  it('reports an archive with encrypted headers as one encrypted error', async () => {
    // The archive encryption header (type 4) right after the mark.
    const good = rar5Of([{ name: 'a.txt', bytes: Buffer.from('x') }]);
    const body = Buffer.from([0x04, 0x00, 0x00, 0x00, 0x0f, ...Buffer.alloc(16, 3)]);
    const { crc32 } = await import('@node-rs/crc32');
    const block = Buffer.concat([Buffer.alloc(4), Buffer.from([body.length]), body]);
    block.writeUInt32LE(crc32(block.subarray(4)), 0);
    const archive = Buffer.concat([good.subarray(0, 8), block, good.subarray(8)]);
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: '(archive)', encrypted: true });
  });
});

describe('RAR 4 (built from the specification, stored entries)', () => {
  it('reads stored entries, reports an encrypted one, and an archive with encrypted headers', async () => {
    const archive = rar4Of([
      { name: 'a.jpg', bytes: jpeg },
      { name: 'locked.txt', bytes: Buffer.from('not really encrypted'), encrypted: true },
      { name: 'dir\\b.txt', bytes: Buffer.from('rar 4') },
    ]);
    expect(sniffArchive(archive)).toBe('rar');
    const entries = await readAll({ bytes: archive }, 'rar');
    expect(entries.map((e) => ('error' in e ? [e.error.code, e.encrypted] : Buffer.from(e.bytes).length))).toEqual([
      jpeg.length,
      ['WARD_ERR_ARCHIVE_CORRUPT', true],
      5,
    ]);
    const locked = await readAll(
      { bytes: rar4Of([{ name: 'a.txt', bytes: Buffer.from('x') }], { encryptedHeaders: true }) },
      'rar',
    );
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ name: '(archive)', encrypted: true });
  });
});

describe('decoder memory', () => {
  it('reads the dictionary and model sizes 7-Zip prints', () => {
    expect(decoderBytes('LZMA2:24m BCJ')).toBe(24 * 1024 ** 2);
    expect(decoderBytes('LZMA:30')).toBe(2 ** 30);
    expect(decoderBytes('PPMD:o6:mem24')).toBe(2 ** 24);
    expect(decoderBytes('PPMD:o32:mem192m')).toBe(192 * 1024 ** 2);
    expect(decoderBytes('v6:m3:4G')).toBe(4 * 1024 ** 3);
    expect(decoderBytes('v6:m0:128K')).toBe(128 * 1024);
    expect(decoderBytes('Copy')).toBe(0);
    expect(decoderBytes('v6:m3:4G')).toBeGreaterThan(MAX_DECODER_BYTES);
  });
});

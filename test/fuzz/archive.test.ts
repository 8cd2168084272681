/**
 * Property tests for the archive reader. Mutated, truncated and random archives (benign generated
 * bytes only) must never throw, hang or break a limit: every entry is bytes within the limits or an
 * error with one of the two archive codes. Honest archives must round-trip exactly.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArchiveEntry, type ArchiveFormat, type ArchiveLimits, readArchive } from '../../src/media/archive.js';
import { gzipOf, noise, tarOf, textBytes, zipOf } from '../helpers/archives.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 200);
const HANG_MS = 10_000;
const CODES = ['WARD_ERR_ARCHIVE_CORRUPT', 'WARD_ERR_LIMIT_ARCHIVE'];
const LIMITS: ArchiveLimits = { maxEntries: 40, maxEntryBytes: 256 * 1024, maxTotalBytes: 1024 * 1024, maxRatio: 1000 };
const FORMATS: ('zip' | 'tar' | 'gzip')[] = ['zip', 'tar', 'gzip'];

const tmp = mkdtempSync(join(tmpdir(), 'ward-archive-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Reads to the end, failing (never hanging) if that takes longer than HANG_MS. */
async function readWithin(
  source: { path: string } | { bytes: Uint8Array },
  format: ArchiveFormat,
  limits: ArchiveLimits = LIMITS,
): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`readArchive(${format}) did not finish in ${HANG_MS} ms`)), HANG_MS);
  });
  const run = (async () => {
    for await (const entry of readArchive(source, format, limits)) entries.push(entry);
  })();
  try {
    await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
  return entries;
}

/** The invariants every read must keep, whatever the input. */
function checkEntries(entries: ArchiveEntry[], limits: ArchiveLimits = LIMITS): void {
  expect(entries.length).toBeLessThanOrEqual(limits.maxEntries + 1);
  let total = 0;
  let last = -1;
  for (const e of entries) {
    expect(typeof e.name).toBe('string');
    expect(Number.isInteger(e.index) && e.index > last).toBe(true);
    last = e.index;
    if (e.unsafeName !== undefined) expect(e.unsafeName).toBe(true);
    if ('bytes' in e) {
      expect(e.bytes).toBeInstanceOf(Uint8Array);
      expect(e.size).toBe(e.bytes.length);
      expect(e.size).toBeLessThanOrEqual(limits.maxEntryBytes);
      total += e.size;
    } else {
      expect(CODES).toContain(e.error.code);
      expect(typeof e.error.message).toBe('string');
      expect(e.error.message.length).toBeGreaterThan(0);
    }
  }
  expect(total).toBeLessThanOrEqual(limits.maxTotalBytes);
}

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

const seeds: { bytes: Buffer; format: ArchiveFormat }[] = [];

beforeAll(async () => {
  const tar = await tarOf([
    { name: 'a.txt', data: textBytes(1500, 1) },
    { name: 'dir', type: 'directory' },
    { name: 'link', type: 'symlink', linkname: 'a.txt' },
    { name: `${'long/'.repeat(30)}b.bin`, data: noise(700, 2) },
    { name: 'empty' },
  ]);
  const innerZip = zipOf([{ name: 'inner.txt', data: textBytes(300, 3) }]);
  seeds.push(
    {
      bytes: zipOf([
        { name: 'a.txt', data: textBytes(2000, 4) },
        { name: 'b.bin', data: noise(600, 5), method: 'store' },
        { name: 'd/' },
        { name: 'inner.zip', data: innerZip },
        { name: 'shared', sameAs: 0 },
      ]),
      format: 'zip',
    },
    { bytes: zipOf([]), format: 'zip' },
    { bytes: tar, format: 'tar' },
    { bytes: gzipOf(tar), format: 'gzip' },
    { bytes: gzipOf(textBytes(5000, 6), { name: 'payload.txt' }), format: 'gzip' },
    { bytes: gzipOf(new Uint8Array(0)), format: 'gzip' },
  );
});

const mutation = fc.record({
  seed: fc.nat(),
  flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  /** Sometimes read with another format than the archive's, as a wrong sniff would. */
  otherFormat: fc.option(fc.constantFrom(...FORMATS), { nil: undefined, freq: 6 }),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(m: Mutation): { bytes: Buffer; format: ArchiveFormat } {
  const seed = seeds[m.seed % seeds.length]!;
  const bytes = Buffer.from(seed.bytes);
  for (const { at, value } of m.flips) bytes[at % bytes.length] = value;
  const cut = m.cut === undefined ? bytes.length : m.cut % (bytes.length + 1);
  return { bytes: bytes.subarray(0, cut), format: m.otherFormat ?? seed.format };
}

describe('readArchive on hostile bytes', () => {
  it('never throws, hangs or breaks a limit on mutated and truncated archives', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const { bytes, format } = mutate(m);
        checkEntries(await readWithin({ bytes }, format));
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws, hangs or breaks a limit on random bytes behind each magic', async () => {
    const magic = { zip: [0x50, 0x4b, 0x03, 0x04], tar: [], gzip: [0x1f, 0x8b, 0x08] } as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FORMATS), fc.uint8Array({ maxLength: 3000 }), async (format, tail) => {
        const bytes = Buffer.concat([Buffer.from(magic[format]), tail]);
        if (format === 'tar' && bytes.length >= 262) bytes.write('ustar', 257, 'latin1');
        checkEntries(await readWithin({ bytes }, format));
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps its limits on every input, whatever they are set to', async () => {
    const limits = fc.record({
      maxEntries: fc.integer({ min: 1, max: 6 }),
      maxEntryBytes: fc.integer({ min: 1, max: 4000 }),
      maxTotalBytes: fc.integer({ min: 1, max: 8000 }),
      maxRatio: fc.integer({ min: 1, max: 50 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, limits, async (m, l) => {
        const { bytes, format } = mutate(m);
        checkEntries(await readWithin({ bytes }, format, l), l);
      }),
      { numRuns: RUNS },
    );
  });

  it('closes the file every time, whatever the damage or the consumer does', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, fc.integer({ min: 0, max: 4 }), async (m, stopAfter) => {
        const { bytes, format } = mutate(m);
        const path = join(tmp, 'fuzz.bin');
        writeFileSync(path, bytes);
        const seen: ArchiveEntry[] = [];
        for await (const entry of readArchive({ path }, format, LIMITS)) {
          seen.push(entry);
          if (seen.length > stopAfter) break;
        }
        checkEntries(seen);
        expect(fdsOn(path)).toBe(0);
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });
});

describe('readArchive on honest archives', () => {
  const names = fc.oneof(
    fc.stringMatching(/^[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/),
    fc.constantFrom('../up', '/abs', 'a/../../b', 'C:\\win', '..', 'x/..'),
  );
  const files = fc.array(
    fc.record({
      name: names.filter((n) => !n.endsWith('/')),
      data: fc.uint8Array({ maxLength: 2000 }),
      store: fc.boolean(),
    }),
    { maxLength: 8 },
  );
  const unsafe = (n: string) =>
    n.startsWith('/') || n.includes('\\') || /^[A-Za-z]:/.test(n) || n.split('/').includes('..');

  it('round-trip: zip and tar give back every file, in order, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(files, async (list) => {
        const expected = list.map((f) => [f.name, Buffer.from(f.data).toString('hex'), unsafe(f.name)]);
        const zip = zipOf(list.map((f) => ({ name: f.name, data: f.data, method: f.store ? 'store' : 'deflate' })));
        const tar = await tarOf(list.map((f) => ({ name: f.name, data: f.data })));
        const cases: [Buffer, ArchiveFormat][] = [
          [zip, 'zip'],
          [tar, 'tar'],
        ];
        // An empty tar is only zero blocks: gzipped, it has no ustar magic and reads as one payload.
        if (list.length > 0) cases.push([gzipOf(tar), 'gzip']);
        for (const [bytes, format] of cases) {
          const entries = await readWithin({ bytes }, format);
          const got = entries.map((e) => [
            e.name,
            'bytes' in e ? Buffer.from(e.bytes).toString('hex') : e.error.code,
            e.unsafeName === true,
          ]);
          expect(got).toEqual(expected);
        }
      }),
      { numRuns: Math.max(30, Math.floor(RUNS / 2)) },
    );
  });
});

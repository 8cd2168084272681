/**
 * The Matcher over a real store: PDQ near-duplicates of benign synthetic scenes, per-bank and
 * overridden distances, negative-bank suppression, weak hashes, dihedral matching, exact digests,
 * and the per-bank index snapshots beside a file database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bank, ParsedEntry } from '../banks/types.js';
import { sceneImage, variant } from '../demo/images.js';
import { WardError } from '../errors.js';
import { hashImage, type ImageHashes } from '../signals/image.js';
import { pdqDistance, pdqToBytes } from '../signals/pdq/distance.js';
import { SqliteStore } from '../store/sqlite.js';
import { Matcher, type MatchSignals, signalsOf } from './matcher.js';
import { loadPdqIndexFile, PdqIndex } from './pdq-index.js';

type Row = [signal: string, value: string, labels?: string[]];

async function* stream(rows: Row[]): AsyncGenerator<ParsedEntry> {
  let line = 0;
  for (const [signal, value, labels = []] of rows) yield { signal, value, labels, line: ++line };
}

async function bank(
  store: SqliteStore,
  name: string,
  rows: Row[],
  options: { kind?: 'block' | 'negative'; pdqDistance?: number } = {},
): Promise<void> {
  if (!store.getBank(name)) store.createBank(name, options);
  const r = await store.importEntries(name, stream(rows));
  expect(r.applied).toBe(true);
}

/** The entry id of a value in a bank. */
function idOf(store: SqliteStore, name: string, value: string): number {
  const e = [...store.entries(name)].find((x) => x.value === value);
  if (!e) throw new Error(`no ${value} in ${name}`);
  return e.id;
}

function signals(h: ImageHashes, withDihedral = false): MatchSignals {
  const { pdqDihedral, ...rest } = signalsOf(h);
  return withDihedral && pdqDihedral ? { ...rest, pdqDihedral } : rest;
}

/**
 * The PDQ snapshot file of a bank version: `<name>#<bank id>@v<version>r<removal seq>.pdq.pdq-mih`
 * (the id keeps a re-created bank from reading a stale one; the removal sequence is the bank's
 * removal log position the snapshot includes).
 */
function snapshotName(store: SqliteStore, name: string, version: number): string {
  const b = store.getBank(name);
  if (!b) throw new Error(`no bank ${name}`);
  return `${name}#${b.id}@v${version}r${store.lastRemovalSeq(b)}.pdq.pdq-mih`;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ward-matcher-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Benign synthetic scenes and their hashes. */
let orig: ImageHashes; // scene 1
let resized: ImageHashes; // scene 1, resized: a few bits away
let far: ImageHashes & { d: number }; // a near-duplicate more than 4 (and at most 31) bits away
let unrelated: ImageHashes; // scene 2
let grey: ImageHashes; // uniform grey: quality 0
let mirrored: ImageHashes; // scene 1 mirrored left-right, with its dihedral hashes
let origDihedral: ImageHashes;
let farOriginal: string; // the original of `far`

beforeAll(async () => {
  const img = await sceneImage(1);
  orig = await hashImage(img);
  origDihedral = await hashImage(img, { dihedral: true });
  resized = await hashImage(await variant(img, 'resized'));
  unrelated = await hashImage(await sceneImage(2));
  // The variant furthest from its original while still within 31 bits.
  let best: { h: ImageHashes; d: number; original: string } | undefined;
  for (const seed of [1, 2, 3]) {
    const base = await sceneImage(seed);
    const baseHash = seed === 1 ? orig : await hashImage(base);
    for (const kind of ['brightened', 'resized'] as const) {
      const h = await hashImage(await variant(base, kind));
      const d = pdqDistance(h.pdq, baseHash.pdq);
      if (d > 4 && d <= 31 && (!best || d > best.d)) best = { h, d, original: baseHash.pdq };
    }
  }
  if (!best) throw new Error('no variant between 5 and 31 bits from its original');
  far = { ...best.h, d: best.d };
  farOriginal = best.original;
  const greyPng = await sharp({
    create: { width: 64, height: 64, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .png()
    .toBuffer();
  grey = await hashImage(greyPng);
  mirrored = await hashImage(await sharp(img).flop().jpeg({ quality: 90 }).toBuffer(), { dihedral: true });
});

describe.each([
  ['in memory', () => SqliteStore.open(':memory:')],
  ['in a file', () => SqliteStore.open(join(tempDir(), 'w.db'))],
])('Matcher over a store %s', (_kind, open) => {
  it('matches a near-duplicate to its original within the bank distance, with every hit field', async () => {
    const store = open();
    await bank(store, 'blk', [['pdq', orig.pdq, ['scene']]]);
    const m = Matcher.open(store);
    expect(m.banks.map((b) => b.name)).toEqual(['blk']);
    const d = pdqDistance(orig.pdq, resized.pdq);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(31);
    const r = m.match(signals(resized));
    expect(r).toEqual({
      matches: [
        {
          bank: 'blk',
          signal: 'pdq',
          value: orig.pdq,
          distance: d,
          entryId: idOf(store, 'blk', orig.pdq),
          labels: ['scene'],
        },
      ],
      suppressedBy: [],
      suppressed: [],
      skipped: [],
    });
    expect(m.match(signals(orig)).matches.map((x) => x.distance)).toEqual([0]);
    expect(pdqDistance(orig.pdq, unrelated.pdq)).toBeGreaterThan(31);
    expect(m.match(signals(unrelated))).toEqual({ matches: [], suppressedBy: [], suppressed: [], skipped: [] });
    store.close();
  });

  it("uses each bank's own PDQ distance; the distance option overrides them all", async () => {
    const store = open();
    await bank(store, 'tight', [['pdq', farOriginal]], { pdqDistance: 4 });
    await bank(store, 'loose', [['pdq', farOriginal]], { pdqDistance: 31 });
    const m = Matcher.open(store);
    const q = { pdq: far.pdq, quality: far.quality };
    expect(m.match(q).matches.map((x) => [x.bank, x.distance])).toEqual([['loose', far.d]]);
    const both = (distance: number) =>
      m
        .match(q, { distance })
        .matches.map((x) => x.bank)
        .sort();
    expect(both(31)).toEqual(['loose', 'tight']);
    expect(both(far.d)).toEqual(['loose', 'tight']);
    expect(both(far.d - 1)).toEqual([]);
    expect(both(0)).toEqual([]);
    store.close();
  });

  it('a negative PDQ match suppresses block PDQ matches, not a block md5 match', async () => {
    const store = open();
    await bank(store, 'blk', [
      ['pdq', orig.pdq, ['b']],
      ['md5', orig.md5, ['b']],
    ]);
    await bank(
      store,
      'fp',
      [
        ['pdq', resized.pdq, ['known-fp']],
        ['pdq', unrelated.pdq],
      ],
      { kind: 'negative' },
    );
    const m = Matcher.open(store);
    const r = m.match(signals(orig));
    expect(r.matches).toEqual([
      {
        bank: 'blk',
        signal: 'md5',
        value: orig.md5,
        distance: 0,
        entryId: idOf(store, 'blk', orig.md5),
        labels: ['b'],
      },
    ]);
    expect(r.suppressed).toEqual([
      {
        bank: 'blk',
        signal: 'pdq',
        value: orig.pdq,
        distance: 0,
        entryId: idOf(store, 'blk', orig.pdq),
        labels: ['b'],
      },
    ]);
    expect(r.suppressedBy).toEqual([
      {
        bank: 'fp',
        signal: 'pdq',
        value: resized.pdq,
        distance: pdqDistance(orig.pdq, resized.pdq),
        entryId: idOf(store, 'fp', resized.pdq),
        labels: ['known-fp'],
      },
    ]);
    // Without the md5 the item has no standing match.
    const pdqOnly = m.match({ pdq: orig.pdq, quality: orig.quality });
    expect(pdqOnly.matches).toEqual([]);
    expect(pdqOnly.suppressed.map((x) => x.signal)).toEqual(['pdq']);
    expect(pdqOnly.suppressedBy.map((x) => x.bank)).toEqual(['fp']);
    // A negative match that suppresses nothing is not reported.
    expect(m.match(signals(unrelated))).toEqual({ matches: [], suppressedBy: [], suppressed: [], skipped: [] });
    store.close();
  });

  it('a negative exact (md5) match suppresses every block match', async () => {
    const store = open();
    await bank(store, 'blk', [
      ['pdq', orig.pdq],
      ['md5', orig.md5],
      ['sha256', orig.sha256],
    ]);
    await bank(store, 'same-file', [['md5', orig.md5, ['benign']]], { kind: 'negative' });
    const m = Matcher.open(store);
    const r = m.match(signals(orig));
    expect(r.matches).toEqual([]);
    expect(r.suppressed.map((x) => x.signal).sort()).toEqual(['md5', 'pdq', 'sha256']);
    expect(r.suppressedBy).toEqual([
      {
        bank: 'same-file',
        signal: 'md5',
        value: orig.md5,
        distance: 0,
        entryId: idOf(store, 'same-file', orig.md5),
        labels: ['benign'],
      },
    ]);
    // A near-duplicate (another file) is not suppressed by the exact negative.
    expect(m.match(signals(resized)).matches.map((x) => x.signal)).toEqual(['pdq']);
    // With only the negative bank loaded, nothing is matched and nothing suppressed.
    expect(Matcher.open(store, { banks: ['same-file'] }).match(signals(orig))).toEqual({
      matches: [],
      suppressedBy: [],
      suppressed: [],
      skipped: [],
    });
    store.close();
  });

  it('skips PDQ hashes of quality < 50 unless includeWeak', async () => {
    expect(grey.quality).toBe(0);
    const store = open();
    await bank(store, 'blk', [['pdq', grey.pdq]]);
    await bank(store, 'exact', [['md5', grey.md5]]);
    const m = Matcher.open(store);
    const r = m.match(signals(grey));
    expect(r.skipped).toEqual(['pdq: quality 0 < 50']);
    // The exact digest is still matched.
    expect(r.matches.map((x) => [x.bank, x.signal])).toEqual([['exact', 'md5']]);
    const weak = m.match(signals(grey), { includeWeak: true });
    expect(weak.skipped).toEqual([]);
    expect(weak.matches.map((x) => [x.bank, x.signal, x.distance]).sort()).toEqual([
      ['blk', 'pdq', 0],
      ['exact', 'md5', 0],
    ]);
    // Quality exactly 50 is not weak; a missing quality counts as good.
    expect(m.match({ pdq: grey.pdq, quality: 50 }).matches).toHaveLength(1);
    expect(m.match({ pdq: grey.pdq, quality: 49 }).matches).toHaveLength(0);
    expect(m.match({ pdq: grey.pdq }).matches).toHaveLength(1);
    store.close();
  });

  it('dihedral matching finds a mirrored copy and reports the transform', async () => {
    const store = open();
    await bank(store, 'blk', [['pdq', orig.pdq, ['scene']]]);
    const m = Matcher.open(store);
    expect(mirrored.pdqDihedral).toHaveLength(8);
    expect(pdqDistance(mirrored.pdq, orig.pdq)).toBeGreaterThan(31);
    expect(m.match(signals(mirrored, true)).matches).toEqual([]);
    const r = m.match(signals(mirrored, true), { dihedral: true });
    expect(r.matches).toHaveLength(1);
    // sharp's flop() mirrors left-right; the reference (and DIHEDRAL_NAMES) calls that flipY.
    expect(r.matches[0]).toMatchObject({ bank: 'blk', signal: 'pdq', value: orig.pdq, transform: 'flipY' });
    const d = r.matches[0]?.distance as number;
    expect(d).toBe(pdqDistance(mirrored.pdqDihedral?.[5] as string, orig.pdq));
    expect(d).toBeLessThanOrEqual(31);
    // The original itself: transform "original" at distance 0.
    expect(m.match(signals(origDihedral, true), { dihedral: true }).matches).toEqual([
      {
        bank: 'blk',
        signal: 'pdq',
        value: orig.pdq,
        distance: 0,
        entryId: idOf(store, 'blk', orig.pdq),
        labels: ['scene'],
        transform: 'original',
      },
    ]);
    // Without the dihedral hashes, dihedral matching falls back to the hash alone (no transform).
    const plain = m.match(signals(orig), { dihedral: true });
    expect(plain.matches).toHaveLength(1);
    expect(plain.matches[0]).not.toHaveProperty('transform');
    store.close();
  });

  it('matches md5, sha1 and sha256 exactly at distance 0 (any case)', async () => {
    const store = open();
    const bytes = randomBytes(1000);
    const dg = (alg: string) => createHash(alg).update(bytes).digest('hex');
    await bank(store, 'digests', [
      ['md5', dg('md5'), ['m']],
      ['sha1', dg('sha1'), ['s1']],
      ['sha256', dg('sha256'), ['s256']],
    ]);
    const m = Matcher.open(store);
    const r = m.match({ md5: dg('md5'), sha1: dg('sha1').toUpperCase(), sha256: dg('sha256') });
    expect(r.matches.map((x) => [x.signal, x.value, x.distance, x.labels])).toEqual([
      ['md5', dg('md5'), 0, ['m']],
      ['sha1', dg('sha1'), 0, ['s1']],
      ['sha256', dg('sha256'), 0, ['s256']],
    ]);
    expect(m.match({ sha1: dg('sha1') }).matches.map((x) => x.signal)).toEqual(['sha1']);
    // One bit off is no match for an exact signal.
    const off = (dg('md5').startsWith('0') ? '1' : '0') + dg('md5').slice(1);
    expect(m.match({ md5: off }).matches).toEqual([]);
    // A sha256 value is not looked up as a PDQ hash, nor the other way round.
    expect(m.match({ pdq: dg('sha256') }, { distance: 0 }).matches).toEqual([]);
    store.close();
  });

  it('confirms a compact-index candidate against the stored value: the same first 160 bits are not a match', async () => {
    const store = open();
    const a = createHash('sha256').update('a').digest('hex');
    const twin = a.slice(0, 40) + (a[40] === '0' ? '1' : '0') + a.slice(41); // differs after bit 160
    await bank(store, 'exact', [['sha256', a, ['a']]]);
    const m = Matcher.open(store, { snapshotDir: null });
    expect(m.hits({ sha256: twin }).hits.size).toBe(1); // the index's candidate...
    expect(m.match({ sha256: twin }).matches).toEqual([]); // ...is not the entry
    expect(m.match({ sha256: a }).matches.map((x) => x.value)).toEqual([a]);
    store.close();
  });

  it('matches the prefix forms tools print (AutoV2, 12-hex AutoV3) against full values in the bank', async () => {
    const store = open();
    const sha = createHash('sha256').update(randomBytes(100)).digest('hex');
    const v3 = createHash('sha256').update(randomBytes(100)).digest('hex');
    await bank(store, 'models', [
      ['sha256', sha, ['lora']],
      ['autov3', v3, ['lora']],
    ]);
    const m = Matcher.open(store);
    // An image's metadata names the LoRA by AutoV2 (first 10 hex of its SHA-256) and a 12-hex AutoV3.
    expect(m.match({ autov2: sha.slice(0, 10) }).matches.map((x) => [x.signal, x.value])).toEqual([['sha256', sha]]);
    expect(m.match({ autov3: v3.slice(0, 12).toUpperCase() }).matches.map((x) => [x.signal, x.value])).toEqual([
      ['autov3', v3],
    ]);
    // Other lengths and other prefixes do not match.
    expect(m.match({ autov2: sha.slice(1, 11) }).matches).toEqual([]);
    expect(m.match({ autov3: v3.slice(0, 11) }).matches).toEqual([]);
    store.close();
  });

  it('loads only the banks asked for; an unknown bank is WARD_ERR_BANK_NOT_FOUND', async () => {
    const store = open();
    await bank(store, 'a', [['pdq', orig.pdq]]);
    await bank(store, 'b', [['pdq', orig.pdq]]);
    expect(
      Matcher.open(store, { banks: ['b'] })
        .match(signals(orig))
        .matches.map((x) => x.bank),
    ).toEqual(['b']);
    expect(
      Matcher.open(store)
        .match(signals(orig))
        .matches.map((x) => x.bank),
    ).toEqual(['a', 'b']);
    let code: string | undefined;
    try {
      Matcher.open(store, { banks: ['a', 'nope'] });
    } catch (e) {
      code = WardError.is(e) ? e.code : 'not a WardError';
    }
    expect(code).toBe('WARD_ERR_BANK_NOT_FOUND');
    store.close();
  });
});

describe('index snapshots beside a file database', () => {
  /** A file store with a bank of the scene plus some random PDQ hashes. */
  async function fileStore(extra = 200): Promise<{ store: SqliteStore; path: string; snap: (v: number) => string }> {
    const path = join(tempDir(), 'w.db');
    const store = SqliteStore.open(path);
    const rows: Row[] = [['pdq', orig.pdq, ['scene']]];
    for (let i = 0; i < extra; i++) rows.push(['pdq', randomBytes(32).toString('hex')]);
    rows.push(['md5', orig.md5]);
    store.createBank('zero');
    await bank(store, 'blk', rows);
    const id = store.getBank('blk')?.id;
    const seq = store.lastRemovalSeq(store.getBank('blk') as Bank);
    return { store, path, snap: (v) => join(`${path}.index`, `blk#${id}@v${v}r${seq}.pdq.pdq-mih`) };
  }

  const summary = (m: Matcher, h: ImageHashes) =>
    m.match(signals(h)).matches.map((x) => [x.bank, x.signal, x.value, x.distance, x.entryId]);

  it('writes <db>.index/<bank>#<id>@v<version>r<seq>.pdq.pdq-mih and loads it on reopen, with the same results', async () => {
    const { store, path, snap } = await fileStore();
    expect(existsSync(snap(1))).toBe(false);
    const first = Matcher.open(store);
    expect(existsSync(snap(1))).toBe(true);
    // One snapshot per signal type a bank has entries of (blk: pdq; its md5 index kind has no
    // snapshots yet; the empty bank none).
    expect(readdirSync(`${path}.index`).sort()).toEqual([
      snapshotName(store, 'blk', 1).replace('.pdq.pdq-mih', '.md5.exact-sorted'),
      snapshotName(store, 'blk', 1),
    ]);
    const before = statSync(snap(1));
    const want = summary(first, resized);
    const wantOrig = summary(first, orig);
    expect(want).toHaveLength(1);
    expect(wantOrig).toHaveLength(2);
    store.close();

    const reopened = SqliteStore.open(path);
    const second = Matcher.open(reopened);
    // Loaded, not rebuilt: a rebuild renames a new file into place.
    const after = statSync(snap(1));
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size]);
    expect(summary(second, resized)).toEqual(want);
    expect(summary(second, orig)).toEqual(wantOrig);
    reopened.close();
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    ['empty', () => Buffer.alloc(0)],
    ['a flipped hash byte', (b: Buffer) => flip(b, 24 + 5)],
    ['a flipped id byte', (b: Buffer) => flip(b, b.length - 3)],
    ['a flipped checksum byte', (b: Buffer) => flip(b, 21)],
    ['wrong magic', (b: Buffer) => flip(b, 0)],
    ['one byte too many', (b: Buffer) => Buffer.concat([b, Buffer.from([0])])],
  ])('rebuilds a snapshot with %s transparently, with the same results', async (_what, damage) => {
    const { store, path, snap } = await fileStore();
    const want = summary(Matcher.open(store), resized);
    const good = readFileSync(snap(1));
    writeFileSync(snap(1), damage(Buffer.from(good)));
    expect(() => PdqIndex.load(readFileSync(snap(1)))).toThrow(/snapshot/i);
    store.close();

    const reopened = SqliteStore.open(path);
    expect(summary(Matcher.open(reopened), resized)).toEqual(want);
    // The damaged file was replaced by a good one.
    expect(readFileSync(snap(1)).equals(good)).toBe(true);
    reopened.close();
  });

  it('after an import (version bump) uses a new snapshot and finds the new entries', async () => {
    const { store, path, snap } = await fileStore();
    const m1 = Matcher.open(store);
    expect(m1.match(signals(unrelated)).matches).toEqual([]);
    await bank(store, 'blk', [['pdq', unrelated.pdq, ['new']]]);
    expect(store.getBank('blk')?.version).toBe(2);
    const m2 = Matcher.open(store);
    expect(existsSync(snap(2))).toBe(true);
    expect(existsSync(snap(1))).toBe(false);
    expect(m2.match(signals(unrelated)).matches).toEqual([
      {
        bank: 'blk',
        signal: 'pdq',
        value: unrelated.pdq,
        distance: 0,
        entryId: idOf(store, 'blk', unrelated.pdq),
        labels: ['new'],
      },
    ]);
    expect(summary(m2, resized)).toEqual(summary(m1, resized));
    store.close();
    // And from the snapshot after a reopen.
    const reopened = SqliteStore.open(path);
    expect(
      Matcher.open(reopened)
        .match(signals(unrelated))
        .matches.map((x) => x.value),
    ).toEqual([unrelated.pdq]);
    reopened.close();
  });

  it('after --replace removes entries, they are no longer matched', async () => {
    const { store } = await fileStore(10);
    expect(Matcher.open(store).match(signals(orig)).matches).toHaveLength(2);
    const r = await store.importEntries('blk', stream([['pdq', unrelated.pdq]]), { replace: true });
    expect(r.deleted).toBe(12);
    const m = Matcher.open(store);
    expect(m.match(signals(orig)).matches).toEqual([]);
    expect(m.match(signals(unrelated)).matches).toHaveLength(1);
    store.close();
  });

  it('does not write snapshots with snapshotDir null, and writes them where snapshotDir says', async () => {
    const { store, path } = await fileStore(5);
    Matcher.open(store, { snapshotDir: null });
    expect(existsSync(`${path}.index`)).toBe(false);
    const elsewhere = join(tempDir(), 'snaps');
    const m = Matcher.open(store, { snapshotDir: elsewhere });
    expect(readdirSync(elsewhere).sort()).toEqual([
      snapshotName(store, 'blk', 1).replace('.pdq.pdq-mih', '.md5.exact-sorted'),
      snapshotName(store, 'blk', 1),
    ]);
    expect(summary(m, resized)).toHaveLength(1);
    store.close();
  });

  // REGRESSION: snapshots were keyed by bank name and version only. A bank deleted and created
  // again under the same name starts over at version 0, so its first import is version 1 again,
  // and Matcher.open loaded the deleted bank's `<name>@v1.pdq`: the new bank's PDQ entries were
  // never matched. Snapshot names now carry the bank id, which is never reused.
  it('REGRESSION: a bank removed and created again under the same name does not read the old snapshot', async () => {
    const { store } = await fileStore(3);
    expect(Matcher.open(store).match(signals(orig)).matches).toHaveLength(2);
    const oldId = store.getBank('blk')?.id;
    store.deleteBank('blk');
    store.createBank('blk');
    expect(store.getBank('blk')?.id).not.toBe(oldId);
    await bank(store, 'blk', [['pdq', unrelated.pdq, ['new']]]);
    expect(store.getBank('blk')?.version).toBe(1);
    const m = Matcher.open(store);
    expect(m.match(signals(unrelated)).matches.map((x) => [x.bank, x.value])).toEqual([['blk', unrelated.pdq]]);
    expect(m.match(signals(orig)).matches).toEqual([]);
    store.close();
  });
});

describe('REGRESSION: PdqIndex.load from a Buffer view', () => {
  // PdqIndex.load once read the ids from offset 0 of the Buffer's underlying ArrayBuffer. Node
  // Buffers (readFileSync, slices of a pool) are often views into a larger ArrayBuffer, so the
  // ids came out wrong. These tests load real snapshots through such views.
  it('loads a Matcher snapshot read with readFileSync and a copy at an odd offset, with the right ids', async () => {
    const path = join(tempDir(), 'w.db');
    const store = SqliteStore.open(path);
    const rows: Row[] = [];
    for (let i = 0; i < 300; i++) rows.push(['pdq', randomBytes(32).toString('hex'), [`n${i}`]]);
    rows.push(['pdq', orig.pdq]);
    store.createBank('filler');
    await bank(store, 'blk', rows);
    Matcher.open(store);
    const file = join(`${path}.index`, snapshotName(store, 'blk', 1));
    // The Matcher's snapshot is an index image (loadPdqIndexFile); its serialize() form is what
    // PdqIndex.load reads from memory.
    const fromFile = Buffer.from(loadPdqIndexFile(file).serialize());
    const host = Buffer.alloc(fromFile.length + 11, 0xee);
    fromFile.copy(host, 3);
    const view = host.subarray(3, 3 + fromFile.length);
    expect(view.byteOffset).toBe(3);
    const entries = [...store.entries('blk')];
    for (const bytes of [fromFile, view]) {
      const index = PdqIndex.load(bytes);
      expect(index.size).toBe(301);
      for (const e of [entries[0], entries[150], entries[300]]) {
        const hits = index.query(pdqToBytes(e?.value as string), 0);
        expect(hits).toContainEqual({ id: e?.id, distance: 0 });
      }
    }
    // Reopening the Matcher goes through the same readFileSync path.
    store.close();
    const reopened = SqliteStore.open(path);
    const r = Matcher.open(reopened).match(signals(orig), { distance: 0 });
    expect(r.matches.map((x) => [x.entryId, x.value])).toEqual([[idOf(reopened, 'blk', orig.pdq), orig.pdq]]);
    reopened.close();
  });

  it('loads a snapshot larger than one tail (70,000 entries, built as a segment) from a view', async () => {
    const store = SqliteStore.open(':memory:');
    store.createBank('filler');
    const N = 70_000;
    const pool = randomBytes(32 * N).toString('hex');
    async function* gen(): AsyncGenerator<ParsedEntry> {
      for (let i = 0; i < N; i++)
        yield { signal: 'pdq', value: pool.slice(i * 64, i * 64 + 64), labels: [], line: i + 1 };
    }
    store.createBank('big');
    await store.importEntries('big', gen());
    const dir = tempDir();
    Matcher.open(store, { snapshotDir: dir });
    const fromFile = Buffer.from(loadPdqIndexFile(join(dir, snapshotName(store, 'big', 1))).serialize());
    const host = Buffer.alloc(fromFile.length + 5);
    fromFile.copy(host, 1);
    const index = PdqIndex.load(host.subarray(1, 1 + fromFile.length));
    expect(index.size).toBe(N);
    const ids = new Map([...store.values('big', 'pdq')].map(([id, v]) => [v, id]));
    for (const i of [0, 1, 12_345, 65_535, 65_536, N - 1]) {
      const value = pool.slice(i * 64, i * 64 + 64);
      expect(index.query(pdqToBytes(value), 0)).toContainEqual({ id: ids.get(value), distance: 0 });
    }
    store.close();
  }, 60_000);
});

function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at] = (out[at] as number) ^ 0xff;
  return out;
}

describe('snapshots brought up to date instead of rebuilt', () => {
  it('applies adds and removals since an older snapshot, and answers as a fresh build', async () => {
    const db = join(tempDir(), 'w.db');
    const store = SqliteStore.open(db);
    const hex = (): string => randomBytes(32).toString('hex');
    const first: Row[] = Array.from({ length: 300 }, () => ['pdq', hex()]);
    await bank(store, 'inc', first);
    Matcher.open(store); // writes the v1 snapshot
    const v1 = snapshotName(store, 'inc', 1);
    expect(existsSync(join(`${db}.index`, v1))).toBe(true);

    // v2: 50 added; v3: --replace keeps 200 of the first and the 50 new ones.
    const added: Row[] = Array.from({ length: 50 }, () => ['pdq', hex()]);
    await bank(store, 'inc', added);
    const kept = [...first.slice(0, 200), ...added];
    const r = await store.importEntries('inc', stream(kept), { replace: true });
    expect([r.deleted, store.getBank('inc')?.version]).toEqual([100, 3]);

    const updated = Matcher.open(store); // from the v1 snapshot plus the changes
    const files = readdirSync(`${db}.index`);
    expect(files).toContain(snapshotName(store, 'inc', 3));
    expect(files).not.toContain(v1);
    const fresh = Matcher.open(store, { snapshotDir: null });
    for (const [, value] of [...first, ...added]) {
      const a = updated.match({ pdq: value }, { distance: 0 }).matches.map((m) => m.entryId);
      const b = fresh.match({ pdq: value }, { distance: 0 }).matches.map((m) => m.entryId);
      expect(a).toEqual(b);
    }
    expect(updated.match({ pdq: first[250]?.[1] as string }, { distance: 0 }).matches).toEqual([]);
    expect(updated.match({ pdq: added[10]?.[1] as string }, { distance: 0 }).matches).toHaveLength(1);
    store.close();
  });
});

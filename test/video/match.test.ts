/**
 * vPDQ matching: the rule (quality ≥ 50 on both sides, distinct hashes, frames within 31 bits
 * inclusive, both percentages against thresholds), the index against the brute-force reference,
 * the Matcher over a store with negative-bank suppression, and the speed of a large bank.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParsedEntry } from '../../src/banks/types.js';
import { Matcher } from '../../src/match/matcher.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { compactFrames, matchVpdq, VpdqIndex } from '../../src/video/match.js';
import { toCompact } from '../../src/video/vpdq.js';

type Frame = { pdq: string; quality: number };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** `hash` with its first `bits` bits flipped. */
function flip(hash: string, bits: number): string {
  const b = Buffer.from(hash, 'hex');
  for (let i = 0; i < bits; i++) b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
  return b.toString('hex');
}
const random = (): string => randomBytes(32).toString('hex');
const video = (n: number, quality = 100): Frame[] => Array.from({ length: n }, () => ({ pdq: random(), quality }));

describe('the vPDQ match rule (python-threatexchange)', () => {
  const a = video(10);

  it('matches frames within 31 bits, inclusive', () => {
    const at31 = a.map((f) => ({ ...f, pdq: flip(f.pdq, 31) }));
    const at32 = a.map((f) => ({ ...f, pdq: flip(f.pdq, 32) }));
    expect(matchVpdq(at31, a)).toEqual({
      match: true,
      queryMatchPercent: 100,
      comparedMatchPercent: 100,
      distance: 31,
    });
    expect(matchVpdq(at32, a).queryMatchPercent).toBe(0);
    expect(matchVpdq(at32, a, { distance: 32 }).match).toBe(true);
  });

  it('ignores frames below quality 50 on both sides, and counts each distinct hash once', () => {
    const weak = a.map((f, i) => ({ ...f, quality: i < 5 ? 49 : 50 }));
    // Only frames 5-9 take part in the query; all of them match.
    expect(matchVpdq(weak, a)).toMatchObject({ queryMatchPercent: 100, comparedMatchPercent: 50 });
    const repeated = [...a.slice(0, 2), ...Array.from({ length: 8 }, () => a[0] as Frame)];
    // 2 distinct frames, both in `a`: 100% of the query, 20% of `a`.
    expect(matchVpdq(repeated, a)).toMatchObject({ match: true, queryMatchPercent: 100, comparedMatchPercent: 20 });
    expect(matchVpdq(video(3, 10), a)).toEqual({
      match: false,
      queryMatchPercent: 0,
      comparedMatchPercent: 0,
      distance: 256,
    });
  });

  it('needs both percentages to reach their thresholds (80% of the query, 0% of the other by default)', () => {
    const q = [...a.slice(0, 8), ...video(2)]; // 80% of the query is in a
    expect(matchVpdq(q, a)).toMatchObject({ match: true, queryMatchPercent: 80, comparedMatchPercent: 80 });
    const q2 = [...a.slice(0, 7), ...video(3)];
    expect(matchVpdq(q2, a)).toMatchObject({ match: false, queryMatchPercent: 70 });
    expect(matchVpdq(q2, a, { queryMatchPercent: 70 }).match).toBe(true);
    expect(matchVpdq(a.slice(0, 5), a, { comparedMatchPercent: 60 }).match).toBe(false);
    expect(matchVpdq(a.slice(0, 5), a, { comparedMatchPercent: 50 }).match).toBe(true);
  });
});

describe('VpdqIndex', () => {
  // Videos built from a small pool of base frames with a few flipped bits, so that frames of
  // different videos often fall within or just outside the distance.
  const pool = Array.from({ length: 6 }, random);
  const frameArb = fc.record({
    base: fc.integer({ min: 0, max: pool.length - 1 }),
    bits: fc.integer({ min: 0, max: 48 }),
    quality: fc.constantFrom(0, 30, 49, 50, 80, 100),
  });
  const videoArb = fc
    .array(frameArb, { minLength: 0, maxLength: 12 })
    .map((fs) => fs.map((f) => ({ pdq: flip(pool[f.base] as string, f.bits), quality: f.quality })));

  it('answers exactly what the brute-force rule says, for any thresholds', () => {
    fc.assert(
      fc.property(
        fc.array(videoArb, { minLength: 1, maxLength: 8 }),
        videoArb,
        fc.integer({ min: 0, max: 40 }),
        fc.constantFrom(0, 50, 80, 100),
        fc.constantFrom(0, 30, 100),
        (videos, query, distance, queryMatchPercent, comparedMatchPercent) => {
          const options = { distance, queryMatchPercent, comparedMatchPercent };
          const index = VpdqIndex.build(videos.map((v, i) => [i + 1, v] as const));
          const got = index.query(query, options);
          const want = videos
            .map((v, i) => ({ id: i + 1, ...matchVpdq(query, v, options) }))
            .filter((m) => m.match)
            .sort((x, y) => y.queryMatchPercent - x.queryMatchPercent || x.id - y.id);
          expect(got).toEqual(want);
          // The same through add() one by one.
          const added = new VpdqIndex();
          for (const [i, v] of videos.entries()) added.add(i + 1, v);
          expect(added.query(query, options)).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('adds and removes videos', () => {
    const a = video(5);
    const b = video(5);
    const index = new VpdqIndex();
    expect(index.add(1, a)).toBe(true);
    expect(index.add(2, b)).toBe(true);
    expect(index.add(3, video(4, 20))).toBe(false); // nothing matchable: not indexed
    expect(index.add(1, b)).toBe(false);
    expect(index.size).toBe(2);
    expect(index.query(a).map((m) => m.id)).toEqual([1]);
    expect(index.remove(1)).toBe(true);
    expect(index.query(a)).toEqual([]);
    expect(index.query(b).map((m) => m.id)).toEqual([2]);
    expect(index.frames).toBe(5);
  });

  it('reads stored compact values without building frame objects, and the same as the parser', () => {
    const frames = video(4).map((f, i) => ({ ...f, quality: i * 30, seconds: i }));
    expect(compactFrames(toCompact(frames))).toEqual(frames.map(({ pdq, quality }) => ({ pdq, quality })));
  });

  it('answers a bank of 20,000 videos of 60 frames in milliseconds', () => {
    const all = Buffer.from(randomBytes(20_000 * 60 * 32));
    const videos: [number, Frame[]][] = [];
    for (let v = 0; v < 20_000; v++) {
      const frames: Frame[] = [];
      for (let f = 0; f < 60; f++)
        frames.push({ pdq: hex(all.subarray((v * 60 + f) * 32, (v * 60 + f + 1) * 32)), quality: 100 });
      videos.push([v + 1, frames]);
    }
    const index = VpdqIndex.build(videos);
    expect(index.frames).toBe(1_200_000);
    const target = videos[12_345] as [number, Frame[]];
    const query = target[1].map((f) => ({ ...f, pdq: flip(f.pdq, 12) }));
    index.query(query); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const found = index.query(query);
      times.push(performance.now() - t);
      expect(found).toEqual([
        { id: 12_346, match: true, queryMatchPercent: 100, comparedMatchPercent: 100, distance: 12 },
      ]);
    }
    // 60 index probes; typically a few ms (a loaded CI machine gets a wide margin).
    expect(Math.min(...times)).toBeLessThan(200);
  });
});

async function* rows(list: [string, string, string[]?][]): AsyncGenerator<ParsedEntry> {
  let line = 0;
  for (const [signal, value, labels = []] of list) yield { signal, value, labels, line: ++line };
}

describe('Matcher with vpdq banks', () => {
  it('reports video matches with both percentages, and negative banks suppress them', async () => {
    const store = SqliteStore.open(':memory:');
    try {
      const known = video(10).map((f, i) => ({ ...f, seconds: i }));
      const meme = video(10).map((f, i) => ({ ...f, seconds: i }));
      const mixed = [...known.slice(0, 9), ...meme.slice(0, 1)].map((f) => ({ ...f, pdq: flip(f.pdq, 5) }));
      store.createBank('videos');
      store.createBank('memes', { kind: 'negative' });
      await store.importEntries(
        'videos',
        rows([
          ['vpdq', toCompact(known), ['stand-in']],
          ['vpdq', toCompact(meme)],
        ]),
      );
      await store.importEntries('memes', rows([['vpdq', toCompact(meme)]]));
      const matcher = Matcher.open(store, { snapshotDir: null });
      const r = matcher.match({ vpdq: mixed });
      expect(r.matches).toEqual([
        expect.objectContaining({
          bank: 'videos',
          signal: 'vpdq',
          value: toCompact(known),
          distance: 5,
          labels: ['stand-in'],
          queryMatchPercent: 90,
          comparedMatchPercent: 90,
        }),
      ]);
      // The meme video is 10% of the query, under the default 80%; at 10% it matches, in both
      // banks, and the negative match suppresses the block matches.
      const low = matcher.match({ vpdq: mixed }, { vpdqQueryPercent: 10 });
      expect(low.matches).toEqual([]);
      // Suppressed hits are ordered by distance, which depends on the random frames: compare as a set.
      expect(low.suppressed.map((h) => h.queryMatchPercent).sort((a, b) => (b ?? 0) - (a ?? 0))).toEqual([90, 10]);
      // A copy of the meme matches both banks: the negative one suppresses the block match.
      const m = matcher.match({ vpdq: meme });
      expect(m.matches).toEqual([]);
      expect(m.suppressed.map((h) => h.signal)).toEqual(['vpdq']);
      expect(m.suppressedBy).toEqual([expect.objectContaining({ bank: 'memes', queryMatchPercent: 100 })]);
      // Weak frames only: nothing to match, and said so.
      expect(matcher.match({ vpdq: known.map((f) => ({ ...f, quality: 10 })) }).skipped).toEqual([
        'vpdq: no frame of quality ≥ 50',
      ]);
      // The bank's PDQ distance applies to frames.
      expect(matcher.match({ vpdq: mixed }, { distance: 4 }).matches).toEqual([]);
    } finally {
      store.close();
    }
  });
});

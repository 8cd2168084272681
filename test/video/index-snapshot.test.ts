/**
 * VpdqIndex snapshots: an index built, changed (adds, removes) and then serialized loads to one
 * that answers exactly what the brute-force rule says; damaged bytes only ever give
 * WARD_ERR_INDEX_SNAPSHOT. Needs the WebAssembly kernel: `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { vpdqIndexKind } from '../../src/video/index-kind.js';
import { matchVpdq, VpdqIndex } from '../../src/video/match.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 100);
type Frame = { pdq: string; quality: number };

function flip(hash: string, bits: number): string {
  const b = Buffer.from(hash, 'hex');
  for (let i = 0; i < bits; i++) b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
  return b.toString('hex');
}
const pool = Array.from({ length: 6 }, () => randomBytes(32).toString('hex'));
const frameArb = fc.record({
  base: fc.integer({ min: 0, max: pool.length - 1 }),
  bits: fc.integer({ min: 0, max: 48 }),
  quality: fc.constantFrom(0, 30, 50, 80, 100),
});
const videoArb = fc
  .array(frameArb, { minLength: 0, maxLength: 10 })
  .map((fs): Frame[] => fs.map((f) => ({ pdq: flip(pool[f.base] as string, f.bits), quality: f.quality })));

function tryLoad(bytes: Uint8Array): VpdqIndex | 'WARD_ERR_INDEX_SNAPSHOT' {
  try {
    return VpdqIndex.load(bytes);
  } catch (e) {
    if (WardError.is(e) && e.code === 'WARD_ERR_INDEX_SNAPSHOT') return e.code;
    throw new Error(`VpdqIndex.load threw something else: ${String(e)}`, { cause: e });
  }
}

describe('VpdqIndex snapshots', () => {
  it('a changed index, serialized and loaded, answers as the brute-force rule', () => {
    fc.assert(
      fc.property(
        fc.array(videoArb, { minLength: 1, maxLength: 8 }),
        fc.array(videoArb, { maxLength: 3 }),
        fc.array(fc.nat({ max: 10 }), { maxLength: 3 }),
        videoArb,
        fc.integer({ min: 0, max: 40 }),
        (videos, later, gone, query, distance) => {
          const live = new Map(videos.map((v, i) => [i + 1, v] as const));
          const index = VpdqIndex.build(live.entries());
          for (const [k, v] of later.entries()) {
            index.add(100 + k, v);
            live.set(100 + k, v);
          }
          for (const id of gone) {
            index.remove(id);
            live.delete(id);
          }
          const loaded = tryLoad(index.serialize());
          expect(loaded).not.toBe('WARD_ERR_INDEX_SNAPSHOT');
          if (loaded === 'WARD_ERR_INDEX_SNAPSHOT') return;
          const options = { distance, queryMatchPercent: 50, comparedMatchPercent: 0 };
          const want = [...live]
            .map(([id, v]) => ({ id, ...matchVpdq(query, v, options) }))
            .filter((m) => m.match)
            .sort((x, y) => y.queryMatchPercent - x.queryMatchPercent || x.id - y.id);
          expect(loaded.query(query, options)).toEqual(want);
          expect(loaded.size).toBe(index.size);
          expect(loaded.frames).toBe(index.frames);
          // Still mutable after a load.
          const extra = videos[0] as Frame[];
          expect(loaded.add(999, extra)).toBe(index.add(999, extra));
          expect(loaded.query(extra, options)).toEqual(index.query(extra, options));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('damaged snapshots: only WARD_ERR_INDEX_SNAPSHOT', () => {
    fc.assert(
      fc.property(
        fc.array(videoArb, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.nat({ max: 7 }),
        (videos, at, bit) => {
          const good = VpdqIndex.build(videos.map((v, i) => [i + 1, v] as const)).serialize();
          const flipped = Uint8Array.from(good);
          flipped[at % good.length] = (flipped[at % good.length] as number) ^ (1 << bit);
          expect(tryLoad(flipped)).toBe('WARD_ERR_INDEX_SNAPSHOT');
          expect(tryLoad(good.subarray(0, at % good.length))).toBe('WARD_ERR_INDEX_SNAPSHOT');
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        bytes.set([...'WARDVPQ1'].map((c) => c.charCodeAt(0)).slice(0, bytes.length));
        expect(tryLoad(bytes)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS },
    );
  });

  it('the vpdq index kind serializes and loads', () => {
    const frames = [{ pdq: pool[0] as string, quality: 100 }];
    const compact = `${pool[0]}:100:0`;
    const index = vpdqIndexKind.build([[7, compact]]);
    const loaded = vpdqIndexKind.load?.(index.serialize?.() as Uint8Array);
    const hits: number[] = [];
    loaded?.search({ frames }, 31, (id) => hits.push(id));
    expect(hits).toEqual([7]);
  });
});

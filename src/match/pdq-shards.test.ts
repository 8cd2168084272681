/**
 * PdqIndex with many segments (each its own WebAssembly instance, as a 100-million-entry bank has
 * 6 or 7 of 2^24): the same bank split into 1 to 3 segments, by build(), by loadPdqIndexFile()
 * and by writeFile(), answers exactly as the brute force at every radius, through removes
 * (tombstones), adds (the tail, sealing, merges) and snapshots; the segment split is even.
 * Needs the WebAssembly kernel: `npm run build` first.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WardError } from '../errors.js';
import { flipBits, randomHash, randomHashes, seededU32, sortedMatches } from '../testing/hash-index-suite.js';
import { LinearPdqIndex } from './linear.js';
import { loadPdqIndexFile, PdqIndex, segmentSizes } from './pdq-index.js';
import { pdqIndexKind } from './pdq-signal-index.js';

const N = 140_000;
const RADII = [0, 31, 32, 64];

describe('segmentSizes', () => {
  it('cuts into the fewest segments of at most max, equal to one entry', () => {
    expect(segmentSizes(0)).toEqual([]);
    expect(segmentSizes(10, 4)).toEqual([4, 3, 3]);
    const big = segmentSizes(110_000_000);
    expect(big.length).toBe(7);
    expect(big.reduce((a, b) => a + b, 0)).toBe(110_000_000);
    expect(Math.max(...big) - Math.min(...big)).toBeLessThanOrEqual(1);
    expect(Math.max(...big)).toBeLessThanOrEqual(1 << 24);
    expect(segmentSizes(100_000_000).length).toBe(6);
  });
});

describe('PdqIndex at several segment counts against brute force', () => {
  const next = seededU32(0x5a4d);
  const hashes = randomHashes(N, next);
  // Near-duplicate families (clustered data), planted at distances 0..40 of a few centres.
  const centres = Array.from({ length: 20 }, () => randomHash(next));
  for (let i = 0; i < 4000; i++) {
    hashes.set(flipBits(centres[i % 20] as Uint8Array, i % 41, next), ((i * 37) % N) * 32);
  }
  const ids = Uint32Array.from({ length: N }, (_, i) => 2 * i + 5);
  const reference = new LinearPdqIndex();
  for (let i = 0; i < N; i++) reference.add(hashes.subarray(i * 32, i * 32 + 32), ids[i] as number);
  const queries: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) queries.push(flipBits(hashes.subarray(i * 977 * 32, i * 977 * 32 + 32), i * 3, next));
  for (const c of centres.slice(0, 4)) queries.push(flipBits(c, 5, next));
  queries.push(randomHash(next));
  const dir = mkdtempSync(join(tmpdir(), 'ward-shards-'));

  // The brute force's answers, computed once per state of a reference (it is the slow side).
  const answers = new WeakMap<LinearPdqIndex, Map<string, [number, number][]>>();
  const check = (index: PdqIndex, ref: LinearPdqIndex, what: string): void => {
    expect(index.size, `${what}: size`).toBe(ref.size);
    let known = answers.get(ref);
    if (!known) answers.set(ref, (known = new Map()));
    for (const [k, q] of queries.entries()) {
      for (const r of RADII) {
        let want = known.get(`${k}:${r}`);
        if (!want) known.set(`${k}:${r}`, (want = sortedMatches(ref.query(q, r))));
        expect(sortedMatches(index.query(q, r)), `${what} at radius ${r}`).toEqual(want);
      }
    }
  };

  for (const segmentEntries of [1 << 24, 100_000, 65_536]) {
    const count = segmentSizes(N, segmentEntries).length;
    it(`${count} segment(s) of at most ${segmentEntries}: build, remove, add, snapshot, load`, () => {
      const index = PdqIndex.build(hashes, ids, { segmentEntries });
      expect(index.stats().segments.length).toBe(count);
      check(index, reference, 'built');
      // Removes hit every segment (tombstones), then adds fill and seal the tail.
      const ref = new LinearPdqIndex();
      for (let i = 0; i < N; i++) ref.add(hashes.subarray(i * 32, i * 32 + 32), ids[i] as number);
      for (let i = 0; i < N; i += 997) {
        expect(index.remove(ids[i] as number)).toBe(true);
        ref.remove(ids[i] as number);
      }
      for (let i = 0; i < 66_000; i++) {
        const h = i % 2 ? randomHash(next) : flipBits(queries[i % queries.length] as Uint8Array, i % 30, next);
        index.add(h, 1_000_000 + i);
        ref.add(h, 1_000_000 + i);
      }
      check(index, ref, 'after removes and adds');
      const bytes = index.serialize();
      const file = join(dir, `s${segmentEntries}.pdq`);
      index.writeFile(file);
      expect(Buffer.from(readFileSync(file)).equals(Buffer.from(bytes)), 'writeFile = serialize').toBe(true);
      const loaded = loadPdqIndexFile(file, { segmentEntries });
      expect(loaded.stats().segments.length).toBe(segmentSizes(ref.size, segmentEntries).length);
      check(loaded, ref, 'loaded from the file');
      check(PdqIndex.load(bytes, { segmentEntries }), ref, 'loaded from bytes');
      // The image: segments' built memory, tail and tombstones; loads with no rebuild.
      const imageFile = join(dir, `s${segmentEntries}.pdqi`);
      index.writeImage(imageFile);
      const fromImage = loadPdqIndexFile(imageFile);
      // The same shape (memory sizes may differ: a build grows memory by steps, a restore exactly).
      const shape = (x: PdqIndex) => {
        const { entries, tail, tombstones, segments } = x.stats();
        return { entries, tail, tombstones, segments: segments.map((g) => [g.entries, g.chunks]) };
      };
      expect(shape(fromImage)).toEqual(shape(index));
      check(fromImage, ref, 'loaded from an image');
      // Still mutable: more removes and adds after the image load.
      const removed = ids[1] as number;
      expect(fromImage.remove(removed)).toBe(true);
      ref.remove(removed);
      fromImage.add(queries[0] as Uint8Array, 9_000_000);
      ref.add(queries[0] as Uint8Array, 9_000_000);
      answers.delete(ref);
      check(fromImage, ref, 'image, then changed');
    });
  }

  it('fromParts() fills each segment in place, at several segment counts', () => {
    for (const segmentEntries of [1 << 24, 65_536]) {
      const index = PdqIndex.fromParts(
        N,
        (from, to, h, i) => {
          h.set(hashes.subarray(from * 32, to * 32));
          i.set(ids.subarray(from, to));
        },
        { segmentEntries },
      );
      expect(index.stats().segments.length).toBe(segmentSizes(N, segmentEntries).length);
      check(index, reference, `fromParts (${segmentEntries})`);
    }
  });

  it('a damaged image is rejected with WARD_ERR_INDEX_SNAPSHOT, never misread', () => {
    const index = PdqIndex.build(hashes.subarray(0, 70_000 * 32), ids.subarray(0, 70_000));
    index.remove(ids[3] as number);
    index.add(queries[0] as Uint8Array, 5_000_000);
    const file = join(dir, 'good.pdqi');
    index.writeImage(file);
    const good = readFileSync(file);
    const code = (bytes: Uint8Array): string => {
      const f = join(dir, 'bad.pdqi');
      writeFileSync(f, bytes);
      try {
        loadPdqIndexFile(f);
        return 'loaded';
      } catch (e) {
        return WardError.is(e) ? e.code : String(e);
      }
    };
    expect(code(good)).toBe('loaded');
    const next2 = seededU32(77);
    // Flipped bits anywhere (header, descriptors, digest, images, tombstones, tail, CRC).
    const spots = [0, 9, 13, 17, 21, 25, 30, 61, 64, 70, 100, 5000, good.length - 40, good.length - 1];
    for (let i = 0; i < 30; i++) spots.push(next2() % good.length);
    for (const at of spots) {
      const bytes = Uint8Array.from(good);
      bytes[at] = (bytes[at] as number) ^ (1 << (next2() % 8));
      expect(code(bytes), `flipped byte ${at}`).toBe('WARD_ERR_INDEX_SNAPSHOT');
    }
    for (const n of [0, 10, 63, 64, 200, good.length - 1])
      expect(code(good.subarray(0, n)), `cut at ${n}`).toBe('WARD_ERR_INDEX_SNAPSHOT');
    expect(code(Buffer.concat([good, Buffer.alloc(1)]))).toBe('WARD_ERR_INDEX_SNAPSHOT');
  });

  it('the signal index kind builds the same multi-segment index from (id, hex) entries', () => {
    const entries = (function* () {
      for (let i = 0; i < N; i++)
        yield [ids[i] as number, Buffer.from(hashes.subarray(i * 32, i * 32 + 32)).toString('hex')] as const;
    })();
    const index = pdqIndexKind.build(entries);
    for (const q of queries.slice(0, 6)) {
      const got: [number, number][] = [];
      index.search(Buffer.from(q).toString('hex'), 31, (id, d) => got.push([id, d]));
      got.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(got).toEqual(sortedMatches(reference.query(q, 31)));
    }
  });
});

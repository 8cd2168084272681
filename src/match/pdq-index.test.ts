/**
 * PdqIndex against brute force: the generic differential suite (small sizes, tail only), then the
 * paths that need scale: a multi-index segment from build(), the kernel's multi-index at every
 * chunk count it can be given, tail sealing, compaction, snapshots and stats().
 * Needs the WebAssembly kernel: `npm run build` first.
 */
import { Buffer } from 'node:buffer';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WardError } from '../errors.js';
import {
  flipBits,
  hashIndexSuite,
  randomHash,
  randomHashes,
  SUITE_RADII,
  seededU32,
  sortedMatches,
} from '../testing/hash-index-suite.js';
import { LinearPdqIndex } from './linear.js';
import { loadPdqIndexFile, PdqIndex } from './pdq-index.js';
import { chooseChunks, chunkLengths, MIN_MIH_ENTRIES, PdqSegment } from './pdq-segment.js';
import type { IndexMatch } from './types.js';

hashIndexSuite('PdqIndex', () => new PdqIndex());
hashIndexSuite('LinearPdqIndex (the reference against itself)', () => new LinearPdqIndex());

const TAIL = 65536;

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  v = (v + (v >>> 4)) & 0x0f0f0f0f;
  return Math.imul(v, 0x01010101) >>> 24;
}

/** Brute force over a growing flat store of (hash, id, live) entries. */
class Brute {
  private words = new Uint32Array(1 << 16);
  private ids = new Uint32Array(1 << 13);
  private live = new Uint8Array(1 << 13);
  private where = new Map<number, number>();
  n = 0;
  size = 0;

  static of(hashes: Uint8Array, ids: Uint32Array): Brute {
    const b = new Brute();
    for (let i = 0; i < ids.length; i++) b.add(hashes.subarray(i * 32, i * 32 + 32), ids[i] as number);
    return b;
  }

  add(hash: Uint8Array, id: number): void {
    if (this.n === this.ids.length) {
      const words = new Uint32Array(this.words.length * 2);
      words.set(this.words);
      this.words = words;
      const ids = new Uint32Array(this.ids.length * 2);
      ids.set(this.ids);
      this.ids = ids;
      const live = new Uint8Array(this.live.length * 2);
      live.set(this.live);
      this.live = live;
    }
    const v = new DataView(hash.buffer, hash.byteOffset, 32);
    for (let j = 0; j < 8; j++) this.words[this.n * 8 + j] = v.getUint32(j * 4, true);
    this.ids[this.n] = id;
    this.live[this.n] = 1;
    this.where.set(id, this.n++);
    this.size++;
  }

  hash(id: number): Uint8Array {
    const i = this.where.get(id) as number;
    return new Uint8Array(this.words.buffer.slice(i * 32, i * 32 + 32));
  }

  isLive(id: number): boolean {
    const i = this.where.get(id);
    return i !== undefined && this.live[i] === 1;
  }

  remove(id: number): boolean {
    const i = this.where.get(id);
    if (i === undefined || this.live[i] === 0) return false;
    this.live[i] = 0;
    this.size--;
    return true;
  }

  /** Every live entry within `radius`, as sorted keys (id * 512 + distance). */
  query(q: Uint8Array, radius: number): Float64Array {
    const v = new DataView(q.buffer, q.byteOffset, 32);
    const q0 = v.getUint32(0, true);
    const q1 = v.getUint32(4, true);
    const q2 = v.getUint32(8, true);
    const q3 = v.getUint32(12, true);
    const q4 = v.getUint32(16, true);
    const q5 = v.getUint32(20, true);
    const q6 = v.getUint32(24, true);
    const q7 = v.getUint32(28, true);
    const w = this.words;
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) {
      const o = i * 8;
      const d =
        popcount32((w[o] as number) ^ q0) +
        popcount32((w[o + 1] as number) ^ q1) +
        popcount32((w[o + 2] as number) ^ q2) +
        popcount32((w[o + 3] as number) ^ q3) +
        popcount32((w[o + 4] as number) ^ q4) +
        popcount32((w[o + 5] as number) ^ q5) +
        popcount32((w[o + 6] as number) ^ q6) +
        popcount32((w[o + 7] as number) ^ q7);
      if (d <= radius && this.live[i] === 1) out.push((this.ids[i] as number) * 512 + d);
    }
    return Float64Array.from(out).sort();
  }
}

/** Results as sorted keys id * 512 + distance (exact in a double): cheap to sort and compare. */
function keysOf(matches: readonly IndexMatch[]): Float64Array {
  const out = new Float64Array(matches.length);
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i] as IndexMatch;
    out[i] = m.id * 512 + m.distance;
  }
  return out.sort();
}

/** Fails with the missing and unexpected (id, distance) pairs when the key lists differ. */
function expectSameKeys(got: Float64Array, want: Float64Array, what: string): void {
  let same = got.length === want.length;
  for (let i = 0; same && i < got.length; i++) same = got[i] === want[i];
  if (same) return;
  const pair = (k: number): string => `(${Math.floor(k / 512)}, ${k % 512})`;
  const g = new Set(got);
  const w = new Set(want);
  const missing = [...want]
    .filter((k) => !g.has(k))
    .slice(0, 10)
    .map(pair);
  const extra = [...got]
    .filter((k) => !w.has(k))
    .slice(0, 10)
    .map(pair);
  expect.fail(
    `${what}: got ${got.length} matches, want ${want.length}; missing ${missing.join(' ')}; unexpected ${extra.join(' ')}`,
  );
}

/**
 * Compares the index with brute force at each radius: one brute-force pass serves all radii up
 * to 64; larger radii (most of the index) get a pass each.
 */
function expectSameAtAllRadii(
  index: PdqIndex,
  brute: Brute,
  q: Uint8Array,
  radii: readonly number[],
  what: string,
): void {
  const small = radii.filter((r) => r <= 64);
  const near = small.length > 0 ? brute.query(q, Math.max(...small)) : new Float64Array(0);
  for (const r of radii) {
    const want = r <= 64 ? near.filter((k) => k % 512 <= r) : brute.query(q, r);
    expectSameKeys(keysOf(index.query(q, r)), want, `${what}, radius ${r}`);
  }
}

const RADII_0_63 = Array.from({ length: 64 }, (_, r) => r);
/** The suite radii up to 64 (above that, results are most of a large index). */
const SMALL_RADII = SUITE_RADII.filter((r) => r <= 64);
const RADII_0_64 = [...RADII_0_63, 64];

/** The index's first segment (the tests below build indexes of one segment). */
function firstSegment(index: PdqIndex): PdqSegment {
  return (index as unknown as { segments: PdqSegment[] }).segments[0] as PdqSegment;
}

/** Radii 0..48: well past PDQ's 31, where a 150,000-entry segment still plans a multi-index. */
const RADII_0_48 = Array.from({ length: 49 }, (_, r) => r);

/** Odd multiplier: a bijection on u32, so the ids are unique and not sorted. */
const scrambledId = (i: number): number => Math.imul(i + 1, 0x9e3779b1) >>> 0;

describe('PdqIndex: a multi-index segment from build()', () => {
  const N = 150_000;
  const next = seededU32(0xb111d);
  let hashes: Uint8Array;
  let ids: Uint32Array;
  let index: PdqIndex;
  let brute: Brute;
  const centres: Uint8Array[] = [];

  beforeAll(() => {
    // Random entries, then planted neighbours around 200 query centres: 64 centres get one entry
    // at each distance 0..63, the others 8 entries at random distances 0..63.
    const planted: Uint8Array[] = [];
    for (let c = 0; c < 200; c++) {
      const centre = randomHash(next);
      centres.push(centre);
      if (c < 64) for (let d = 0; d < 64; d++) planted.push(flipBits(centre, d, next));
      else for (let k = 0; k < 8; k++) planted.push(flipBits(centre, next() % 64, next));
    }
    const random = N - planted.length;
    hashes = new Uint8Array(N * 32);
    hashes.set(randomHashes(random, next));
    for (const [i, h] of planted.entries()) hashes.set(h, (random + i) * 32);
    ids = new Uint32Array(N).map((_, i) => scrambledId(i));
    index = PdqIndex.build(hashes, ids);
    brute = Brute.of(hashes, ids);
  });

  it('is one 16-chunk segment that answers radii 0..48 by multi-index, 64 by the scan', () => {
    const stats = index.stats();
    expect(index.size).toBe(N);
    expect(stats.entries).toBe(N);
    expect(stats.tail).toBe(0);
    expect(stats.tombstones).toBe(0);
    expect(stats.segments.map((s) => [s.entries, s.chunks])).toEqual([[N, chooseChunks(N)]]);
    expect(chooseChunks(N)).toBe(16);
    // The test below covers the multi-index path where the cost model picks it (the kernel test
    // further down runs it at every radius 0..64 directly).
    const segment = firstSegment(index);
    for (const r of RADII_0_48) expect(segment.usesMultiIndex(r), `multi-index at radius ${r}`).toBe(true);
    expect(segment.usesMultiIndex(64)).toBe(false);
  });

  it('equals brute force at radii 0..63 (and the suite radii) on 300 queries', () => {
    const queries: [Uint8Array, string][] = [];
    for (const [c, centre] of centres.entries()) queries.push([centre, `centre ${c}`]);
    for (let i = 0; i < 40; i++) {
      const at = next() % N;
      queries.push([flipBits(hashes.subarray(at * 32, at * 32 + 32), next() % 48, next), `near entry ${at}`]);
    }
    for (let i = 0; i < 60; i++) queries.push([randomHash(next), `random ${i}`]);
    for (const [q, what] of queries) expectSameAtAllRadii(index, brute, q, RADII_0_63, what);
    for (const [q, what] of queries.slice(0, 3)) expectSameAtAllRadii(index, brute, q, SUITE_RADII, what);
    // Every planted neighbour of a fully planted centre is found at its exact distance.
    for (const centre of centres.slice(0, 64)) {
      const found = index.query(centre, 63).map((m) => m.distance);
      for (let d = 0; d < 64; d++) expect(found).toContain(d);
    }
  });

  it('tombstones removed entries of the segment (ids not sorted: has() scans)', () => {
    const local = PdqIndex.build(hashes, ids);
    const b = Brute.of(hashes, ids);
    const removed: number[] = [];
    for (const centre of centres.slice(0, 10)) {
      for (const m of local.query(centre, 40)) {
        if (next() % 2 === 0) continue;
        expect(local.remove(m.id)).toBe(true);
        b.remove(m.id);
        removed.push(m.id);
      }
    }
    expect(removed.length).toBeGreaterThan(50);
    expect(local.size).toBe(N - removed.length);
    expect(local.stats().tombstones).toBe(removed.length);
    for (const id of removed) expect(local.remove(id)).toBe(false);
    expect(local.remove(scrambledId(N + 5))).toBe(false);
    for (const centre of centres.slice(0, 12)) expectSameAtAllRadii(local, b, centre, RADII_0_64, 'after removals');
    for (const id of removed.slice(0, 50)) {
      expect(local.query(b.hash(id), 0).some((m) => m.id === id)).toBe(false);
    }
  });
});

describe('PdqIndex: result buffers', () => {
  it('grows the multi-index result capacity (5000 duplicates at radius 0) and queryInto agrees', () => {
    const next = seededU32(0xd0d0);
    const n = 70_000;
    const hashes = randomHashes(n, next);
    const dup = randomHash(next);
    for (let i = 0; i < 5000; i++) hashes.set(dup, (i * 13 + 7) * 32);
    const ids = new Uint32Array(n).map((_, i) => i);
    const index = PdqIndex.build(hashes, ids);
    expect(firstSegment(index).usesMultiIndex(0)).toBe(true);
    const brute = Brute.of(hashes, ids);
    for (const r of [0, 5, 31, 256]) {
      const want = brute.query(dup, r);
      expectSameKeys(keysOf(index.query(dup, r)), want, `radius ${r}`);
      const count = index.queryInto(dup, r);
      expect(count).toBe(want.length);
      const ids = index.resultIds();
      const distances = index.resultDistances();
      const viaInto = Float64Array.from(
        { length: count },
        (_, i) => (ids[i] as number) * 512 + (distances[i] as number),
      );
      expectSameKeys(viaInto.sort(), want, `queryInto, radius ${r}`);
    }
    expect(index.query(dup, 256).length).toBe(n);
  });
});

/** Segment internals, for the kernel test below (runs the multi-index without the cost model). */
interface Kernel {
  memory: { buffer: ArrayBuffer };
  queryPtr(): number;
  resultsPtr(): number;
  setCapacity(maxResults: number): boolean;
  query(radius: number): number;
  linear(radius: number): number;
}

describe('PdqIndex kernel: multi-index equals the linear scan for every chunk count 12-16', () => {
  it('at radii 0..64 around planted neighbours, with chunks that straddle 64-bit words', () => {
    const next = seededU32(0xc4c4);
    const n = 20_000;
    const centres = Array.from({ length: 6 }, () => randomHash(next));
    const hashes = randomHashes(n, next);
    let at = 0;
    for (const centre of centres) for (let d = 0; d <= 64; d++) hashes.set(flipBits(centre, d, next), 32 * at++);
    const ids = new Uint32Array(n).map((_, i) => scrambledId(i));
    const brute = Brute.of(hashes, ids);
    for (const chunks of [12, 13, 14, 15, 16]) {
      const segment = PdqSegment.from(hashes, ids, chunks);
      const ask = kernelAsk(segment);
      const queries = [...centres, flipBits(centres[0] as Uint8Array, 20, next), randomHash(next)];
      for (const [qi, q] of queries.entries()) {
        const all = brute.query(q, 64);
        for (let r = 0; r <= 64; r++) {
          const want = all.filter((key) => key % 512 <= r);
          expectSameKeys(ask(q, r, 'query'), want, `chunks ${chunks}, query ${qi}, radius ${r}: multi-index`);
        }
        expectSameKeys(ask(q, 64, 'linear'), all, `chunks ${chunks}, query ${qi}: linear`);
      }
    }
  });
});

/** Runs the kernel's multi-index (or scan) directly, growing the result room as needed. */
function kernelAsk(segment: PdqSegment): (q: Uint8Array, r: number, mode: 'query' | 'linear') => Float64Array {
  const k = (segment as unknown as { k: Kernel }).k;
  let capacity = 4096;
  return (q, r, mode) => {
    new Uint8Array(k.memory.buffer, k.queryPtr(), 32).set(q);
    let found = k[mode](r);
    if (found > capacity) {
      capacity = found;
      expect(k.setCapacity(capacity)).toBe(true);
      found = k[mode](r);
    }
    expect(found).toBeGreaterThanOrEqual(0);
    const res = new Uint32Array(k.memory.buffer, k.resultsPtr(), found * 2);
    const out = new Float64Array(found);
    for (let i = 0; i < found; i++) out[i] = (res[2 * i] as number) * 512 + (res[2 * i + 1] as number);
    return out.sort();
  };
}

describe('PdqIndex kernel: compact bucket tables with overfull blocks', () => {
  /**
   * n entries: `shared` of them agree with a centre on its first 128 bits (so in every chunk
   * there, one bucket holds them all and its block overflows its slots), a few exact copies of
   * the centre, neighbours of the centre and of a cluster member at every distance 0..40, and
   * random entries. The multi-index must equal brute force on all of it.
   */
  function clustered(seed: number, n: number, shared: number, chunks: number, recordBytes: number): void {
    const next = seededU32(seed);
    const hashes = randomHashes(n, next);
    const centre = randomHash(next);
    let at = 0;
    for (; at < shared; at++) hashes.set(centre.subarray(0, 16), at * 32);
    for (let i = 0; i < 300; i++) hashes.set(centre, 32 * at++);
    const member = hashes.slice(32, 64);
    for (let d = 0; d <= 40; d++) hashes.set(flipBits(centre, d, next), 32 * at++);
    for (let d = 0; d <= 40; d++) hashes.set(flipBits(member, d, next), 32 * at++);
    const ids = new Uint32Array(n).map((_, i) => scrambledId(i));
    const brute = Brute.of(hashes, ids);
    const segment = PdqSegment.from(hashes, ids, chunks);
    const k = (segment as unknown as { k: { overflowBytes(): number } }).k;
    // Overflow records exist, and their size says which slots the tables use (B + 1 u32).
    expect(k.overflowBytes()).toBeGreaterThan(0);
    expect(k.overflowBytes() % recordBytes).toBe(0);
    const ask = kernelAsk(segment);
    const flipped = new Uint8Array(centre);
    flipped[0] = (flipped[0] as number) ^ 0x81;
    flipped[31] = (flipped[31] as number) ^ 0x10;
    const queries = [centre, member, flipBits(member, 12, next), flipped, randomHash(next)];
    for (const [qi, q] of queries.entries()) {
      const all = brute.query(q, 40);
      for (const r of [0, 1, 3, 8, 16, 24, 31, 40]) {
        const want = all.filter((key) => key % 512 <= r);
        expectSameKeys(ask(q, r, 'query'), want, `query ${qi}, radius ${r}`);
      }
    }
  }

  it('u8 slots (60 buckets per line): blocks of more than 255 entries', () => {
    // 70,000 entries over 12 chunks of 21-22 bits: well under 2 per bucket, so u8 slots.
    expect(chunkLengths(70_000, 12).every((len) => 70_000 <= 2 * 2 ** len)).toBe(true);
    clustered(0x0f1, 70_000, 2_000, 12, 61 * 4);
  });

  it('u16 slots (30 buckets per line) for crowded chunks: blocks of more than 65,535 entries', () => {
    // 140,000 entries over 16 chunks of 16 bits: more than 2 per bucket, so u16 slots.
    clustered(0x0f2, 140_000, 70_000, 16, 31 * 4);
  });
});

describe('PdqSegment: chunk layouts', () => {
  it('cuts all 256 bits, within the memory budget at the sizes it chooses', () => {
    for (const n of [MIN_MIH_ENTRIES, 150_000, 1_000_000, 10_000_000, 1 << 24]) {
      const m = chooseChunks(n);
      expect(m).toBeGreaterThanOrEqual(9);
      expect(m).toBeLessThanOrEqual(16);
      for (const chunks of [m, 12, 16]) {
        const lengths = chunkLengths(n, chunks);
        expect(lengths).toHaveLength(chunks);
        expect(lengths.reduce((a, b) => a + b, 0)).toBe(256);
        for (const len of lengths) expect(len >= 8 && len <= 26).toBe(true);
      }
    }
    // 10 million entries: 11 chunks (one of 19 bits probed with 1 flip, ten of 23-24 with 2).
    expect(chooseChunks(10_000_000)).toBe(11);
    expect(chunkLengths(10_000_000, 11)).toEqual([19, 24, 24, 24, 24, 24, 24, 24, 23, 23, 23]);
  });
});

describe('PdqIndex: tail sealing', () => {
  it(`seals the tail into a multi-index segment at ${TAIL} adds; queries and removals stay exact`, () => {
    const next = seededU32(0x5ea1);
    const index = new PdqIndex();
    const brute = new Brute();
    const centres = Array.from({ length: 20 }, () => randomHash(next));
    const total = TAIL + 1500;
    // Planted neighbours (every distance 0..63 per centre) are spread over the whole run, so
    // some end up in the sealed segment and some in the tail.
    const plantAt = new Map<number, Uint8Array>();
    for (const centre of centres) for (let d = 0; d < 64; d++) plantAt.set(next() % total, flipBits(centre, d, next));
    const batch = randomHashes(total, next);
    const inTail = new Set<number>();
    for (let i = 0; i < total; i++) {
      const h = plantAt.get(i) ?? batch.subarray(i * 32, i * 32 + 32);
      const id = scrambledId(i);
      if (i >= TAIL) inTail.add(id);
      index.add(h, id);
      brute.add(h, id);
      if (i === TAIL - 2) {
        expect(index.stats().segments).toEqual([]);
        expect(index.stats().tail).toBe(TAIL - 1);
      }
      if (i === TAIL - 1) {
        const s = index.stats();
        expect(s.tail).toBe(0);
        expect(s.segments.map((x) => [x.entries, x.chunks])).toEqual([[TAIL, chooseChunks(TAIL)]]);
      }
    }
    expect(index.size).toBe(total);
    let s = index.stats();
    expect(s.entries).toBe(total);
    expect(s.tail).toBe(1500);
    expect(s.segments.map((x) => [x.entries, x.chunks])).toEqual([[TAIL, 16]]);
    for (const centre of centres) expectSameAtAllRadii(index, brute, centre, RADII_0_64, 'after seal');
    expectSameAtAllRadii(index, brute, centres[0] as Uint8Array, SUITE_RADII, 'after seal');
    for (let i = 0; i < 20; i++) {
      expectSameAtAllRadii(index, brute, randomHash(next), i < 2 ? SUITE_RADII : SMALL_RADII, 'random');
    }

    // Remove from the segment (tombstones) and from the tail (in place).
    const segmentIds = Array.from({ length: 300 }, (_, k) => scrambledId(k * 211));
    const tailIds = Array.from({ length: 300 }, (_, k) => scrambledId(TAIL + k * 5));
    const nearCentre = index.query(centres[3] as Uint8Array, 63).map((m) => m.id);
    const removed = [...new Set([...segmentIds, ...tailIds, ...nearCentre])];
    for (const id of removed) {
      expect(index.remove(id), `remove ${id}`).toBe(true);
      brute.remove(id);
    }
    for (const id of removed) expect(index.remove(id), `remove ${id} again`).toBe(false);
    expect(index.size).toBe(brute.size);
    s = index.stats();
    const removedFromTail = removed.filter((id) => inTail.has(id)).length;
    expect(removedFromTail).toBeGreaterThanOrEqual(300);
    expect(s.tail).toBe(1500 - removedFromTail);
    expect(s.tombstones).toBe(removed.length - removedFromTail);
    expect(s.segments[0]?.entries).toBe(TAIL);
    expect(s.entries).toBe((s.segments[0]?.entries ?? 0) - s.tombstones + s.tail);
    for (const centre of centres) expectSameAtAllRadii(index, brute, centre, RADII_0_64, 'after removals');
    expectSameAtAllRadii(index, brute, centres[3] as Uint8Array, SUITE_RADII, 'after removals');
    for (const id of removed) expect(index.query(brute.hash(id), 0).some((m) => m.id === id)).toBe(false);

    // Adds after removals still land in the tail and are found.
    const extra = randomHash(next);
    index.add(extra, 0xfffffffe);
    brute.add(extra, 0xfffffffe);
    expect(sortedMatches(index.query(extra, 0))).toEqual([[0xfffffffe, 0]]);
    expect(index.size).toBe(brute.size);
  });
});

describe('PdqIndex: compaction', () => {
  it('merges all but the largest segment when a 7th is sealed, drops their tombstones, and again at the 12th', () => {
    const t0 = Date.now();
    const next = seededU32(0xc0c0);
    const index = new PdqIndex();
    const brute = new Brute();
    const centres = Array.from({ length: 24 }, () => randomHash(next));
    const plantAt = new Map<number, Uint8Array>();
    const total = 12 * TAIL + 700;
    for (const centre of centres) for (let d = 0; d < 64; d++) plantAt.set(next() % total, flipBits(centre, d, next));
    const removedEarly: number[] = [];
    const check = (what: string) => {
      expect(index.size, what).toBe(brute.size);
      for (const centre of centres.slice(0, 8)) expectSameAtAllRadii(index, brute, centre, SMALL_RADII, what);
      for (const centre of centres.slice(8, 10)) expectSameAtAllRadii(index, brute, centre, RADII_0_63, what);
      for (const id of removedEarly.slice(0, 40)) {
        expect(
          index.query(brute.hash(id), 0).some((m) => m.id === id),
          `${what}: removed ${id} came back`,
        ).toBe(false);
      }
    };
    const batch = randomHashes(1 << 16, next);
    let i = 0;
    const addUpTo = (end: number) => {
      for (; i < end; i++) {
        const h = plantAt.get(i) ?? batch.subarray((i & 0xffff) * 32, (i & 0xffff) * 32 + 32);
        // Segments from different batches hold the same random hashes under other ids:
        // duplicates across segments, on purpose.
        index.add(h, i);
        brute.add(h, i);
      }
    };

    addUpTo(6 * TAIL + 10);
    let s = index.stats();
    expect(s.segments.length).toBe(6);
    expect(s.tail).toBe(10);
    // Remove a few entries from every segment (tombstones) and from the tail.
    for (let seg = 0; seg < 6; seg++) {
      for (let k = 0; k < 100; k++) {
        const id = seg * TAIL + ((k * 617) % TAIL);
        if (!brute.isLive(id)) continue;
        expect(index.remove(id)).toBe(true);
        brute.remove(id);
        removedEarly.push(id);
      }
    }
    expect(index.remove(6 * TAIL + 3)).toBe(true);
    brute.remove(6 * TAIL + 3);
    removedEarly.push(6 * TAIL + 3);
    s = index.stats();
    expect(s.tombstones).toBe(600);
    expect(s.tail).toBe(9);
    check('6 segments with tombstones');

    // The 7th seal (the tail holds 9, so the 65527th add after 6 x 65536 + 10 fills it):
    // segment 0 (the largest by stored entries, first among equals) is kept, segments 1-5 and
    // the new one are merged without their tombstones.
    addUpTo(7 * TAIL);
    expect(index.stats().segments.length).toBe(6);
    expect(index.stats().tail).toBe(TAIL - 1);
    addUpTo(7 * TAIL + 1);
    s = index.stats();
    expect(s.tail).toBe(0);
    expect(s.segments.map((x) => x.entries)).toEqual([TAIL, 6 * TAIL - 500]);
    expect(s.segments.map((x) => x.chunks)).toEqual([16, chooseChunks(6 * TAIL - 500)]);
    expect(s.tombstones).toBe(100);
    expect(s.entries).toBe(brute.size);
    expect(s.entries).toBe(s.segments.reduce((sum, x) => sum + x.entries, 0) - s.tombstones + s.tail);
    for (const id of removedEarly) expect(index.remove(id), `remove ${id} again after compaction`).toBe(false);
    check('after the first compaction');

    // Remove some entries of the merged segment, then seal 5 more: the merged one is kept now
    // (with its tombstones), segment 0 and the 5 new ones are merged.
    let removedFromMerged = 0;
    for (let k = 0; k < 50; k++) {
      const id = 2 * TAIL + k * 1001;
      if (!brute.isLive(id)) continue;
      expect(index.remove(id)).toBe(true);
      brute.remove(id);
      removedEarly.push(id);
      removedFromMerged++;
    }
    expect(index.stats().tombstones).toBe(100 + removedFromMerged);
    addUpTo(12 * TAIL);
    expect(index.stats().segments.length).toBe(6);
    addUpTo(12 * TAIL + 1);
    s = index.stats();
    expect(s.segments.map((x) => x.entries)).toEqual([6 * TAIL - 500, 6 * TAIL - 100]);
    expect(s.tombstones).toBe(removedFromMerged);
    expect(s.tail).toBe(0);
    expect(s.entries).toBe(s.segments.reduce((sum, x) => sum + x.entries, 0) - s.tombstones + s.tail);
    check('after the second compaction');
    addUpTo(total);
    expect(index.stats().tail).toBe(total - 12 * TAIL - 1);
    check('with a tail after two compactions');
    for (const id of removedEarly) expect(index.remove(id)).toBe(false);
    // Snapshot of a compacted index.
    const loaded = PdqIndex.load(index.serialize());
    expect(loaded.size).toBe(index.size);
    for (const centre of centres.slice(0, 6)) {
      for (const r of [0, 31, 63]) expectSameKeys(keysOf(loaded.query(centre, r)), brute.query(centre, r), 'loaded');
    }
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});

describe('PdqIndex: snapshots', () => {
  /** Serialize, load, and compare: same size, same answers, removed entries stay removed. */
  function roundTrip(index: PdqIndex, brute: Brute, queries: Uint8Array[], removed: number[]): PdqIndex {
    const bytes = index.serialize();
    expect(bytes.length).toBe(24 + 36 * index.size);
    const loaded = PdqIndex.load(bytes);
    expect(loaded.size).toBe(index.size);
    expect(loaded.stats().entries).toBe(index.size);
    expect(loaded.stats().tombstones).toBe(0);
    for (const q of queries) {
      for (const r of SUITE_RADII) {
        const want = keysOf(index.query(q, r));
        expectSameKeys(keysOf(loaded.query(q, r)), want, `loaded, radius ${r}`);
        if (r <= 64) expectSameKeys(want, brute.query(q, r), `original, radius ${r}`);
      }
    }
    for (const id of removed) {
      expect(loaded.query(brute.hash(id), 0).some((m) => m.id === id)).toBe(false);
      expect(loaded.remove(id)).toBe(false);
    }
    // Reserialising the loaded index gives the same bytes.
    expect(Buffer.from(loaded.serialize()).equals(Buffer.from(bytes))).toBe(true);
    return loaded;
  }

  it('round-trips an empty index', () => {
    const empty = new PdqIndex();
    const bytes = empty.serialize();
    expect(bytes.length).toBe(24);
    const loaded = PdqIndex.load(bytes);
    expect(loaded.size).toBe(0);
    expect(loaded.query(new Uint8Array(32), 256)).toEqual([]);
  });

  it('round-trips a tail-only index with removals', () => {
    const next = seededU32(0x7a11);
    const index = new PdqIndex();
    const brute = new Brute();
    const centre = randomHash(next);
    for (let i = 0; i < 3000; i++) {
      const h = i < 64 ? flipBits(centre, i, next) : randomHash(next);
      index.add(h, i * 3 + 1);
      brute.add(h, i * 3 + 1);
    }
    const removed = [1, 4, 7, 301, 2998 * 3 + 1];
    for (const id of removed) {
      expect(index.remove(id)).toBe(true);
      brute.remove(id);
    }
    const loaded = roundTrip(index, brute, [centre, randomHash(next), brute.hash(100)], removed);
    expect(loaded.remove(10)).toBe(true);
    expect(loaded.size).toBe(index.size - 1);
  });

  it('round-trips segments + tail + tombstones (the snapshot holds only live entries)', () => {
    const next = seededU32(0x5a95);
    const n = 70_000;
    const centres = Array.from({ length: 5 }, () => randomHash(next));
    const hashes = randomHashes(n, next);
    let at = 0;
    for (const c of centres) for (let d = 0; d < 64; d++) hashes.set(flipBits(c, d, next), 32 * (at++ * 97));
    const ids = new Uint32Array(n).map((_, i) => scrambledId(i));
    const index = PdqIndex.build(hashes, ids);
    const brute = Brute.of(hashes, ids);
    for (let i = 0; i < 2000; i++) {
      const h = i % 10 === 0 ? flipBits(centres[i % 5] as Uint8Array, i % 64, next) : randomHash(next);
      index.add(h, 0xf0000000 + i);
      brute.add(h, 0xf0000000 + i);
    }
    const removed = [
      ...index.query(centres[0] as Uint8Array, 40).map((m) => m.id),
      scrambledId(5),
      0xf0000000,
      0xf0000000 + 1999,
    ];
    for (const id of new Set(removed)) {
      expect(index.remove(id)).toBe(true);
      brute.remove(id);
    }
    expect(index.stats().tombstones).toBeGreaterThan(0);
    const loaded = roundTrip(index, brute, [...centres, randomHash(next)], [...new Set(removed)]);
    const s = loaded.stats();
    expect(s.segments.map((x) => x.entries)).toEqual([index.size]);
    expect(s.tail).toBe(0);
    expect(loaded.remove(0xf0000000 + 5)).toBe(true);
  });

  it('loads a snapshot held in a Uint8Array view at an offset', () => {
    const index = new PdqIndex();
    const next = seededU32(9);
    const h = randomHash(next);
    index.add(h, 42);
    index.add(randomHash(next), 43);
    const bytes = index.serialize();
    const host = new Uint8Array(bytes.length + 7);
    host.set(bytes, 7);
    const loaded = PdqIndex.load(host.subarray(7));
    expect(sortedMatches(loaded.query(h, 0))).toEqual([[42, 0]]);
  });

  // Regression: at 49a04ff, load() read the ids with `new Uint32Array(bytes.slice(...).buffer, 0,
  // count)`. For a Node Buffer (what readFileSync returns) Buffer#slice is a view, so the ids came
  // from the start of the Buffer's ArrayBuffer (the header's magic, or unrelated pool memory).
  // Fixed in c294202.
  it('loads a snapshot passed as a Node Buffer (as read from a file) with the right ids', () => {
    const index = new PdqIndex();
    const next = seededU32(10);
    const h = randomHash(next);
    index.add(h, 42);
    index.add(randomHash(next), 43);
    const bytes = index.serialize();
    // A Buffer that owns its ArrayBuffer, like readFileSync's result for a snapshot file.
    const owned = Buffer.alloc(bytes.length);
    owned.set(bytes);
    expect(sortedMatches(PdqIndex.load(owned).query(h, 0))).toEqual([[42, 0]]);
    // A pooled Buffer (Buffer.from of a small array).
    expect(sortedMatches(PdqIndex.load(Buffer.from(bytes)).query(h, 0))).toEqual([[42, 0]]);
  });
});

describe('PdqIndex: stats()', () => {
  it('counts entries, segments, tail, tombstones and WebAssembly bytes', () => {
    const empty = new PdqIndex().stats();
    expect(empty.entries).toBe(0);
    expect(empty.segments).toEqual([]);
    expect(empty.tail).toBe(0);
    expect(empty.tombstones).toBe(0);
    expect(empty.bytes).toBeGreaterThanOrEqual(TAIL * 36);

    const next = seededU32(0x57a7);
    const small = new PdqIndex();
    for (let i = 0; i < 100; i++) small.add(randomHash(next), i);
    small.remove(5);
    expect(small.stats()).toEqual({ ...empty, entries: 99, tail: 99 });

    const n = MIN_MIH_ENTRIES + 1234;
    const hashes = randomHashes(n, next);
    const index = PdqIndex.build(
      hashes,
      new Uint32Array(n).map((_, i) => i),
    );
    index.add(randomHash(next), n);
    index.add(randomHash(next), n + 1);
    expect(index.remove(10)).toBe(true);
    expect(index.remove(n + 1)).toBe(true);
    // One tombstone: the removed entry is no longer found, its neighbours still are.
    expect(index.query(hashes.subarray(320, 352), 0).map((m) => m.id)).toEqual([]);
    expect(index.query(hashes.subarray(352, 384), 0).map((m) => m.id)).toEqual([11]);
    const s = index.stats();
    expect(s.entries).toBe(n);
    expect(index.size).toBe(n);
    expect(s.tail).toBe(1);
    expect(s.tombstones).toBe(1);
    expect(s.segments).toHaveLength(1);
    const seg = s.segments[0] as { entries: number; chunks: number; bytes: number };
    expect(seg.entries).toBe(n);
    expect(seg.chunks).toBe(chooseChunks(n));
    // Hashes, ids, 16 bucket tables of 2^16 buckets (a 64-byte line per 60 buckets) and 16 x
    // 3-byte positions per entry.
    expect(seg.bytes).toBeGreaterThanOrEqual(n * 36 + 16 * Math.ceil(TAIL / 60) * 64 + 16 * 3 * n);
    expect(s.bytes).toBe(seg.bytes + empty.bytes);
    // Below the multi-index threshold, build() keeps everything in the tail.
    const below = PdqIndex.build(
      randomHashes(100, next),
      new Uint32Array(100).map((_, i) => i),
    );
    expect(below.stats()).toEqual({ ...empty, entries: 100, tail: 100 });
    expect(chooseChunks(MIN_MIH_ENTRIES - 1)).toBe(0);
  });
});

describe('PdqIndex: input checks', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return WardError.is(e) ? e.code : `not a WardError: ${String(e)}`;
    }
    return undefined;
  };

  it('rejects bad hashes, ids and radii with WardErrors; the default radius is 31', () => {
    const index = new PdqIndex();
    const next = seededU32(11);
    const h = randomHash(next);
    index.add(h, 1);
    index.add(flipBits(h, 31, next), 2);
    index.add(flipBits(h, 32, next), 3);
    expect(code(() => index.add(new Uint8Array(31), 4))).toBe('WARD_ERR_SIGNAL_INVALID');
    for (const id of [-1, 2 ** 32, 1.5, Number.NaN]) expect(code(() => index.add(h, id))).toBe('WARD_ERR_INTERNAL');
    expect(code(() => index.query(new Uint8Array(33), 1))).toBe('WARD_ERR_SIGNAL_INVALID');
    for (const r of [-1, 257, 1.5, Number.NaN]) expect(code(() => index.query(h, r))).toBe('WARD_ERR_CONFIG_INVALID');
    expect(index.size).toBe(3);
    expect(sortedMatches(index.query(h))).toEqual([
      [1, 0],
      [2, 31],
    ]);
  });
});

describe('loadPdqIndexFile: snapshots read straight into WebAssembly memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ward-snap-'));
  const n = 70_000; // over the tail: the streaming path, not the small-file fallback
  const hashes = new Uint8Array(n * 32);
  let seed = 99;
  for (let i = 0; i < hashes.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    hashes[i] = seed >>> 24;
  }
  const ids = Uint32Array.from({ length: n }, (_, i) => 3 * i + 1);
  const built = PdqIndex.build(hashes, ids);
  built.remove(4); // a tombstone: the snapshot holds live entries only
  const file = join(dir, 'bank.pdq');
  writeFileSync(file, built.serialize());

  it('gives the same answers as the index it was made from', () => {
    const loaded = loadPdqIndexFile(file);
    expect(loaded.size).toBe(n - 1);
    for (let q = 0; q < 50; q++) {
      const query = hashes.subarray(q * 1000 * 32, q * 1000 * 32 + 32);
      const sort = (r: IndexMatch[]) => r.map((m) => `${m.id}:${m.distance}`).sort();
      expect(sort(loaded.query(query, 40))).toEqual(sort(built.query(query, 40)));
    }
    expect(loaded.query(hashes.subarray(32, 64), 0)).toEqual([]); // id 4 stays removed
  });

  it('rejects damaged files with WARD_ERR_INDEX_SNAPSHOT', () => {
    const good = readFileSync(file);
    const cases: [string, Uint8Array][] = [
      ['truncated', good.subarray(0, good.length - 7)],
      ['flipped hash byte', Uint8Array.from(good, (b, i) => (i === 24 + 5000 ? b ^ 1 : b))],
      ['flipped id byte', Uint8Array.from(good, (b, i) => (i === good.length - 3 ? b ^ 8 : b))],
      ['wrong magic', Uint8Array.from(good, (b, i) => (i === 0 ? 0 : b))],
      ['empty', new Uint8Array(0)],
    ];
    for (const [name, bytes] of cases) {
      const bad = join(dir, `${name}.pdq`);
      writeFileSync(bad, bytes);
      let code = 'ok';
      try {
        loadPdqIndexFile(bad);
      } catch (e) {
        code = WardError.is(e) ? e.code : String(e);
      }
      expect(code, name).toBe('WARD_ERR_INDEX_SNAPSHOT');
    }
  });
});

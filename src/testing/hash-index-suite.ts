/**
 * @module testing/hash-index-suite
 * A differential test suite for any PDQ HashIndex: every answer is compared, exactly, with the
 * brute-force LinearPdqIndex fed the same operations. Hashes are random 256-bit values from a
 * seeded PRNG (failures name the seed), with planted near neighbours at every distance 0..63,
 * duplicate hashes under different ids, and add/remove interleavings (fast-check).
 * Small sizes only (a few seconds); index-specific scale tests live beside each index.
 * @internal test-only: imports vitest and fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../demo/images.js';
import { LinearPdqIndex } from '../match/linear.js';
import type { HashIndex, IndexMatch } from '../match/types.js';

/** The radii every differential query is asked at. */
export const SUITE_RADII: readonly number[] = [0, 1, 15, 31, 32, 47, 63, 64, 128, 256];

/** Seeded u32 stream (the demo's mulberry32): the same seed draws the same hashes. */
export function seededU32(seed: number): () => number {
  const next = seededRandom(seed);
  return () => Math.floor(next() * 4294967296) >>> 0;
}

/** A random 32-byte hash. */
export function randomHash(next: () => number): Uint8Array {
  const out = new Uint8Array(32);
  const words = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) words.setUint32(i * 4, next());
  return out;
}

/** Fills n x 32 bytes with random hashes. */
export function randomHashes(n: number, next: () => number): Uint8Array {
  const out = new Uint8Array(n * 32);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return out;
}

/** A copy of `hash` with exactly `d` distinct bits flipped (0 <= d <= 256). */
export function flipBits(hash: Uint8Array, d: number, next: () => number): Uint8Array {
  if (!Number.isInteger(d) || d < 0 || d > 256) throw new RangeError(`cannot flip ${d} bits`);
  const out = Uint8Array.from(hash);
  // Partial Fisher-Yates over the 256 bit positions: d distinct bits.
  const bits = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0; i < d; i++) {
    const j = i + (next() % (256 - i));
    const b = bits[j] as number;
    bits[j] = bits[i] as number;
    bits[i] = b;
    out[b >> 3] = (out[b >> 3] as number) ^ (1 << (b & 7));
  }
  return out;
}

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  v = (v + (v >>> 4)) & 0x0f0f0f0f;
  return Math.imul(v, 0x01010101) >>> 24;
}

/** Byte-by-byte Hamming distance of two 32-byte hashes (independent of the code under test). */
export function hamming(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < 32; i++) d += popcount32((a[i] as number) ^ (b[i] as number));
  return d;
}

/** Matches as [id, distance] pairs sorted by id then distance: the form results are compared in. */
export function sortedMatches(matches: readonly IndexMatch[]): [number, number][] {
  return matches.map((m): [number, number] => [m.id, m.distance]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

export interface HashIndexSuiteOptions {
  /** PRNG seed for the fixed-seed tests (default 0x5eed). */
  seed?: number;
  /** Random entries in the differential tests (default 300). */
  entries?: number;
  /** fast-check runs for the interleaving property (default: WARD_FUZZ_RUNS or 60). */
  runs?: number;
}

/** An index under test with the reference beside it: every operation goes to both. */
class Pair {
  readonly ref = new LinearPdqIndex();
  readonly hashes = new Map<number, Uint8Array>();
  readonly live = new Set<number>();
  readonly removed = new Set<number>();

  constructor(
    readonly index: HashIndex,
    readonly label: string,
  ) {}

  add(hash: Uint8Array, id: number): void {
    if (this.hashes.has(id)) throw new Error(`test bug: id ${id} reused`);
    this.index.add(hash, id);
    this.ref.add(hash, id);
    this.hashes.set(id, Uint8Array.from(hash));
    this.live.add(id);
  }

  remove(id: number): boolean {
    const expected = this.live.has(id);
    const got = this.index.remove(id);
    expect(this.ref.remove(id), `${this.label}: reference remove(${id})`).toBe(expected);
    expect(got, `${this.label}: remove(${id}) (${expected ? 'live' : 'unknown or removed'})`).toBe(expected);
    if (expected) {
      this.live.delete(id);
      this.removed.add(id);
    }
    expect(this.index.size, `${this.label}: size after remove(${id})`).toBe(this.live.size);
    return got;
  }

  /** Asks both at `radius` and compares the sorted (id, distance) lists exactly. */
  check(query: Uint8Array, radius: number, what: string): [number, number][] {
    const before = Uint8Array.from(query);
    const got = sortedMatches(this.index.query(query, radius));
    const want = sortedMatches(this.ref.query(query, radius));
    expect(query, `${this.label}: query() changed its argument`).toEqual(before);
    expect(got, `${this.label}: ${what} at radius ${radius}`).toEqual(want);
    for (const [id] of got) {
      if (this.removed.has(id)) throw new Error(`${this.label}: removed id ${id} came back (${what}, r=${radius})`);
    }
    return got;
  }

  checkSize(): void {
    expect(this.index.size, `${this.label}: size`).toBe(this.live.size);
    expect(this.ref.size).toBe(this.live.size);
  }
}

/**
 * Registers describe/it blocks that hold `make()` (a fresh, empty index per test) to the
 * brute-force LinearPdqIndex.
 */
export function hashIndexSuite(name: string, make: () => HashIndex, options: HashIndexSuiteOptions = {}): void {
  const seed = options.seed ?? 0x5eed;
  const entries = options.entries ?? 300;
  const runs = options.runs ?? Number(process.env.WARD_FUZZ_RUNS ?? 60);

  describe(`HashIndex differential suite: ${name}`, () => {
    it('starts empty: size 0, no matches at any radius, unknown ids are not removable', () => {
      const p = new Pair(make(), `${name} (empty)`);
      p.checkSize();
      const next = seededU32(seed);
      for (const r of SUITE_RADII) expect(p.index.query(randomHash(next), r)).toEqual([]);
      expect(p.index.remove(0)).toBe(false);
      expect(p.index.remove(12345)).toBe(false);
      p.checkSize();
    });

    it(`random entries with planted neighbours at every distance 0..63 (seed ${seed})`, () => {
      const next = seededU32(seed);
      const p = new Pair(make(), `${name} (seed ${seed})`);
      let id = 1000;
      const bases: Uint8Array[] = [];
      for (let i = 0; i < entries; i++) {
        const h = randomHash(next);
        p.add(h, id++);
        if (i % Math.max(1, Math.floor(entries / 4)) === 0) bases.push(h);
      }
      // Around each base: one entry at each distance 0..63 (exactly d distinct bits flipped).
      const planted: { base: Uint8Array; ids: number[] }[] = [];
      for (const base of bases) {
        const ids: number[] = [];
        for (let d = 0; d < 64; d++) {
          const h = flipBits(base, d, next);
          expect(hamming(h, base)).toBe(d);
          ids.push(id);
          p.add(h, id++);
        }
        planted.push({ base, ids });
      }
      p.checkSize();
      for (const { base, ids } of planted) {
        // Every radius 0..64 around the base, plus the suite's radii.
        for (let r = 0; r <= 64; r++) {
          const got = p.check(base, r, 'planted base');
          const ids2 = new Set(got.map(([i]) => i));
          for (let d = 0; d < 64; d++) {
            expect(ids2.has(ids[d] as number), `planted neighbour at distance ${d}, radius ${r}`).toBe(d <= r);
          }
        }
        for (const r of SUITE_RADII) p.check(base, r, 'planted base');
        // Queries a few bits away from the base: the planted set straddles every radius.
        for (const k of [1, 7, 16, 31, 40]) {
          const q = flipBits(base, k, next);
          for (const r of SUITE_RADII) p.check(q, r, `base with ${k} bits flipped`);
        }
      }
      // Random queries (matches only at large radii) and queries at stored entries.
      for (let i = 0; i < 20; i++) {
        const q = randomHash(next);
        for (const r of SUITE_RADII) p.check(q, r, 'random query');
      }
      for (const h of [...p.hashes.values()].filter((_, i) => i % 37 === 0)) {
        for (const r of SUITE_RADII) p.check(h, r, 'stored entry');
      }
    });

    it('reports the complement at exactly 256 and nothing closer', () => {
      const next = seededU32(seed + 1);
      const p = new Pair(make(), `${name} (complement)`);
      const h = randomHash(next);
      p.add(h, 7);
      const inverted = h.map((x) => x ^ 0xff);
      for (const r of SUITE_RADII) p.check(inverted, r, 'complement');
      expect(sortedMatches(p.index.query(inverted, 256))).toEqual([[7, 256]]);
      expect(p.index.query(inverted, 255)).toEqual([]);
    });

    it('duplicate hashes under different ids are all reported, and removed one by one', () => {
      const next = seededU32(seed + 2);
      const p = new Pair(make(), `${name} (duplicates)`);
      for (let i = 0; i < 50; i++) p.add(randomHash(next), 5000 + i);
      const h = randomHash(next);
      const dupIds = [1, 2, 3, 900, 0xffffffff, 0, 2 ** 31, 77];
      for (const id of dupIds) p.add(h, id);
      // A near duplicate of the duplicates, and a duplicate of a near duplicate.
      const near = flipBits(h, 3, next);
      p.add(near, 40);
      p.add(near, 41);
      for (const r of SUITE_RADII) p.check(h, r, 'duplicated hash');
      expect(sortedMatches(p.index.query(h, 0)).map(([id]) => id)).toEqual([...dupIds].sort((a, b) => a - b));
      for (const [k, id] of dupIds.entries()) {
        expect(p.remove(id)).toBe(true);
        expect(p.index.remove(id), 'second remove of the same id').toBe(false);
        p.checkSize();
        const left = sortedMatches(p.index.query(h, 0)).map(([i]) => i);
        expect(left).toEqual(dupIds.slice(k + 1).sort((a, b) => a - b));
        for (const r of [0, 3, 31]) p.check(h, r, `duplicates after removing ${k + 1}`);
      }
      p.check(near, 0, 'near duplicate');
      expect(sortedMatches(p.index.query(near, 0))).toEqual([
        [40, 0],
        [41, 0],
      ]);
    });

    it('copies added values and returns fresh result arrays', () => {
      const next = seededU32(seed + 3);
      const p = new Pair(make(), `${name} (aliasing)`);
      const h = randomHash(next);
      const other = randomHash(next);
      const scratch = Uint8Array.from(h);
      p.index.add(scratch, 1);
      p.ref.add(h, 1);
      p.hashes.set(1, h);
      p.live.add(1);
      scratch.fill(0); // the index must not see this
      p.add(other, 2);
      const first = p.index.query(h, 0);
      const firstCopy = sortedMatches(first);
      p.index.query(other, 0);
      p.index.query(randomHash(next), 256);
      expect(sortedMatches(first), 'an earlier result changed under a later query').toEqual(firstCopy);
      expect(firstCopy).toEqual([[1, 0]]);
      p.check(h, 0, 'after mutating the added buffer');
      p.check(new Uint8Array(32), 0, 'zero hash');
    });

    it(`a long seeded add/remove/query sequence matches the reference (seed ${seed})`, () => {
      const next = seededU32(seed + 4);
      const p = new Pair(make(), `${name} (sequence, seed ${seed})`);
      let nextId = 0xfffff000 - 4000; // near the top of u32 on purpose
      const live: number[] = [];
      const removed: number[] = [];
      for (let step = 0; step < 1500; step++) {
        const roll = next() % 100;
        if (roll < 55 || live.length === 0) {
          // add: fresh, near an existing entry, or an exact duplicate of one
          let h: Uint8Array;
          const kind = next() % 3;
          const existing = live.length > 0 ? p.hashes.get(live[next() % live.length] as number) : undefined;
          if (kind === 0 || !existing) h = randomHash(next);
          else if (kind === 1) h = flipBits(existing, next() % 64, next);
          else h = existing;
          const id = nextId++;
          p.add(h, id);
          live.push(id);
        } else if (roll < 85) {
          const at = next() % live.length;
          const id = live[at] as number;
          live[at] = live[live.length - 1] as number;
          live.pop();
          expect(p.remove(id)).toBe(true);
          removed.push(id);
        } else if (roll < 90) {
          // already removed, or never added
          const id =
            removed.length > 0 && next() % 2 === 0
              ? (removed[next() % removed.length] as number)
              : nextId + 1 + (next() % 1000);
          expect(p.remove(id)).toBe(false);
        } else {
          const base = live.length > 0 ? p.hashes.get(live[next() % live.length] as number) : undefined;
          const q = base ? flipBits(base, next() % 64, next) : randomHash(next);
          p.check(q, SUITE_RADII[next() % SUITE_RADII.length] as number, `step ${step}`);
        }
        p.checkSize();
      }
      // Removed entries never come back, not even at their own hash.
      for (const id of removed) {
        const h = p.hashes.get(id) as Uint8Array;
        expect(
          p.index.query(h, 0).some((m) => m.id === id),
          `removed id ${id} is still found`,
        ).toBe(false);
      }
      const all = p.check(new Uint8Array(32), 256, 'everything');
      expect(all.length).toBe(p.live.size);
    });

    it('add/remove/query interleavings (fast-check) match the reference', () => {
      const op = fc.oneof(
        {
          weight: 5,
          arbitrary: fc.record({
            kind: fc.constant('add' as const),
            source: fc.constantFrom('fresh', 'near', 'dup'),
            pick: fc.nat(),
            bits: fc.integer({ min: 0, max: 256 }),
            hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant('remove' as const),
            target: fc.constantFrom('live', 'removed', 'unknown'),
            pick: fc.nat(),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('query' as const),
            pick: fc.nat(),
            bits: fc.integer({ min: 0, max: 70 }),
            radius: fc.constantFrom(...SUITE_RADII),
          }),
        },
      );
      fc.assert(
        fc.property(
          fc.nat({ max: 0x7fff8000 }).map((x) => x * 2),
          fc.array(op, { maxLength: 120 }),
          (firstId, ops) => {
            const next = seededU32(firstId);
            const p = new Pair(make(), `${name} (fast-check)`);
            let nextId = firstId;
            const live: number[] = [];
            const removed: number[] = [];
            for (const o of ops) {
              if (o.kind === 'add') {
                const existing = live.length > 0 ? p.hashes.get(live[o.pick % live.length] as number) : undefined;
                let h: Uint8Array = o.hash;
                if (existing && o.source === 'near') h = flipBits(existing, o.bits, next);
                if (existing && o.source === 'dup') h = existing;
                p.add(h, nextId);
                live.push(nextId++);
              } else if (o.kind === 'remove') {
                let id: number;
                if (o.target === 'live' && live.length > 0) {
                  const at = o.pick % live.length;
                  id = live[at] as number;
                  live.splice(at, 1);
                  removed.push(id);
                } else if (o.target === 'removed' && removed.length > 0) {
                  id = removed[o.pick % removed.length] as number;
                } else {
                  id = nextId + 1 + (o.pick % 1000);
                }
                p.remove(id);
              } else {
                const base = live.length > 0 ? p.hashes.get(live[o.pick % live.length] as number) : undefined;
                p.check(base ? flipBits(base, o.bits, next) : new Uint8Array(32), o.radius, 'interleaved query');
              }
              p.checkSize();
            }
            for (const id of removed) {
              expect(p.index.query(p.hashes.get(id) as Uint8Array, 256).some((m) => m.id === id)).toBe(false);
            }
            expect(p.check(new Uint8Array(32), 256, 'everything').length).toBe(live.length);
          },
        ),
        { numRuns: runs },
      );
    });
  });
}

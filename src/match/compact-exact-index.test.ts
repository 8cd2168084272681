/**
 * CompactExactIndex against brute force: every answer (exact values and `{prefix}` queries) is
 * compared with a scan of the live (id, value) entries fed the same adds and removes, through
 * build, the pending side map, merges, tombstones and snapshots (bytes and file). Hits flagged
 * `confirm` (values longer than the 40 stored hex) are confirmed against the entry's value, as
 * the matcher does by id; unflagged hits must be exact on their own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../errors.js';
import { seededU32 } from '../testing/hash-index-suite.js';
import { CompactExactIndex, compactExactIndexKind } from './compact-exact-index.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 60);

function hexOf(next: () => number, length: number): string {
  let s = '';
  while (s.length < length) s += next().toString(16).padStart(8, '0');
  return s.slice(0, length);
}

type Query = string | { prefix: string };

/** The reference: a scan of live entries. */
function brute(entries: Map<number, string>, q: Query): number[] {
  const out: number[] = [];
  for (const [id, v] of entries) {
    if (typeof q === 'string' ? v === q : q.prefix !== '' && v.length > q.prefix.length && v.startsWith(q.prefix))
      out.push(id);
  }
  return out.sort((a, b) => a - b);
}

/** The index's answer, with `confirm` hits checked against the entry's value (as the matcher does). */
function ask(index: CompactExactIndex, entries: Map<number, string>, q: Query): number[] {
  const out: number[] = [];
  index.search(q, 0, (id, distance, detail) => {
    expect(distance).toBe(0);
    const v = entries.get(id);
    if (detail?.confirm) {
      expect(v, `confirm hit ${id} is a live entry`).toBeDefined();
      const ok = typeof q === 'string' ? v === q : (v as string).startsWith(q.prefix);
      if (ok) out.push(id);
    } else out.push(id);
  });
  return out.sort((a, b) => a - b);
}

/** Queries that hit and miss: every live value, its prefixes, near misses and random values. */
function queriesFor(entries: Map<number, string>, next: () => number): Query[] {
  const qs: Query[] = [];
  for (const v of [...entries.values()].slice(0, 60)) {
    qs.push(v, { prefix: v.slice(0, 10) }, { prefix: v.slice(0, 12) }, { prefix: v.slice(0, 7) });
    qs.push({ prefix: v.slice(0, 41) }, { prefix: v.slice(0, v.length - 1) });
    const last = v[v.length - 1] === '0' ? '1' : '0';
    qs.push(v.slice(0, -1) + last, `${v.slice(0, 40)}${hexOf(next, v.length - 40)}`.slice(0, v.length));
  }
  for (const len of [8, 10, 12, 32, 40, 64]) qs.push(hexOf(next, len), { prefix: hexOf(next, 3) });
  qs.push({ prefix: '' }, 'not hex', { prefix: 'not' });
  return qs;
}

function checkAll(index: CompactExactIndex, entries: Map<number, string>, next: () => number, what: string): void {
  expect(index.size, `${what}: size`).toBe(entries.size);
  expect(
    [...index.ids()].sort((a, b) => a - b),
    `${what}: ids`,
  ).toEqual([...entries.keys()].sort((a, b) => a - b));
  for (const q of queriesFor(entries, next))
    expect(ask(index, entries, q), `${what}: ${JSON.stringify(q)}`).toEqual(brute(entries, q));
}

/** A mixed bank: MD5s, SHA-1s, SHA-256s, AutoV2s, 12-hex AutoV3s, shared 40-hex prefixes, duplicates. */
function mixedBank(seed: number, n: number): Map<number, string> {
  const next = seededU32(seed);
  const entries = new Map<number, string>();
  const lengths = [32, 40, 64, 10, 12, 8];
  let id = 1;
  for (let i = 0; i < n; i++) {
    const len = lengths[i % lengths.length] as number;
    entries.set(id++, hexOf(next, len));
  }
  // SHA-256s sharing their first 40 hex (only the confirm step tells them apart), and duplicates.
  const base = hexOf(next, 64);
  for (let k = 0; k < 5; k++) entries.set(id++, base.slice(0, 40) + hexOf(next, 24));
  entries.set(id++, base);
  entries.set(id++, base);
  entries.set(id++, (entries.get(1) as string).slice(0, 10));
  // A value that is not lower-case hex goes to the fallback map.
  entries.set(id++, 'Not-Hex value');
  return entries;
}

describe('CompactExactIndex against brute force', () => {
  it('build(), then adds, removes, merges and snapshots', () => {
    const next = seededU32(17);
    const entries = mixedBank(1, 600);
    const index = CompactExactIndex.build(entries.entries());
    checkAll(index, entries, next, 'built');
    // Removes from the tables (tombstones), with a wrong value (refused) and an unknown id.
    for (const id of [1, 2, 3, 50, 51, 601, 602]) {
      const v = entries.get(id) as string;
      expect(index.remove(id + 100_000, v)).toBe(false);
      expect(index.remove(id, v)).toBe(true);
      expect(index.remove(id, v)).toBe(false);
      entries.delete(id);
    }
    checkAll(index, entries, next, 'after removes');
    // Adds go to the side map, then a remove of a pending add.
    let id = 10_000;
    for (let i = 0; i < 200; i++) {
      const v = hexOf(next, [32, 40, 64, 12][i % 4] as number);
      index.add(id, v);
      entries.set(id++, v);
    }
    index.add(id, entries.get(10) as string);
    entries.set(id++, entries.get(10) as string);
    expect(index.remove(10_005, entries.get(10_005) as string)).toBe(true);
    entries.delete(10_005);
    expect(index.stats().pending).toBeGreaterThan(0);
    checkAll(index, entries, next, 'with pending adds');
    index.merge();
    expect(index.stats()).toMatchObject({ pending: 0, tombstones: 0 });
    checkAll(index, entries, next, 'merged');
    const again = CompactExactIndex.load(index.serialize());
    checkAll(again, entries, next, 'loaded');
    const dir = mkdtempSync(join(tmpdir(), 'ward-exact-'));
    const file = join(dir, 'bank.exact');
    // A pending add and a tombstone at write time: writeFile merges both.
    const extra = hexOf(next, 64);
    index.add(id, extra);
    entries.set(id++, extra);
    expect(index.remove(4, entries.get(4) as string)).toBe(true);
    entries.delete(4);
    index.writeFile(file);
    checkAll(CompactExactIndex.loadFile(file), entries, next, 'loaded from a file');
    checkAll(compactExactIndexKind.loadFile?.(file) as CompactExactIndex, entries, next, 'kind.loadFile');
  });

  it('merges on its own when the pending adds outgrow the tables', () => {
    const next = seededU32(3);
    const entries = new Map<number, string>();
    const index = new CompactExactIndex();
    for (let id = 1; id <= 70_000; id++) {
      const v = hexOf(next, 64);
      index.add(id, v);
      entries.set(id, v);
    }
    expect(index.stats().pending).toBeLessThan(70_000);
    expect(index.stats().tables.reduce((s, t) => s + t.entries, 0)).toBeGreaterThan(0);
    checkAll(index, entries, next, 'auto-merged');
  });

  it('any interleaving of adds and removes (fast-check)', () => {
    const op = fc.oneof(
      fc.record({ add: fc.constantFrom(8, 10, 12, 32, 40, 41, 64), seed: fc.nat() }),
      fc.record({ remove: fc.nat({ max: 40 }) }),
      fc.record({ merge: fc.constant(true) }),
      fc.record({ snapshot: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(), (ops, seed) => {
        const next = seededU32(seed);
        const entries = new Map<number, string>();
        let index = new CompactExactIndex();
        let id = 1;
        const values: string[] = [];
        for (const o of ops) {
          if ('add' in o) {
            // Reuse a value (or its 40-hex start) sometimes: duplicates and confirm-only collisions.
            const r = seededU32(o.seed)();
            const old = values[r % Math.max(1, values.length)];
            let v = hexOf(next, o.add);
            if (old && r % 3 === 0 && old.length === o.add) v = old;
            else if (old && r % 3 === 1 && old.length === o.add && o.add > 40) v = old.slice(0, 40) + v.slice(40);
            index.add(id, v);
            entries.set(id++, v);
            values.push(v);
          } else if ('remove' in o) {
            const target = [...entries.keys()][o.remove % Math.max(1, entries.size)];
            if (target !== undefined) {
              expect(index.remove(target, entries.get(target) as string)).toBe(true);
              entries.delete(target);
            }
          } else if ('merge' in o) index.merge();
          else index = CompactExactIndex.load(index.serialize());
        }
        checkAll(index, entries, next, 'interleaved');
      }),
      { numRuns: RUNS },
    );
  });

  it('reports a 40-hex collision of longer values as a hit to confirm, never an unflagged one', () => {
    const a = `${'ab'.repeat(20)}${'0'.repeat(24)}`;
    const b = `${'ab'.repeat(20)}${'1'.repeat(24)}`;
    const index = CompactExactIndex.build([[7, a]]);
    const hits: [number, unknown][] = [];
    index.search(b, 0, (id, _d, detail) => hits.push([id, detail?.confirm]));
    expect(hits).toEqual([[7, true]]);
    const md5 = CompactExactIndex.build([[8, 'ab'.repeat(16)]]);
    md5.search('ab'.repeat(16), 0, (id, _d, detail) => hits.push([id, detail?.confirm]));
    expect(hits[1]).toEqual([8, undefined]);
  });

  it('stores a SHA-256 bank in 24 bytes an entry, an MD5 bank in 20', () => {
    const next = seededU32(5);
    const sha = CompactExactIndex.build(Array.from({ length: 1000 }, (_, i) => [i, hexOf(next, 64)] as const));
    expect(sha.stats().bytes).toBe(24 * 1000);
    const md5 = CompactExactIndex.build(Array.from({ length: 1000 }, (_, i) => [i, hexOf(next, 32)] as const));
    expect(md5.stats().bytes).toBe(20 * 1000);
  });

  it('fromKeys() (the bulk path) answers as build() does', () => {
    const next = seededU32(9);
    const values = Array.from({ length: 2000 }, () => hexOf(next, 64));
    values[5] = values[4] as string;
    const keys = new Uint32Array(values.length * 5);
    for (const [i, v] of values.entries())
      for (let w = 0; w < 5; w++) keys[i * 5 + w] = Number.parseInt(v.slice(w * 8, w * 8 + 8), 16);
    const ids = Uint32Array.from(values, (_, i) => i + 1);
    const entries = new Map(values.map((v, i) => [i + 1, v] as const));
    checkAll(CompactExactIndex.fromKeys(64, keys, ids), entries, next, 'fromKeys');
  });
});

describe('CompactExactIndex snapshots on damaged input', () => {
  const next = seededU32(11);
  const entries = mixedBank(2, 120);
  const good = CompactExactIndex.build(entries.entries()).serialize();

  const tryLoad = (bytes: Uint8Array): CompactExactIndex | string => {
    try {
      return CompactExactIndex.load(bytes);
    } catch (e) {
      if (WardError.is(e) && e.code === 'WARD_ERR_INDEX_SNAPSHOT') return e.code;
      throw new Error(`load threw something else: ${String(e)}`, { cause: e });
    }
  };

  it('a good snapshot loads with exactly its entries', () => {
    checkAll(tryLoad(good) as CompactExactIndex, entries, next, 'good');
  });

  it('any single flipped bit, including the header and the CRC itself, is rejected', () => {
    fc.assert(
      fc.property(fc.nat({ max: good.length * 8 - 1 }), (bit) => {
        const bytes = Uint8Array.from(good);
        bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(tryLoad(bytes)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS * 5 },
    );
    // Every bit of the header, exhaustively.
    for (let bit = 0; bit < 32 * 8; bit++) {
      const bytes = Uint8Array.from(good);
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(tryLoad(bytes), `header bit ${bit}`).toBe('WARD_ERR_INDEX_SNAPSHOT');
    }
  });

  it('truncated, extended and arbitrary bytes are rejected', () => {
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), (n) => {
        expect(tryLoad(good.subarray(0, n))).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS * 2 },
    );
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(tryLoad(longer)).toBe('WARD_ERR_INDEX_SNAPSHOT');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, magic) => {
        if (magic) bytes.set([...'WARDEXA1'].map((c) => c.charCodeAt(0)).slice(0, bytes.length));
        expect(tryLoad(bytes)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('a damaged file is rejected by loadFile too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ward-exact-bad-'));
    const file = join(dir, 'x.exact');
    const bytes = Uint8Array.from(good);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 4;
    writeFileSync(file, bytes);
    expect(() => CompactExactIndex.loadFile(file)).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_INDEX_SNAPSHOT' }),
    );
    writeFileSync(file, good.subarray(0, 100));
    expect(() => CompactExactIndex.loadFile(file)).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_INDEX_SNAPSHOT' }),
    );
  });
});

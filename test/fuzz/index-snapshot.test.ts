/**
 * Property tests for PdqIndex.load: arbitrary, truncated and bit-flipped bytes never throw
 * anything but WardError WARD_ERR_INDEX_SNAPSHOT, and every valid snapshot loads with exactly
 * its entries. Needs the WebAssembly kernel: `npm run build` first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { PdqIndex } from '../../src/match/pdq-index.js';
import { sortedMatches } from '../../src/testing/hash-index-suite.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 300);
const HEADER = 24;
const MAGIC = [...'WARDPDQ1'].map((c) => c.charCodeAt(0));

/** Loads, and returns the index or the error code; anything but a snapshot WardError fails. */
function tryLoad(bytes: Uint8Array): PdqIndex | 'WARD_ERR_INDEX_SNAPSHOT' {
  try {
    return PdqIndex.load(bytes);
  } catch (e) {
    if (WardError.is(e) && e.code === 'WARD_ERR_INDEX_SNAPSHOT') return e.code;
    throw new Error(`PdqIndex.load threw something else: ${WardError.is(e) ? e.code : String(e)}`, { cause: e });
  }
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE), written independently of the code under test. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A snapshot written from the format description: header, hashes, little-endian u32 ids; the
 * CRC (version 2) covers the header's first 20 bytes, then the body. Version 1's CRC covered the
 * body only.
 */
function craft(hashes: Uint8Array[], ids: number[], reserved = 0, version = 2): Uint8Array {
  const n = ids.length;
  const out = new Uint8Array(HEADER + n * 36);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, version, true);
  view.setUint32(12, n, true);
  view.setUint32(16, reserved, true);
  for (const [i, h] of hashes.entries()) out.set(h, HEADER + i * 32);
  for (const [i, id] of ids.entries()) view.setUint32(HEADER + n * 32 + i * 4, id, true);
  view.setUint32(20, version === 1 ? crc32(out.subarray(HEADER)) : checksum(out), true);
  return out;
}

/** Version 2's checksum of a whole snapshot: every byte but the CRC's own four. */
function checksum(bytes: Uint8Array): number {
  const covered = new Uint8Array(bytes.length - 4);
  covered.set(bytes.subarray(0, 20));
  covered.set(bytes.subarray(HEADER), 20);
  return crc32(covered);
}

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Entries with unique u32 ids (the HashIndex contract). */
const entries = fc
  .uniqueArray(fc.oneof(fc.nat({ max: 100 }), fc.bigInt({ min: 0n, max: 0xffffffffn }).map(Number)), { maxLength: 40 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(hash, { minLength: ids.length, maxLength: ids.length })));

/** Every entry of an index, as sorted (id, distance-from-zero) pairs. */
const contents = (index: PdqIndex): [number, number][] => sortedMatches(index.query(new Uint8Array(32), 256));

function popcount(bytes: Uint8Array): number {
  let d = 0;
  for (const b of bytes) for (let x = b; x; x &= x - 1) d++;
  return d;
}

/** A valid snapshot made by serialize(), with some entries removed before. */
const serialized = entries.chain(([ids, hashes]) =>
  fc.subarray(ids).map((gone) => {
    const index = new PdqIndex();
    for (const [i, id] of ids.entries()) index.add(hashes[i] as Uint8Array, id);
    for (const id of gone) index.remove(id);
    return { bytes: index.serialize(), index };
  }),
);

describe('PdqIndex.load on damaged input', () => {
  it('arbitrary bytes: only WARD_ERR_INDEX_SNAPSHOT', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(tryLoad(bytes)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes after a valid magic and version, with any count: only WARD_ERR_INDEX_SNAPSHOT', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1024 }),
        fc.oneof(fc.nat({ max: 40 }), fc.nat({ max: 0x7fffffff }), fc.constant(0xffffffff)),
        fc.boolean(),
        (body, count, consistentLength) => {
          // With consistentLength, the count agrees with the length, so only the checksum is left.
          const n = consistentLength ? Math.floor(body.length / 36) : count;
          const bytes = new Uint8Array(HEADER + (consistentLength ? n * 36 : body.length));
          bytes.set(MAGIC, 0);
          const view = new DataView(bytes.buffer);
          view.setUint32(8, 2, true);
          view.setUint32(12, n >>> 0, true);
          bytes.set(body.subarray(0, bytes.length - HEADER), HEADER);
          const got = tryLoad(bytes);
          if (got !== 'WARD_ERR_INDEX_SNAPSHOT') {
            // Only an (unlikely) matching checksum may load, and then with all of its entries.
            expect(checksum(bytes)).toBe(view.getUint32(20, true));
            expect(got.size).toBe(n);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('every strict prefix of a valid snapshot: WARD_ERR_INDEX_SNAPSHOT', () => {
    fc.assert(
      fc.property(serialized, fc.nat(), ({ bytes }, cut) => {
        const length = cut % bytes.length;
        expect(tryLoad(bytes.slice(0, length))).toBe('WARD_ERR_INDEX_SNAPSHOT');
        // And with bytes appended.
        const longer = new Uint8Array(bytes.length + 1 + (cut % 40));
        longer.set(bytes);
        expect(tryLoad(longer)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS },
    );
  });

  it('1-3 flipped bits anywhere, the reserved header field included: rejected', () => {
    fc.assert(
      fc.property(serialized, fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 3 }), ({ bytes }, picks) => {
        const bits = [...new Set(picks.map((p) => p % (bytes.length * 8)))];
        const damaged = Uint8Array.from(bytes);
        for (const b of bits) damaged[b >> 3] = (damaged[b >> 3] as number) ^ (1 << (b & 7));
        const got = tryLoad(damaged);
        // CRC-32 catches every error of up to 3 bits (at these sizes); since version 2 it covers
        // the header too, the reserved bytes 16-19 included (version 1 left them unchecked).
        expect(got, `flipped bits ${bits.join(',')} of ${bytes.length * 8}`).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS },
    );
  });

  it('overwritten and truncated bytes: only WARD_ERR_INDEX_SNAPSHOT, or a load of the same size', () => {
    fc.assert(
      fc.property(
        serialized,
        fc.array(fc.record({ at: fc.nat(), value: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        ({ bytes, index }, writes, cut) => {
          let damaged = Uint8Array.from(bytes);
          for (const w of writes) damaged[w.at % damaged.length] = w.value;
          if (cut !== undefined) damaged = damaged.slice(0, cut % (damaged.length + 1));
          const got = tryLoad(damaged);
          if (got !== 'WARD_ERR_INDEX_SNAPSHOT') expect(got.size).toBe(index.size);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('PdqIndex.load on older versions', () => {
  it('a version-1 snapshot (CRC over the body only) is rejected, never misread', () => {
    fc.assert(
      fc.property(entries, ([ids, hashes]) => {
        expect(tryLoad(craft(hashes, ids, 0, 1))).toBe('WARD_ERR_INDEX_SNAPSHOT');
        // The same bytes with the version set to 2 fail the version-2 checksum (the header is in it).
        const relabelled = craft(hashes, ids, 0, 1);
        new DataView(relabelled.buffer).setUint32(8, 2, true);
        expect(tryLoad(relabelled)).toBe('WARD_ERR_INDEX_SNAPSHOT');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('PdqIndex.load on valid snapshots', () => {
  it('a serialized index always loads, with the same entries, and re-serializes to the same bytes', () => {
    fc.assert(
      fc.property(serialized, ({ bytes, index }) => {
        const got = tryLoad(bytes);
        expect(got).not.toBe('WARD_ERR_INDEX_SNAPSHOT');
        if (got === 'WARD_ERR_INDEX_SNAPSHOT') return;
        expect(got.size).toBe(index.size);
        expect(contents(got)).toEqual(contents(index));
        expect(got.serialize()).toEqual(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('a snapshot written from the format description always loads with exactly its entries', () => {
    fc.assert(
      fc.property(entries, fc.nat({ max: 0x7fffffff }), fc.nat({ max: 7 }), ([ids, hashes], reserved, offset) => {
        const snapshot = craft(hashes, ids, reserved);
        // Also from a view at an offset into a larger buffer.
        const host = new Uint8Array(snapshot.length + offset);
        host.set(snapshot, offset);
        for (const bytes of [snapshot, host.subarray(offset)]) {
          const got = tryLoad(bytes);
          expect(got).not.toBe('WARD_ERR_INDEX_SNAPSHOT');
          if (got === 'WARD_ERR_INDEX_SNAPSHOT') return;
          expect(got.size).toBe(ids.length);
          const want = ids
            .map((id, i): [number, number] => [id, popcount(hashes[i] as Uint8Array)])
            .sort((a, b) => a[0] - b[0]);
          expect(contents(got)).toEqual(want);
          for (const [i, id] of ids.entries()) {
            expect(got.query(hashes[i] as Uint8Array, 0).some((m) => m.id === id)).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../errors.js';
import { bytesToHex, hammingBytes, parsePdq, pdqDistance, pdqMatches, pdqToBytes } from './distance.js';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);

/** Bit-by-bit reference for the popcount-based distance. */
function slowDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i++) {
    const x = Number.parseInt(a[i] as string, 16) ^ Number.parseInt(b[i] as string, 16);
    for (let k = 0; k < 4; k++) d += (x >> k) & 1;
  }
  return d;
}

describe('PDQ distance', () => {
  it('equals a bit-by-bit count, is symmetric, zero on itself, and obeys the triangle inequality', () => {
    fc.assert(
      fc.property(hash, hash, hash, (a, b, c) => {
        expect(pdqDistance(a, b)).toBe(slowDistance(a, b));
        expect(pdqDistance(a, b)).toBe(pdqDistance(b, a));
        expect(pdqDistance(a, a)).toBe(0);
        expect(pdqDistance(a, c)).toBeLessThanOrEqual(pdqDistance(a, b) + pdqDistance(b, c));
      }),
    );
  });

  it('is 256 against the complement', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const inverted = bytes.map((x) => x ^ 0xff);
        expect(hammingBytes(bytes, inverted)).toBe(256);
      }),
    );
  });

  it('round-trips hex <-> bytes and normalises case and whitespace', () => {
    fc.assert(fc.property(hash, (h) => bytesToHex(pdqToBytes(` ${h.toUpperCase()}\n`)) === h));
  });

  it('matches at <= 31 bits, inclusive', () => {
    const a = '0'.repeat(64);
    const b31 = `${'f'.repeat(7)}7${'0'.repeat(56)}`;
    const b32 = `${'f'.repeat(8)}${'0'.repeat(56)}`;
    expect(pdqDistance(a, b31)).toBe(31);
    expect(pdqMatches(a, b31)).toBe(true);
    expect(pdqMatches(a, b32)).toBe(false);
    expect(pdqMatches(a, b32, 32)).toBe(true);
  });

  it('rejects anything that is not 64 hex characters with WARD_ERR_SIGNAL_INVALID', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (/^\s*[0-9a-fA-F]{64}\s*$/.test(s)) return;
        try {
          parsePdq(s);
          expect.unreachable();
        } catch (e) {
          expect(WardError.is(e) && e.code).toBe('WARD_ERR_SIGNAL_INVALID');
        }
      }),
    );
    expect(() => parsePdq(undefined as unknown as string)).toThrow(WardError);
  });
});

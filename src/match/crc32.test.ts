/** CRC-32 for snapshots: native and table-driven agree, carry across pieces, and empty pieces keep the value. */
import { describe, expect, it } from 'vitest';
import { seededU32 } from '../testing/hash-index-suite.js';
import { crc32, crc32Js } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value and the table-driven one, in one piece or many', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const next = seededU32(1);
    const bytes = Uint8Array.from({ length: 100_000 }, () => next() & 255);
    const whole = crc32(bytes);
    expect(crc32Js(bytes)).toBe(whole);
    let c = 0;
    for (let i = 0; i < bytes.length; i += 7919) c = crc32(bytes.subarray(i, i + 7919), c);
    expect(c).toBe(whole);
  });

  it('an empty piece (even a view of an empty ArrayBuffer) leaves the value as it was', () => {
    const c = crc32(new Uint8Array([1, 2, 3]));
    expect(crc32(new Uint8Array(new ArrayBuffer(0)), c)).toBe(c);
    expect(crc32(new Uint8Array(new Uint32Array(0).buffer), c)).toBe(c);
    expect(crc32Js(new Uint8Array(0), c)).toBe(c);
  });
});

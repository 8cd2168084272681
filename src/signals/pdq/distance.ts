/**
 * @module signals/pdq/distance
 * PDQ hash encoding and Hamming distance, with the matching conventions.
 */
import { WardError } from '../../errors.js';

/** Two PDQ hashes match at Hamming distance <= 31 (of 256 bits): the reference's threshold. */
export const PDQ_MATCH_DISTANCE = 31;
/** Quality below this means the hash is too weak to act on: report it, do not match on it by default. */
export const PDQ_MIN_QUALITY = 50;

const HEX = '0123456789abcdef';

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

const PDQ_HEX = /^[0-9a-f]{64}$/;

/** Normalises a PDQ hash (trim, lowercase) or throws WARD_ERR_SIGNAL_INVALID. */
export function parsePdq(value: string): string {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!PDQ_HEX.test(v)) {
    throw new WardError('WARD_ERR_SIGNAL_INVALID', 'Expected a 64-hex PDQ hash', {
      expected: '64 hex characters',
      actual: typeof value === 'string' ? `${value.length} characters` : typeof value,
    });
  }
  return v;
}

/** 32 bytes from a 64-hex hash. */
export function pdqToBytes(hex: string): Uint8Array {
  const v = parsePdq(hex);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(v.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between two 32-byte hashes. */
export function hammingBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new WardError('WARD_ERR_SIGNAL_INVALID', 'Hashes of different lengths');
  let d = 0;
  let i = 0;
  for (; i + 4 <= a.length; i += 4) {
    const x =
      ((a[i] ^ b[i]) | ((a[i + 1] ^ b[i + 1]) << 8) | ((a[i + 2] ^ b[i + 2]) << 16) | ((a[i + 3] ^ b[i + 3]) << 24)) >>>
      0;
    d += popcount32(x);
  }
  for (; i < a.length; i++) d += popcount32(a[i] ^ b[i]);
  return d;
}

/** Hamming distance between two 64-hex PDQ hashes (0-256). */
export function pdqDistance(a: string, b: string): number {
  return hammingBytes(pdqToBytes(a), pdqToBytes(b));
}

/** True when the hashes are within `threshold` bits (default 31, inclusive). */
export function pdqMatches(a: string, b: string, threshold = PDQ_MATCH_DISTANCE): boolean {
  return pdqDistance(a, b) <= threshold;
}

/** Secrets at rest (src/secrets): AES-256-GCM under WARD_SECRET_KEY; all-zero, other and tampered refused. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealed, openSecret, parseSecretKey, sealSecret } from '../../src/secrets/index.js';

describe('sealed secrets', () => {
  const key = randomBytes(32);
  it('round-trips any text and never contains it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 200 }), (s) => {
        const sealed = sealSecret(s, key);
        expect(isSealed(sealed)).toBe(true);
        expect(sealed.includes(s)).toBe(false);
        expect(openSecret(sealed, key)).toBe(s);
      }),
      { numRuns: 200 },
    );
    expect(sealSecret('same', key)).not.toBe(sealSecret('same', key)); // a fresh nonce each time
  });
  it('refuses an all-zero key, a short key, another key and a tampered value', () => {
    expect(() => parseSecretKey('0'.repeat(64))).toThrow(/all zeros/);
    expect(() => parseSecretKey(Buffer.alloc(32).toString('base64'))).toThrow(/all zeros/);
    expect(() => parseSecretKey('abcd')).toThrow(expect.objectContaining({ code: 'WARD_ERR_SECRET_KEY' }));
    expect(parseSecretKey(key.toString('hex')).equals(key)).toBe(true);
    expect(() => sealSecret('x', Buffer.alloc(32))).toThrow(expect.objectContaining({ code: 'WARD_ERR_SECRET_KEY' }));
    const sealed = sealSecret('whsec_abc', key);
    expect(() => openSecret(sealed, randomBytes(32))).toThrow(/another key/);
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3] as string, 'base64url');
    ct[0] = (ct[0] as number) ^ 1;
    parts[3] = ct.toString('base64url');
    expect(() => openSecret(parts.join('.'), key)).toThrow(/does not open/);
    expect(() => openSecret('plain', key)).toThrow(/Not a sealed secret/);
  });
  it('takes the key from WARD_SECRET_KEY', () => {
    const before = process.env.WARD_SECRET_KEY;
    process.env.WARD_SECRET_KEY = key.toString('hex');
    try {
      expect(openSecret(sealSecret('from env'))).toBe('from env');
    } finally {
      if (before === undefined) delete process.env.WARD_SECRET_KEY;
      else process.env.WARD_SECRET_KEY = before;
    }
  });
});

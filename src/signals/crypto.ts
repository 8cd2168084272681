/**
 * @module signals/crypto
 * Cryptographic file hashes as signal types: exact match only, recognised by their hex length
 * (64 hex is shared with pdq, autov3 and blake3: a bank import then needs the type given).
 */
import { WardError } from '../errors.js';
import { compactExactIndexKind } from '../match/compact-exact-index.js';
import type { SignalType } from './types.js';

function exactHex(name: string, hexLength: number, example: string): SignalType {
  const pattern = new RegExp(`^[0-9a-f]{${hexLength}}$`);
  const parse = (value: string): string => {
    const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
    if (!pattern.test(v)) {
      throw new WardError('WARD_ERR_SIGNAL_INVALID', `Expected a ${hexLength}-hex ${name} hash`, {
        expected: `${hexLength} hex characters`,
        actual: typeof value === 'string' ? `${value.length} characters` : typeof value,
      });
    }
    return v;
  };
  return {
    name,
    contentTypes: ['image', 'video', 'model', 'other'],
    parse,
    defaultThreshold: 0,
    compare: (a, b) => {
      const match = parse(a) === parse(b);
      return { match, distance: match ? 0 : 1 };
    },
    examples: [example],
    matching: 'exact',
    detect: (value) => pattern.test(value.trim().toLowerCase()),
    index: compactExactIndexKind,
  };
}

/** MD5 of the file bytes. */
export const md5Signal = exactHex('md5', 32, 'd41d8cd98f00b204e9800998ecf8427e');
/** SHA-1 of the file bytes. */
export const sha1Signal = exactHex('sha1', 40, 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
/** SHA-256 of the file bytes. */
export const sha256Signal = exactHex('sha256', 64, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

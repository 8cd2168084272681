/**
 * @module signals/model-hashes
 * Model identity hashes as signal types, in the forms hubs and generation tools print them
 * (models/hashes computes them): exact match only. `sha256` (signals/crypto) is a model's
 * Civitai SHA256 too: the full-file digest every scanned item gets.
 */
import { WardError } from '../errors.js';
import { compactExactIndexKind } from '../match/compact-exact-index.js';
import type { QueryPlan, SignalType } from './types.js';

function hexSignal(
  name: string,
  lengths: readonly number[],
  what: string,
  example: string,
  extra: Partial<Pick<SignalType, 'detect' | 'queries'>> = {},
): SignalType {
  const pattern = new RegExp(`^(?:${lengths.map((n) => `[0-9a-f]{${n}}`).join('|')})$`);
  const expected = `${lengths.join(' or ')} hex characters`;
  const parse = (value: string): string => {
    const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
    if (!pattern.test(v)) {
      throw new WardError('WARD_ERR_SIGNAL_INVALID', `Expected ${expected} for ${what}`, {
        expected,
        actual: typeof value === 'string' ? `${value.length} characters` : typeof value,
      });
    }
    return v;
  };
  return {
    name,
    contentTypes: ['model'],
    parse,
    defaultThreshold: 0,
    compare: (a, b) => {
      const x = parse(a);
      const y = parse(b);
      // A 12-hex AutoV3 is the prefix Civitai shows of the 64-hex one.
      const match = x === y || (x.length !== y.length && (x.startsWith(y) || y.startsWith(x)));
      return { match, distance: match ? 0 : 1 };
    },
    examples: [example],
    matching: 'exact',
    index: compactExactIndexKind,
    ...extra,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
const hex64 = (value: string): boolean => HEX64.test(value.trim().toLowerCase());

/** The value lower-cased, or undefined when it is not a string of one of `lengths` hex. */
function hexOf(value: unknown, lengths: readonly number[]): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return /^[0-9a-f]+$/.test(v) && lengths.includes(v.length) ? v : undefined;
}

/** Legacy AUTOMATIC1111 model hash: SHA-256 of 64 KiB at offset 1 MiB, first 8 hex. */
// 8 and 10 hex are not detected from a bare value: a length alone cannot tell an AutoV1 from a CRC.
export const autov1Signal = hexSignal('autov1', [8], 'an AutoV1 (legacy A1111) model hash', 'e3b0c442');
/**
 * Civitai AutoV2: the first 10 hex of the file's SHA-256, so it also asks SHA-256 entries by
 * prefix (a bank of full model digests matches the AutoV2 a generation tool wrote).
 */
export const autov2Signal = hexSignal('autov2', [10], 'an AutoV2 model hash', 'e3b0c44298', {
  queries(value): QueryPlan {
    const v = hexOf(value, [10]);
    if (v === undefined) return { queries: [], skipped: ['autov2: not a 10-hex hash'] };
    return {
      queries: [
        { target: 'autov2', query: v },
        { target: 'sha256', query: { prefix: v } },
      ],
    };
  },
});
/** AutoV3: SHA-256 of a safetensors data section (kohya sshs_model_hash); 12-hex prefixes accepted. */
export const autov3Signal = hexSignal(
  'autov3',
  [64, 12],
  'an AutoV3 model hash',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  {
    detect: hex64,
    // A full AutoV3 also matches an entry holding its 12-hex prefix (as Civitai shows it), and a
    // 12-hex one matches full entries.
    queries(value): QueryPlan {
      const v = hexOf(value, [64, 12]);
      if (v === undefined) return { queries: [], skipped: ['autov3: not a 64- or 12-hex hash'] };
      return v.length === 64
        ? {
            queries: [
              { target: 'autov3', query: v },
              { target: 'autov3', query: v.slice(0, 12) },
            ],
          }
        : {
            queries: [
              { target: 'autov3', query: v },
              { target: 'autov3', query: { prefix: v } },
            ],
          };
    },
  },
);
/** BLAKE3 of the model file. */
export const blake3Signal = hexSignal(
  'blake3',
  [64],
  'a BLAKE3 hash',
  'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
  { detect: hex64 },
);

/** Signal types whose values may be a prefix of the item's value: the prefix length to also look up. */
export const PREFIX_LOOKUPS: Readonly<Record<string, number>> = { autov3: 12 };

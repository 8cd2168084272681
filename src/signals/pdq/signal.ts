/**
 * @module signals/pdq/signal
 * PDQ as a signal type: Hamming distance, match at <= 31 bits (each bank's `pdqDistance`), the
 * quality gate (hashes under 50 are too weak to act on), and dihedral queries (the 8 rotations
 * and flips of the image, from `pdqDihedral`). Bank entries live in the multi-index.
 */
import { pdqIndexKind } from '../../match/pdq-signal-index.js';
import type { QueryPlan, SignalQuery, SignalType } from '../types.js';
import { DIHEDRAL_NAMES } from './dihedral.js';
import { PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY, parsePdq, pdqDistance } from './distance.js';

const HEX64 = /^[0-9a-f]{64}$/i;

export const pdqSignal: SignalType = {
  name: 'pdq',
  contentTypes: ['image', 'video'],
  parse: parsePdq,
  defaultThreshold: PDQ_MATCH_DISTANCE,
  compare: (a, b, threshold = PDQ_MATCH_DISTANCE) => {
    const distance = pdqDistance(a, b);
    return { match: distance <= threshold, distance };
  },
  examples: [
    // python-threatexchange's sample-b.jpg and one of its dihedral variants.
    'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22',
    '30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af',
  ],
  matching: 'distance',
  bankDistance: true,
  detect: (value) => HEX64.test(value.trim()),
  index: pdqIndexKind,
  queries(value, item, options): QueryPlan {
    if (typeof value !== 'string') return { queries: [], skipped: ['pdq: not a hash'] };
    let hash: string;
    try {
      hash = parsePdq(value);
    } catch {
      return { queries: [], skipped: ['pdq: not a 64-hex hash'] };
    }
    const quality = typeof item.quality === 'number' ? item.quality : 100;
    const gate = options.minQuality ?? PDQ_MIN_QUALITY;
    if (quality < gate && !options.includeWeak) {
      return {
        queries: [],
        skipped: [`pdq: quality ${quality} < ${gate}`],
        weak: `PDQ quality ${quality} is below ${gate}: too weak to match`,
      };
    }
    const dihedral = item.pdqDihedral;
    if (options.dihedral && Array.isArray(dihedral) && dihedral.length === 8) {
      const queries: SignalQuery[] = [];
      for (const [i, h] of dihedral.entries()) {
        if (typeof h !== 'string' || !HEX64.test(h)) continue;
        queries.push({ target: 'pdq', query: h.toLowerCase(), transform: DIHEDRAL_NAMES[i] as string });
      }
      return { queries };
    }
    return { queries: [{ target: 'pdq', query: hash }] };
  },
};

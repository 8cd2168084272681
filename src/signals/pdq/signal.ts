/**
 * @module signals/pdq/signal
 * PDQ as a signal type: Hamming distance, match at <= 31 bits.
 */
import type { SignalType } from '../types.js';
import { PDQ_MATCH_DISTANCE, parsePdq, pdqDistance } from './distance.js';

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
};

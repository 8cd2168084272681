/**
 * @module video/signal
 * vPDQ as a signal type. Values are frame lists in Ward's compact form (`pdqhex:quality:seconds`
 * per frame, separated by spaces); python-threatexchange's JSON list and the reference's text
 * lines are accepted and normalised to it. Two values match by the vPDQ rule (video/match).
 */
import { pdqSignal } from '../signals/pdq/signal.js';
import type { SignalType } from '../signals/types.js';
import { matchVpdq } from './match.js';
import { parseVpdq, parseVpdqValue, toCompact, VPDQ_DISTANCE_THRESHOLD } from './vpdq.js';

export const vpdqSignal: SignalType = {
  name: 'vpdq',
  contentTypes: ['video'],
  parse: parseVpdqValue,
  // The frame distance; the percentages have their own thresholds (80% of the query, 0% of the other).
  defaultThreshold: VPDQ_DISTANCE_THRESHOLD,
  compare: (a, b, threshold = VPDQ_DISTANCE_THRESHOLD) => {
    const r = matchVpdq(parseVpdq(a), parseVpdq(b), { distance: threshold });
    return { match: r.match, distance: r.distance };
  },
  // As python-threatexchange builds its example: PDQ's examples as frames at 0 s and 1 s.
  examples: [toCompact(pdqSignal.examples.map((pdq, i) => ({ pdq, quality: 100, seconds: i })))],
};

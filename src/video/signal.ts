/**
 * @module video/signal
 * vPDQ as a signal type. Values are frame lists in Ward's compact form (`pdqhex:quality:seconds`
 * per frame, separated by spaces); python-threatexchange's JSON list and the reference's text
 * lines are accepted and normalised to it. Two values match by the vPDQ rule (video/match); bank
 * entries live in a VpdqIndex (one PdqIndex of every video's frames), within each bank's PDQ
 * distance.
 */
import { pdqSignal } from '../signals/pdq/signal.js';
import type { QueryPlan, SignalType } from '../signals/types.js';
import { vpdqIndexKind } from './index-kind.js';
import { matchVpdq } from './match.js';
import {
  looksCompact,
  parseVpdq,
  parseVpdqValue,
  toCompact,
  VPDQ_DISTANCE_THRESHOLD,
  VPDQ_QUALITY_THRESHOLD,
  type VpdqFrame,
} from './vpdq.js';

/** The start of python-threatexchange's vPDQ signal string: `["pdqhex,quality,timestamp", …`. */
const VPDQ_JSON = /^\[\s*"[0-9a-f]{64},/i;

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
  matching: 'distance',
  bankDistance: true,
  // A frame list says what it is: Ward's `pdqhex:quality:seconds …` or python-threatexchange's JSON list.
  detect: (value) => {
    const v = value.trim();
    return looksCompact(v) || VPDQ_JSON.test(v);
  },
  index: vpdqIndexKind,
  queries(value, _item, options): QueryPlan {
    let frames: readonly Pick<VpdqFrame, 'pdq' | 'quality'>[];
    try {
      // Frame objects (a library caller's hashVideo result) as they are; text forms parsed.
      frames =
        Array.isArray(value) && value.every((f) => typeof f === 'object' && f !== null && 'pdq' in f)
          ? (value as VpdqFrame[])
          : typeof value === 'string' || Array.isArray(value)
            ? parseVpdq(value as string)
            : [];
    } catch {
      return { queries: [], skipped: ['vpdq: not a frame list'] };
    }
    if (frames.length === 0) return { queries: [] };
    const gate = options.minQuality ?? VPDQ_QUALITY_THRESHOLD;
    if (!frames.some((f) => f.quality >= gate) && !options.includeWeak) {
      return {
        queries: [],
        skipped: [`vpdq: no frame of quality ≥ ${gate}`],
        weak: `No vPDQ frame has quality ${gate} or more: too weak to match`,
      };
    }
    const query = {
      frames,
      queryMatchPercent: options.vpdqQueryPercent,
      comparedMatchPercent: options.vpdqComparedPercent,
    };
    return { queries: [{ target: 'vpdq', query }] };
  },
};

/**
 * @module signals/tensorfp
 * The `tensorfp` signal type: a model's weight fingerprint (models/tensorfp), matched by
 * distance. Its index is a brute force over parsed values (bank entries are parsed once, not per
 * query) whose hits carry the layers compared, the section compared and the raw Hamming distance,
 * so match results can show them. Model banks hold thousands of entries, not millions.
 */
import { WardError } from '../errors.js';
import {
  compareParsed,
  type ParsedFingerprint,
  parseFingerprint,
  TFP_PREFIX,
  TFP_THRESHOLD,
} from '../models/tensorfp.js';
import type { HitSink, QueryPlan, SignalIndex, SignalIndexKind, SignalType } from './types.js';

/** The parsed form of a query value, kept for the next queries (one item asks every bank). */
let lastQuery: { value: string; parsed: ParsedFingerprint } | undefined;

function parsedQuery(value: string): ParsedFingerprint {
  if (lastQuery?.value === value) return lastQuery.parsed;
  const parsed = parseFingerprint(value);
  lastQuery = { value, parsed };
  return parsed;
}

export class TensorFpIndex implements SignalIndex {
  private readonly entries = new Map<number, { value: string; parsed: ParsedFingerprint }>();

  get size(): number {
    return this.entries.size;
  }

  add(id: number, value: string): void {
    this.entries.set(id, { value, parsed: parseFingerprint(value) });
  }

  remove(id: number, value: string): boolean {
    if (this.entries.get(id)?.value !== value) return false;
    return this.entries.delete(id);
  }

  search(query: unknown, radius: number, hit: HitSink): void {
    if (typeof query !== 'string') return;
    let q: ParsedFingerprint;
    try {
      q = parsedQuery(query);
    } catch (e) {
      if (WardError.is(e)) return;
      throw e;
    }
    for (const [id, e] of this.entries) {
      const c = compareParsed(q, e.parsed, radius);
      if (c.match) {
        hit(id, c.distance, {
          layersCompared: c.layersCompared,
          domain: c.domain,
          hamming: Number(c.hamming.toFixed(6)),
        });
      }
    }
  }

  ids(): Iterable<number> {
    return this.entries.keys();
  }
}

export const tensorFpIndexKind: SignalIndexKind = {
  name: 'tensorfp-linear',
  build(entries) {
    const index = new TensorFpIndex();
    for (const [id, value] of entries) index.add(id, value);
    return index;
  },
};

export const tensorfpSignal: SignalType = {
  name: 'tensorfp',
  contentTypes: ['model'],
  parse(value: string): string {
    parseFingerprint(value);
    return value.trim();
  },
  defaultThreshold: TFP_THRESHOLD,
  compare(a, b, threshold = TFP_THRESHOLD) {
    const c = compareParsed(parseFingerprint(a), parseFingerprint(b), threshold);
    return { match: c.match, distance: c.distance };
  },
  examples: [
    // Four delta layers (ids 1-4), bits 0x00.. / 0xff.. alternating: a valid value, not a real model.
    `${TFP_PREFIX}AQgEAAAAAAAAAAEAAAAAAAAAAAAAAAIAAAD__________wMAAAAAAAAAAAAAAAQAAAD__________w`,
  ],
  matching: 'distance',
  detect: (value) => typeof value === 'string' && value.trim().startsWith(TFP_PREFIX),
  index: tensorFpIndexKind,
  queries(value): QueryPlan {
    if (typeof value !== 'string' || !value.startsWith(TFP_PREFIX)) {
      return { queries: [], skipped: ['tensorfp: not a tfp1. value'] };
    }
    return { queries: [{ target: 'tensorfp', query: value }] };
  },
};

/**
 * @module match/exact-index
 * The index of exact signal types (file digests, model identity hashes): value → entry id, plus
 * prefix lookups (`{prefix}` queries: an AutoV2 against SHA-256 entries, a 12-hex AutoV3 against
 * 64-hex ones) through sorted keys built on first use (most banks are never asked).
 */
import type { HitSink, SignalIndex, SignalIndexKind } from '../signals/types.js';

/** A `{prefix}` query: entries whose value starts with it (and is longer). */
export interface PrefixQuery {
  prefix: string;
}

export function isPrefixQuery(q: unknown): q is PrefixQuery {
  return typeof q === 'object' && q !== null && typeof (q as PrefixQuery).prefix === 'string';
}

export class ExactIndex implements SignalIndex {
  private readonly map = new Map<string, number>();
  /** Values sorted, for prefix queries; dropped whenever the map changes. */
  private sorted: string[] | undefined;

  get size(): number {
    return this.map.size;
  }

  add(id: number, value: string): void {
    this.map.set(value, id);
    this.sorted = undefined;
  }

  remove(id: number, value: string): boolean {
    if (this.map.get(value) !== id) return false;
    this.map.delete(value);
    this.sorted = undefined;
    return true;
  }

  search(query: unknown, _radius: number, hit: HitSink): void {
    if (typeof query === 'string') {
      const id = this.map.get(query);
      if (id !== undefined) hit(id, 0);
      return;
    }
    if (!isPrefixQuery(query) || query.prefix === '') return;
    const sorted = (this.sorted ??= [...this.map.keys()].sort());
    const p = query.prefix;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as string) < p) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length; i++) {
      const v = sorted[i] as string;
      if (!v.startsWith(p)) break;
      if (v.length > p.length) hit(this.map.get(v) as number, 0);
    }
  }

  ids(): Iterable<number> {
    return this.map.values();
  }

  /** The id of one value (undefined when absent). */
  get(value: string): number | undefined {
    return this.map.get(value);
  }
}

export const exactIndexKind: SignalIndexKind = {
  name: 'exact',
  build(entries) {
    const index = new ExactIndex();
    for (const [id, value] of entries) index.add(id, value);
    return index;
  },
};

/**
 * @module match/linear-index
 * The brute-force index any signal type gets by default: every query is compared with every
 * entry by the type's own `compare`. Obviously correct (it is the reference fast indexes are
 * held to), and fast enough for small banks of a new signal type.
 */
import type { HitSink, SignalIndex, SignalIndexKind, SignalType } from '../signals/types.js';

export class LinearSignalIndex implements SignalIndex {
  private readonly entries = new Map<number, string>();

  constructor(private readonly type: SignalType) {}

  get size(): number {
    return this.entries.size;
  }

  add(id: number, value: string): void {
    this.entries.set(id, value);
  }

  remove(id: number, value: string): boolean {
    if (this.entries.get(id) !== value) return false;
    return this.entries.delete(id);
  }

  search(query: unknown, radius: number, hit: HitSink): void {
    if (typeof query !== 'string') return;
    for (const [id, value] of this.entries) {
      const c = this.type.compare(query, value, radius);
      if (c.distance <= radius) hit(id, c.distance);
    }
  }

  ids(): Iterable<number> {
    return this.entries.keys();
  }
}

/** The linear index kind of one signal type. */
export function linearIndexKind(type: SignalType): SignalIndexKind {
  return {
    name: 'linear',
    build(entries) {
      const index = new LinearSignalIndex(type);
      for (const [id, value] of entries) index.add(id, value);
      return index;
    },
  };
}

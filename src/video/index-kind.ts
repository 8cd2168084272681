/**
 * @module video/index-kind
 * VpdqIndex (video/match) as a signal index: values are frame lists in Ward's compact form;
 * a query is the item's frames and the two percentage thresholds; hits carry both percentages.
 */
import { readFileSync } from 'node:fs';
import type { HitSink, SignalIndex, SignalIndexKind } from '../signals/types.js';
import { compactFrames, VpdqIndex } from './match.js';

/** What the vpdq signal type's queries ask a VpdqIndex. */
export interface VpdqQuery {
  frames: readonly { pdq: string; quality: number }[];
  queryMatchPercent?: number;
  comparedMatchPercent?: number;
}

export class VpdqSignalIndex implements SignalIndex {
  constructor(readonly vpdq: VpdqIndex = new VpdqIndex()) {}

  get size(): number {
    return this.vpdq.size;
  }

  add(id: number, value: string): void {
    this.vpdq.add(id, compactFrames(value));
  }

  remove(id: number, _value: string): boolean {
    return this.vpdq.remove(id);
  }

  search(query: unknown, radius: number, hit: HitSink): void {
    const q = query as VpdqQuery;
    if (!q || !Array.isArray(q.frames)) return;
    for (const m of this.vpdq.query(q.frames, {
      distance: radius,
      queryMatchPercent: q.queryMatchPercent,
      comparedMatchPercent: q.comparedMatchPercent,
    })) {
      hit(m.id, m.distance, { queryMatchPercent: m.queryMatchPercent, comparedMatchPercent: m.comparedMatchPercent });
    }
  }

  ids(): Iterable<number> {
    return this.vpdq.ids();
  }

  serialize(): Uint8Array {
    return this.vpdq.serialize();
  }
}

export const vpdqIndexKind: SignalIndexKind = {
  name: 'vpdq',
  build(entries) {
    return new VpdqSignalIndex(
      VpdqIndex.build(
        (function* () {
          for (const [id, value] of entries) yield [id, compactFrames(value)] as const;
        })(),
      ),
    );
  },
  load: (bytes) => new VpdqSignalIndex(VpdqIndex.load(bytes)),
  loadFile: (path) => new VpdqSignalIndex(VpdqIndex.load(readFileSync(path))),
};

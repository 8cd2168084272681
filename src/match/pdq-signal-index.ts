/**
 * @module match/pdq-signal-index
 * The PDQ multi-index (match/pdq-index) as a signal index: values are 64-hex PDQ hashes, queries
 * a hex hash or its 32 bytes. Snapshots are PdqIndex's own format, loaded streamed from a file.
 */
import type { HitSink, SignalIndex, SignalIndexBuilder, SignalIndexKind } from '../signals/types.js';
import { loadPdqIndexFile, PdqIndex } from './pdq-index.js';

export class PdqSignalIndex implements SignalIndex {
  private readonly scratch = Buffer.alloc(32);

  constructor(readonly pdq: PdqIndex = new PdqIndex()) {}

  get size(): number {
    return this.pdq.size;
  }

  add(id: number, value: string): void {
    this.scratch.write(value, 0, 32, 'hex');
    this.pdq.add(this.scratch, id);
  }

  remove(id: number, _value: string): boolean {
    return this.pdq.remove(id);
  }

  search(query: unknown, radius: number, hit: HitSink): void {
    let bytes: Uint8Array;
    if (typeof query === 'string') {
      this.scratch.write(query, 0, 32, 'hex');
      bytes = this.scratch;
    } else if (query instanceof Uint8Array) bytes = query;
    else return;
    const n = this.pdq.queryInto(bytes, radius);
    const ids = this.pdq.resultIds();
    const distances = this.pdq.resultDistances();
    for (let i = 0; i < n; i++) hit(ids[i] as number, distances[i] as number);
  }

  ids(): Iterable<number> {
    return this.pdq.liveIds();
  }

  serialize(): Uint8Array {
    return this.pdq.serialize();
  }
}

/** Entries into flat arrays as they come; PdqIndex.build sorts and packs them in one pass. */
function pdqBuilder(): SignalIndexBuilder {
  let hashes = Buffer.alloc(32 * 1024);
  let ids = new Uint32Array(1024);
  let n = 0;
  return {
    push(id, value) {
      if (n === ids.length) {
        const h = Buffer.alloc(hashes.length * 2);
        hashes.copy(h);
        hashes = h;
        const i = new Uint32Array(ids.length * 2);
        i.set(ids);
        ids = i;
      }
      hashes.write(value, n * 32, 32, 'hex');
      ids[n++] = id;
    },
    finish: () => new PdqSignalIndex(PdqIndex.build(hashes.subarray(0, n * 32), ids.subarray(0, n))),
  };
}

export const pdqIndexKind: SignalIndexKind = {
  name: 'pdq-mih',
  build(entries) {
    const b = pdqBuilder();
    for (const [id, value] of entries) b.push(id, value);
    return b.finish();
  },
  builder: pdqBuilder,
  load: (bytes) => new PdqSignalIndex(PdqIndex.load(bytes)),
  loadFile: (path) => new PdqSignalIndex(loadPdqIndexFile(path)),
};

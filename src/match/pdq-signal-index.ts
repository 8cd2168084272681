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

  /** An image snapshot (tables included: loads with no rebuild), streamed; loadFile reads it. */
  writeFile(path: string): void {
    this.pdq.writeImage(path);
  }
}

/**
 * Entries into blocks of 2^20 as they come (no doubling copies, no single buffer over 4 GiB at
 * 100 million entries), then each segment's share copied out of them: PdqIndex.build sorts and
 * packs each segment in one pass. Bank loading pushes page by page.
 */
function pdqBuilder(): SignalIndexBuilder {
  const BLOCK = 1 << 20;
  const blocks: { hashes: Buffer; ids: Uint32Array }[] = [];
  let n = 0;
  return {
    push(id, value) {
      const k = n % BLOCK;
      if (k === 0) blocks.push({ hashes: Buffer.alloc(32 * BLOCK), ids: new Uint32Array(BLOCK) });
      const b = blocks[blocks.length - 1] as { hashes: Buffer; ids: Uint32Array };
      b.hashes.write(value, k * 32, 32, 'hex');
      b.ids[k] = id;
      n++;
    },
    finish() {
      if (n <= BLOCK) {
        const b = blocks[0];
        return new PdqSignalIndex(
          b ? PdqIndex.build(b.hashes.subarray(0, n * 32), b.ids.subarray(0, n)) : new PdqIndex(),
        );
      }
      return new PdqSignalIndex(
        PdqIndex.fromParts(n, (from, to, hashes, ids) => {
          for (let i = from; i < to; ) {
            const b = blocks[Math.floor(i / BLOCK)] as { hashes: Buffer; ids: Uint32Array };
            const k = i % BLOCK;
            const take = Math.min(to - i, BLOCK - k);
            hashes.set(b.hashes.subarray(k * 32, (k + take) * 32), (i - from) * 32);
            ids.set(b.ids.subarray(k, k + take), i - from);
            i += take;
          }
        }),
      );
    },
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

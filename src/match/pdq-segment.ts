/**
 * @module match/pdq-segment
 * One WebAssembly instance of assembly/pdq-index.ts: an immutable multi-index segment, or a
 * linear (brute-force) one. The instance's memory holds the hashes, ids and bucket tables.
 * @internal
 */
import { WardError } from '../errors.js';
import { builtFile } from '../runtime-paths.js';
import { instantiateWasm } from '../wasm.js';

interface IndexExports {
  memory: { buffer: ArrayBuffer };
  reserve(count: number, chunks: number, maxResults: number): number;
  setCapacity(maxResults: number): boolean;
  setCount(count: number): void;
  resultsPtr(): number;
  queryPtr(): number;
  build(): void;
  linear(radius: number): number;
  query(radius: number): number;
  probesPerChunk(len: number, t: number): number;
}

function instantiate(): IndexExports {
  return instantiateWasm<IndexExports>(builtFile(import.meta.url, './pdq-index.wasm'), 'PDQ index');
}

/** Most entries one segment holds: positions are stored in 3 bytes. */
export const MAX_SEGMENT_ENTRIES = 1 << 24;
/** Below this, a segment is scanned linearly (a multi-index would not pay for its tables). */
export const MIN_MIH_ENTRIES = 1 << 16;
const INITIAL_RESULTS = 4096;

/**
 * Chooses the number of chunks for n entries: the fewest expected probes + candidates at
 * distance 31 whose tables fit in about 2.8x the raw hashes (the rest of 3x is left for ids and
 * the process). 0 means linear.
 */
export function chooseChunks(n: number): number {
  if (n < MIN_MIH_ENTRIES) return 0;
  let best = 16;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let m = 12; m <= 16; m++) {
    const t = Math.floor(31 / m);
    // The kernel's layout: 256 % m chunks of base + 1 bits, the rest of base bits.
    const base = Math.floor(256 / m);
    const lens = Array.from({ length: m }, (_, c) => base + (c < 256 % m ? 1 : 0));
    let probes = 0;
    let tables = 0;
    for (const len of lens) {
      let c = 1;
      for (let k = 0; k <= t; k++) {
        probes += c;
        c = (c * (len - k)) / (k + 1);
      }
      tables += (2 ** len + 1) * 4;
    }
    const candidates = (probes * n) / 2 ** (256 / m);
    const bytes = tables + 3 * m * n + 36 * n;
    if (bytes > 2.8 * 32 * n && m < 16) continue;
    if (probes + candidates < bestCost) {
      bestCost = probes + candidates;
      best = m;
    }
  }
  return best;
}

export class PdqSegment {
  private readonly k: IndexExports;
  private capacity = INITIAL_RESULTS;
  private readonly base: number;
  readonly chunks: number;
  /** Live entries (linear segments can change it; multi-index ones cannot). */
  count: number;
  readonly reserved: number;

  /** A segment with room for `reserved` entries; multi-index when chunks > 0. */
  constructor(reserved: number, chunks: number) {
    if (reserved > MAX_SEGMENT_ENTRIES) throw new WardError('WARD_ERR_INTERNAL', 'Segment too large');
    this.k = instantiate();
    this.chunks = chunks;
    this.reserved = reserved;
    this.count = reserved;
    this.base = this.k.reserve(reserved, chunks, this.capacity);
    if (this.base === 0)
      throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for the PDQ index', { actual: reserved });
  }

  /** Builds a multi-index (or linear) segment from n hashes (n x 32 bytes) and their ids. */
  static from(hashes: Uint8Array, ids: Uint32Array, chunks = chooseChunks(ids.length)): PdqSegment {
    const s = new PdqSegment(ids.length, chunks);
    s.hashes().set(hashes.subarray(0, ids.length * 32));
    s.ids().set(ids);
    s.seal();
    return s;
  }

  /** The reserved hash area (views must be re-made after memory grows). */
  hashes(): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, this.base, this.reserved * 32);
  }

  ids(): Uint32Array {
    return new Uint32Array(this.k.memory.buffer, this.base + this.reserved * 32, this.reserved);
  }

  /** Builds the tables once hashes() and ids() are filled (by from(), or by a file read). */
  seal(): void {
    const ids = this.ids();
    this.sorted = ids.every((id, i) => i === 0 || id > (ids[i - 1] as number));
    if (this.chunks > 0) this.k.build();
  }

  /** Ids ascending (built from the store or sorted): has() can binary-search. */
  private sorted = false;

  /** Whether the segment holds this id (tombstoned or not). */
  has(id: number): boolean {
    const ids = this.ids().subarray(0, this.count);
    if (!this.sorted) return ids.includes(id);
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid] as number;
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Linear segments: the number of live entries at the front of the reserved area. */
  setCount(count: number): void {
    this.count = count;
    this.k.setCount(count);
  }

  private cached: { buffer: ArrayBuffer; query: Uint8Array; results: Uint32Array } | undefined;

  /** Views on the query and result areas, re-made only when memory has grown. */
  private views(): { query: Uint8Array; results: Uint32Array } {
    const buffer = this.k.memory.buffer;
    if (this.cached?.buffer !== buffer || this.cached.results.length < this.capacity * 2) {
      this.cached = {
        buffer,
        query: new Uint8Array(buffer, this.k.queryPtr(), 32),
        results: new Uint32Array(buffer, this.k.resultsPtr(), this.capacity * 2),
      };
    }
    return this.cached;
  }

  /** Bytes of WebAssembly memory this segment holds. */
  get bytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  /** Rough cost of answering at this radius with the multi-index, in entry visits. */
  private mihCost(radius: number): number {
    const t = Math.floor(radius / this.chunks);
    const len = 256 / this.chunks;
    const probes = this.chunks * this.k.probesPerChunk(Math.ceil(len), t);
    return probes + (probes * this.count) / 2 ** len;
  }

  /**
   * Writes every entry within `radius` of `query` (32 bytes) into ids/distances from `at`, and
   * returns the new end, or minus the length needed when the arrays are too small. The multi-index serves radii where it beats a scan; otherwise the scan answers (both
   * are exact). Allocates nothing.
   */
  search(query: Uint8Array, radius: number, ids: Uint32Array, distances: Uint16Array, at: number): number {
    if (this.count === 0) return at;
    this.views().query.set(query);
    const useMih = this.chunks > 0 && this.mihCost(radius) < this.count / 4;
    let found = useMih ? this.k.query(radius) : this.k.linear(radius);
    if (found < 0) throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for query scratch');
    if (found > this.capacity) {
      // More results than room in the instance: grow once to fit, then ask again.
      while (this.capacity < found) this.capacity *= 2;
      if (!this.k.setCapacity(this.capacity)) throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for results');
      found = useMih ? this.k.query(radius) : this.k.linear(radius);
    }
    if (at + found > ids.length) return -(at + found);
    const results = this.views().results;
    for (let i = 0; i < found; i++) {
      ids[at] = results[2 * i] as number;
      distances[at++] = results[2 * i + 1] as number;
    }
    return at;
  }

  /** Appends the live entries (hashes and ids) to the given arrays at `at`; returns the new `at`. */
  copyLive(hashes: Uint8Array, ids: Uint32Array, at: number, keep: (id: number) => boolean): number {
    const h = this.hashes();
    const d = this.ids();
    for (let i = 0; i < this.count; i++) {
      const id = d[i] as number;
      if (!keep(id)) continue;
      hashes.set(h.subarray(i * 32, i * 32 + 32), at * 32);
      ids[at++] = id;
    }
    return at;
  }
}

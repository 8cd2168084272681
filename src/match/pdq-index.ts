/**
 * @module match/pdq-index
 * The PDQ index: a few immutable multi-index segments plus a small mutable tail, with tombstones.
 * Adds go to the tail (scanned linearly); a full tail is sealed into a segment; when segments pile
 * up, the small ones are merged. Removals are tombstones, dropped at the next merge. Nothing is
 * ever rebuilt whole, and every query is exact (100% recall at any distance).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { WardError } from '../errors.js';
import { PDQ_MATCH_DISTANCE } from '../signals/pdq/distance.js';
import { crc32 } from './crc32.js';
import { isImage, readImage, writeImage } from './pdq-image.js';
import { chooseChunks, MAX_SEGMENT_ENTRIES, PdqSegment } from './pdq-segment.js';
import type { HashIndex, IndexMatch } from './types.js';

const TAIL_CAPACITY = 1 << 16;
const MAX_SEGMENTS = 6;
const MAGIC = 'WARDPDQ1';
/** 2: the CRC also covers the header's first 20 bytes (version 1 left them unchecked). */
const SNAPSHOT_VERSION = 2;
const HEADER_BYTES = 24; // magic (8), version (4), count (4), reserved (4), crc32 (4)
const CRC_COVERED_HEADER = 20;

export interface PdqIndexOptions {
  /**
   * Most entries a segment (one WebAssembly instance) holds; default and maximum 2^24. Smaller
   * values make many segments out of small banks (tests of the multi-segment paths).
   */
  segmentEntries?: number;
}

/** Cuts `count` entries into the fewest segments of at most `max`, of equal sizes (to one). */
export function segmentSizes(count: number, max: number = MAX_SEGMENT_ENTRIES): number[] {
  if (count === 0) return [];
  const k = Math.ceil(count / max);
  const base = Math.floor(count / k);
  const extra = count % k;
  return Array.from({ length: k }, (_, i) => base + (i < extra ? 1 : 0));
}

export interface PdqIndexStats {
  entries: number;
  segments: { entries: number; chunks: number; bytes: number }[];
  tail: number;
  tombstones: number;
  /** WebAssembly memory held by all segments, in bytes. */
  bytes: number;
}

export class PdqIndex implements HashIndex {
  private segments: PdqSegment[] = [];
  private tail = new PdqSegment(TAIL_CAPACITY, 0);
  private readonly tombstones = new Set<number>();
  private live = 0;
  // Result buffers reused by every query.
  private ids = new Uint32Array(1024);
  private distances = new Uint16Array(1024);
  /** Most entries one segment holds. */
  readonly segmentEntries: number;

  constructor(options: PdqIndexOptions = {}) {
    this.segmentEntries = checkSegmentEntries(options.segmentEntries);
    this.tail.setCount(0);
  }

  /**
   * Builds an index from n hashes (n x 32 bytes) and their ids, in the fewest segments of up to
   * 2^24 (`segmentEntries`), of equal sizes: 100 million entries make 6 segments of 16.7 million,
   * each its own WebAssembly instance (and memory, below 4 GiB each).
   */
  static build(hashes: Uint8Array, ids: Uint32Array, options: PdqIndexOptions = {}): PdqIndex {
    if (hashes.length < ids.length * 32) throw new WardError('WARD_ERR_INTERNAL', 'Fewer hashes than ids');
    const index = new PdqIndex(options);
    if (ids.length < TAIL_CAPACITY) {
      for (let i = 0; i < ids.length; i++) index.add(hashes.subarray(i * 32, i * 32 + 32), ids[i] as number);
      return index;
    }
    let start = 0;
    for (const n of segmentSizes(ids.length, index.segmentEntries)) {
      index.segments.push(
        PdqSegment.from(hashes.subarray(start * 32, (start + n) * 32), ids.subarray(start, start + n)),
      );
      index.live += n;
      start += n;
    }
    return index;
  }

  /**
   * Builds an index of n entries segment by segment: `fill(from, to, hashes, ids)` copies entries
   * [from, to) into the segment's own WebAssembly memory, so no buffer of the whole bank is made.
   */
  static fromParts(
    n: number,
    fill: (from: number, to: number, hashes: Uint8Array, ids: Uint32Array) => void,
    options: PdqIndexOptions = {},
  ): PdqIndex {
    const index = new PdqIndex(options);
    if (n < TAIL_CAPACITY) {
      const hashes = new Uint8Array(n * 32);
      const ids = new Uint32Array(n);
      fill(0, n, hashes, ids);
      for (let i = 0; i < n; i++) index.add(hashes.subarray(i * 32, i * 32 + 32), ids[i] as number);
      return index;
    }
    let start = 0;
    const segments: PdqSegment[] = [];
    for (const size of segmentSizes(n, index.segmentEntries)) {
      const seg = new PdqSegment(size, chooseChunks(size));
      fill(start, start + size, seg.hashes(), seg.ids());
      seg.seal();
      segments.push(seg);
      start += size;
    }
    index.adopt(segments, n);
    return index;
  }

  get size(): number {
    return this.live;
  }

  add(value: Uint8Array, id: number): void {
    if (value.length !== 32) throw new WardError('WARD_ERR_SIGNAL_INVALID', 'A PDQ hash is 32 bytes');
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff)
      throw new WardError('WARD_ERR_INTERNAL', 'Entry ids are u32');
    const n = this.tail.count;
    this.tail.hashes().set(value, n * 32);
    this.tail.ids()[n] = id;
    this.tail.setCount(n + 1);
    this.live++;
    if (n + 1 === TAIL_CAPACITY) this.seal();
  }

  remove(id: number): boolean {
    // In the tail: remove in place (move the last entry into the hole).
    const ids = this.tail.ids();
    const n = this.tail.count;
    for (let i = 0; i < n; i++) {
      if (ids[i] !== id) continue;
      const hashes = this.tail.hashes();
      hashes.copyWithin(i * 32, (n - 1) * 32, n * 32);
      ids[i] = ids[n - 1] as number;
      this.tail.setCount(n - 1);
      this.live--;
      return true;
    }
    if (this.tombstones.has(id) || !this.inSegments(id)) return false;
    this.tombstones.add(id);
    this.live--;
    return true;
  }

  private inSegments(id: number): boolean {
    return this.segments.some((s) => s.has(id));
  }

  /**
   * Every entry within `maxDistance` bits (inclusive) of `value`, in no particular order.
   * Allocates only the returned array; see queryInto for the allocation-free form.
   */
  query(value: Uint8Array, maxDistance: number = PDQ_MATCH_DISTANCE): IndexMatch[] {
    const n = this.queryInto(value, maxDistance);
    const out: IndexMatch[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { id: this.ids[i] as number, distance: this.distances[i] as number };
    return out;
  }

  /** Like query, but leaves the n results in resultIds()/resultDistances() and returns n. */
  queryInto(value: Uint8Array, maxDistance: number = PDQ_MATCH_DISTANCE): number {
    if (value.length !== 32) throw new WardError('WARD_ERR_SIGNAL_INVALID', 'A PDQ hash is 32 bytes');
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 256) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', `Expected a distance 0-256 but received ${maxDistance}`);
    }
    for (;;) {
      let at = 0;
      for (let i = 0; i < this.segments.length && at >= 0; i++) {
        at = (this.segments[i] as PdqSegment).search(value, maxDistance, this.ids, this.distances, at);
      }
      if (at >= 0) at = this.tail.search(value, maxDistance, this.ids, this.distances, at);
      if (at < 0) {
        this.ids = new Uint32Array(-at * 2);
        this.distances = new Uint16Array(-at * 2);
        continue;
      }
      if (this.tombstones.size === 0) return at;
      let kept = 0;
      for (let i = 0; i < at; i++) {
        const id = this.ids[i] as number;
        if (this.tombstones.has(id)) continue;
        this.ids[kept] = id;
        this.distances[kept++] = this.distances[i] as number;
      }
      return kept;
    }
  }

  resultIds(): Uint32Array {
    return this.ids;
  }

  resultDistances(): Uint16Array {
    return this.distances;
  }

  /** Turns the tail into a multi-index segment, then merges small segments if they pile up. */
  private seal(): void {
    const n = this.tail.count;
    if (n === 0) return;
    const { hashes, ids } = sortById(this.tail.hashes().subarray(0, n * 32), this.tail.ids().subarray(0, n));
    this.segments.push(PdqSegment.from(hashes, ids));
    this.tail.setCount(0);
    if (this.segments.length > MAX_SEGMENTS) this.compact();
  }

  /** Merges every segment but the largest (size-tiered: the big one is not rebuilt). */
  private compact(): void {
    const bySize = [...this.segments].sort((a, b) => b.count - a.count);
    const keep = bySize.slice(0, 1);
    const merge = bySize.slice(1);
    const total = merge.reduce((sum, s) => sum + s.count, 0);
    const hashes = new Uint8Array(total * 32);
    const ids = new Uint32Array(total);
    let at = 0;
    const alive = (id: number): boolean => !this.tombstones.has(id);
    for (const s of merge) at = s.copyLive(hashes, ids, at, alive);
    for (const s of merge) for (const id of s.ids().subarray(0, s.count)) this.tombstones.delete(id);
    this.segments = keep;
    const sorted = sortById(hashes.subarray(0, at * 32), ids.subarray(0, at));
    let start = 0;
    for (const n of segmentSizes(at, this.segmentEntries)) {
      this.segments.push(
        PdqSegment.from(sorted.hashes.subarray(start * 32, (start + n) * 32), sorted.ids.subarray(start, start + n)),
      );
      start += n;
    }
  }

  /** Every live entry id, in no particular order. */
  liveIds(): Uint32Array {
    const out = new Uint32Array(this.live);
    let at = 0;
    for (const s of [...this.segments, this.tail]) {
      for (const id of s.ids().subarray(0, s.count)) if (!this.tombstones.has(id)) out[at++] = id;
    }
    return out.subarray(0, at);
  }

  /** Takes over sealed segments holding `count` live entries (loadPdqIndexFile). @internal */
  adopt(segments: PdqSegment[], count: number): void {
    this.segments.push(...segments);
    this.live += count;
  }

  stats(): PdqIndexStats {
    const segments = this.segments.map((s) => ({ entries: s.count, chunks: s.chunks, bytes: s.bytes }));
    return {
      entries: this.live,
      segments,
      tail: this.tail.count,
      tombstones: this.tombstones.size,
      bytes: segments.reduce((sum, s) => sum + s.bytes, 0) + this.tail.bytes,
    };
  }

  /**
   * A compact binary snapshot: header (magic WARDPDQ1, version 2, count, reserved, CRC-32), then
   * count x 32 hash bytes and count x u32 ids (little-endian). Only live entries are written. The
   * CRC covers the header's first 20 bytes, then the body: every byte but its own four. One
   * buffer of 24 + 36 x count bytes (typed arrays stop at 4 GiB, about 119 million entries):
   * writeFile() streams instead.
   */
  serialize(): Uint8Array {
    const parts = this.snapshotParts();
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Writes the snapshot to a file, segment by segment (no buffer of the whole; any size). */
  writeFile(path: string): void {
    const fd = openSync(path, 'w');
    try {
      for (const p of this.snapshotParts()) {
        for (let done = 0; done < p.length; ) done += writeSync(fd, p, done, Math.min(1 << 24, p.length - done));
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes an *image* of the index (match/pdq-image): the segments' built memory, the tail and the
   * tombstones, so that loadPdqIndexFile() reads it back with no table to rebuild. About 2.4x
   * the raw hashes on disk (the entries snapshot is 1.125x).
   */
  writeImage(path: string): void {
    const n = this.tail.count;
    writeImage(path, {
      segments: this.segments,
      tombstones: Uint32Array.from(this.tombstones),
      tailHashes: this.tail.hashes().slice(0, n * 32),
      tailIds: this.tail.ids().slice(0, n),
      live: this.live,
    });
  }

  /** Takes over an image's state (loadPdqIndexFile). @internal */
  adoptImage(segments: PdqSegment[], tombstones: Uint32Array, tailHashes: Uint8Array, tailIds: Uint32Array): void {
    this.segments.push(...segments);
    this.live += segments.reduce((sum, s) => sum + s.count, 0);
    for (const id of tombstones) {
      if (this.tombstones.has(id) || !this.inSegments(id))
        throw new WardError('WARD_ERR_INDEX_SNAPSHOT', 'Index image has a bad tombstone');
      this.tombstones.add(id);
      this.live--;
    }
    for (let i = 0; i < tailIds.length; i++) this.add(tailHashes.subarray(i * 32, i * 32 + 32), tailIds[i] as number);
  }

  /** The snapshot as parts: the header, then per segment its live hashes, then per segment its live ids. */
  private snapshotParts(): Uint8Array[] {
    const alive = (id: number): boolean => !this.tombstones.has(id);
    const hashParts: Uint8Array[] = [];
    const idParts: Uint8Array[] = [];
    let total = 0;
    for (const s of [...this.segments, this.tail]) {
      if (s.count === 0) continue;
      const dead =
        this.tombstones.size === 0
          ? 0
          : s
              .ids()
              .subarray(0, s.count)
              .filter((id) => !alive(id)).length;
      const n = s.count - dead;
      const hashes = new Uint8Array(n * 32);
      const ids = new Uint32Array(n);
      if (s.copyLive(hashes, ids, 0, alive) !== n) throw new WardError('WARD_ERR_INTERNAL', 'Index count drifted');
      hashParts.push(hashes);
      idParts.push(new Uint8Array(ids.buffer));
      total += n;
    }
    if (total !== this.live) throw new WardError('WARD_ERR_INTERNAL', 'Index count drifted');
    const header = new Uint8Array(HEADER_BYTES);
    const view = new DataView(header.buffer);
    for (let i = 0; i < 8; i++) header[i] = MAGIC.charCodeAt(i);
    view.setUint32(8, SNAPSHOT_VERSION, true);
    view.setUint32(12, total, true);
    let crc = crc32(header.subarray(0, CRC_COVERED_HEADER));
    for (const p of [...hashParts, ...idParts]) crc = crc32(p, crc);
    view.setUint32(20, crc, true);
    return [header, ...hashParts, ...idParts];
  }

  /** Loads a snapshot made by serialize(); throws WARD_ERR_INDEX_SNAPSHOT if it is damaged. */
  static load(bytes: Uint8Array, options: PdqIndexOptions = {}): PdqIndex {
    const bad = (why: string): WardError => new WardError('WARD_ERR_INDEX_SNAPSHOT', `Index snapshot ${why}`);
    if (bytes.length < HEADER_BYTES) throw bad('is truncated');
    for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw bad('has the wrong magic');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(8, true) !== SNAPSHOT_VERSION) throw bad('is from another version');
    const count = view.getUint32(12, true);
    if (bytes.length !== HEADER_BYTES + count * 36) throw bad('has the wrong length');
    const crc = crc32(bytes.subarray(HEADER_BYTES), crc32(bytes.subarray(0, CRC_COVERED_HEADER)));
    if (crc !== view.getUint32(20, true)) throw bad('fails its checksum');
    const hashes = bytes.subarray(HEADER_BYTES, HEADER_BYTES + count * 32);
    // Copy the ids out: the input may be a Buffer, whose slice() is a view at any offset.
    const ids = new Uint32Array(count);
    new Uint8Array(ids.buffer).set(bytes.subarray(HEADER_BYTES + count * 32));
    const sorted = ids.slice().sort();
    for (let i = 1; i < count; i++) if (sorted[i] === sorted[i - 1]) throw bad('repeats an entry id');
    return PdqIndex.build(hashes, ids, options);
  }
}

/**
 * Loads a snapshot file (an entries snapshot, or an image from writeImage(), told apart by their
 * magic) straight into the segments' WebAssembly memory, in 1 MiB reads: the
 * file is never held whole in JavaScript memory, so loading a 10-million-entry bank peaks at the
 * index's own size. Throws WARD_ERR_INDEX_SNAPSHOT if the file is damaged.
 */
export function loadPdqIndexFile(path: string, options: PdqIndexOptions = {}): PdqIndex {
  const bad = (why: string): WardError => new WardError('WARD_ERR_INDEX_SNAPSHOT', `Index snapshot ${why}`, { path });
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = new Uint8Array(HEADER_BYTES);
    if (size < HEADER_BYTES || readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) throw bad('is truncated');
    if (isImage(header)) {
      const image = readImage(fd, size, path);
      const index = new PdqIndex(options);
      index.adoptImage(image.segments, image.tombstones, image.tailHashes, image.tailIds);
      if (index.size !== image.live) throw bad('has the wrong entry count');
      return index;
    }
    const view = new DataView(header.buffer);
    for (let i = 0; i < 8; i++) if (header[i] !== MAGIC.charCodeAt(i)) throw bad('has the wrong magic');
    if (view.getUint32(8, true) !== SNAPSHOT_VERSION) throw bad('is from another version');
    const count = view.getUint32(12, true);
    if (size !== HEADER_BYTES + count * 36) throw bad('has the wrong length');
    if (count < TAIL_CAPACITY) return PdqIndex.load(readFileSync(path), options);
    const readInto = (target: Uint8Array, position: number, crc: number): number => {
      for (let done = 0; done < target.length; ) {
        const n = readSync(fd, target, done, Math.min(1 << 24, target.length - done), position + done);
        if (n <= 0) throw bad('is truncated');
        crc = crc32(target.subarray(done, done + n), crc);
        done += n;
      }
      return crc;
    };
    const index = new PdqIndex(options);
    let crc = crc32(header.subarray(0, CRC_COVERED_HEADER));
    const segments: PdqSegment[] = [];
    let start = 0;
    for (const n of segmentSizes(count, index.segmentEntries)) {
      const seg = new PdqSegment(n, chooseChunks(n));
      crc = readInto(seg.hashes(), HEADER_BYTES + start * 32, crc);
      segments.push(seg);
      start += n;
    }
    start = 0;
    for (const seg of segments) {
      const ids = seg.ids();
      crc = readInto(
        new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength),
        HEADER_BYTES + count * 32 + start * 4,
        crc,
      );
      start += seg.count;
    }
    if (crc !== view.getUint32(20, true)) throw bad('fails its checksum');
    const all = new Uint32Array(count);
    let at = 0;
    for (const seg of segments) {
      all.set(seg.ids(), at);
      at += seg.count;
    }
    all.sort();
    for (let i = 1; i < count; i++) if (all[i] === all[i - 1]) throw bad('repeats an entry id');
    for (const seg of segments) seg.seal();
    index.adopt(segments, count);
    return index;
  } finally {
    closeSync(fd);
  }
}

/** Chunk count the index would choose for a segment of n entries (for stats and docs). */
export { chooseChunks };

/** Entries ordered by id, so a segment can find an id by binary search. */
function sortById(hashes: Uint8Array, ids: Uint32Array): { hashes: Uint8Array; ids: Uint32Array } {
  const order = Array.from(ids.keys()).sort((a, b) => (ids[a] as number) - (ids[b] as number));
  const outHashes = new Uint8Array(ids.length * 32);
  const outIds = new Uint32Array(ids.length);
  order.forEach((from, to) => {
    outHashes.set(hashes.subarray(from * 32, from * 32 + 32), to * 32);
    outIds[to] = ids[from] as number;
  });
  return { hashes: outHashes, ids: outIds };
}

function checkSegmentEntries(n: number | undefined): number {
  if (n === undefined) return MAX_SEGMENT_ENTRIES;
  if (!Number.isInteger(n) || n < TAIL_CAPACITY || n > MAX_SEGMENT_ENTRIES)
    throw new WardError('WARD_ERR_CONFIG_INVALID', `Segments hold ${TAIL_CAPACITY} to ${MAX_SEGMENT_ENTRIES} entries`, {
      actual: n,
    });
  return n;
}

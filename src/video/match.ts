/**
 * @module video/match
 * Matching two videos by their vPDQ frames, as python-threatexchange does
 * (`vpdq_brute_matcher.match_VPDQ_hash_brute`, and HMA through its index):
 *
 * 1. each side keeps its frames of quality ≥ 50, and each distinct PDQ hash once;
 * 2. a query frame matches when some compared frame is within 31 bits (inclusive, `<=`), and a
 *    compared frame matches when some query frame is;
 * 3. queryMatchPercent = matched query frames × 100 / query frames, comparedMatchPercent likewise;
 * 4. the videos match when queryMatchPercent ≥ 80 and comparedMatchPercent ≥ 0 (configurable),
 *    and at least one frame matched (python-threatexchange's brute-force compare would call two
 *    unrelated videos a match with both thresholds at 0; its index would not).
 *
 * `matchVpdq` is the brute-force reference; `VpdqIndex` answers the same through a PdqIndex.
 */
import { WardError } from '../errors.js';
import { crc32 } from '../match/crc32.js';
import { PdqIndex } from '../match/pdq-index.js';
import { hammingBytes } from '../signals/pdq/distance.js';
import {
  parseVpdq,
  VPDQ_COMPARED_MATCH_PERCENT,
  VPDQ_DISTANCE_THRESHOLD,
  VPDQ_QUALITY_THRESHOLD,
  VPDQ_QUERY_MATCH_PERCENT,
  type VpdqFrame,
} from './vpdq.js';

export interface VpdqMatchOptions {
  /** Frame distance, inclusive (default 31). */
  distance?: number;
  /** Frames below this quality are ignored on both sides (default 50). */
  minQuality?: number;
  /** Query share needed for a match, percent (default 80). */
  queryMatchPercent?: number;
  /** Compared share needed for a match, percent (default 0). */
  comparedMatchPercent?: number;
}

export interface VpdqMatchResult {
  match: boolean;
  queryMatchPercent: number;
  comparedMatchPercent: number;
  /** Smallest distance between a query frame and a compared frame (256 when no frame pair matched). */
  distance: number;
}

type FrameLike = Pick<VpdqFrame, 'pdq' | 'quality'>;

/** The frames that take part in matching: quality ≥ minQuality, each distinct hash once (first kept). */
export function matchableFrames<T extends FrameLike>(frames: readonly T[], minQuality = VPDQ_QUALITY_THRESHOLD): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const f of frames) {
    if (f.quality < minQuality || seen.has(f.pdq)) continue;
    seen.add(f.pdq);
    out.push(f);
  }
  return out;
}

function bytesOf(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}

/** Brute-force comparison of two frame lists (the reference the index is tested against). */
export function matchVpdq(
  query: readonly FrameLike[],
  compared: readonly FrameLike[],
  options: VpdqMatchOptions = {},
): VpdqMatchResult {
  const distance = options.distance ?? VPDQ_DISTANCE_THRESHOLD;
  const q = matchableFrames(query, options.minQuality).map((f) => bytesOf(f.pdq));
  const c = matchableFrames(compared, options.minQuality).map((f) => bytesOf(f.pdq));
  if (q.length === 0 || c.length === 0)
    return { match: false, queryMatchPercent: 0, comparedMatchPercent: 0, distance: 256 };
  const qHit = new Uint8Array(q.length);
  const cHit = new Uint8Array(c.length);
  let best = 256;
  for (let i = 0; i < q.length; i++) {
    for (let j = 0; j < c.length; j++) {
      const d = hammingBytes(q[i] as Uint8Array, c[j] as Uint8Array);
      if (d <= distance) {
        qHit[i] = 1;
        cHit[j] = 1;
        if (d < best) best = d;
      }
    }
  }
  const queryMatchPercent = (count(qHit) * 100) / q.length;
  const comparedMatchPercent = (count(cHit) * 100) / c.length;
  return {
    match: reaches(queryMatchPercent, comparedMatchPercent, options),
    queryMatchPercent,
    comparedMatchPercent,
    distance: best,
  };
}

function count(flags: Uint8Array): number {
  let n = 0;
  for (const f of flags) n += f;
  return n;
}

/** Both shares reach their thresholds, and at least one frame matched (so 0% thresholds never match everything). */
function reaches(queryPercent: number, comparedPercent: number, options: VpdqMatchOptions): boolean {
  return (
    queryPercent > 0 &&
    queryPercent >= (options.queryMatchPercent ?? VPDQ_QUERY_MATCH_PERCENT) &&
    comparedPercent >= (options.comparedMatchPercent ?? VPDQ_COMPARED_MATCH_PERCENT)
  );
}

export interface VpdqIndexMatch extends VpdqMatchResult {
  /** The entry id the video was added with. */
  id: number;
}

/**
 * Many videos' frames in one PdqIndex (a row per distinct good frame of each video, with a
 * row → video map), so a query costs one index probe per query frame however many videos there
 * are: a bank of 100,000 videos of 60 frames answers in milliseconds.
 */
export class VpdqIndex {
  private pdq = new PdqIndex();
  /** row → entry id */
  private rowEntry = new Uint32Array(1024);
  private rows = 0;
  /** entry id → [first row, frame count] */
  private readonly entries = new Map<number, [number, number]>();

  constructor(private readonly minQuality = VPDQ_QUALITY_THRESHOLD) {}

  /**
   * Builds an index from (id, frames) pairs. Videos with no frame of quality ≥ 50 are left out,
   * as python-threatexchange does: they can never match.
   */
  static build(
    videos: Iterable<readonly [number, readonly FrameLike[]]>,
    minQuality = VPDQ_QUALITY_THRESHOLD,
  ): VpdqIndex {
    const index = new VpdqIndex(minQuality);
    const hashes: Uint8Array[] = [];
    let total = 0;
    for (const [id, frames] of videos) {
      const good = matchableFrames(frames, minQuality);
      if (good.length === 0 || index.entries.has(id)) continue;
      const block = Buffer.alloc(good.length * 32);
      for (let i = 0; i < good.length; i++) block.write((good[i] as FrameLike).pdq, i * 32, 32, 'hex');
      hashes.push(block);
      index.claimRows(id, good.length);
      total += good.length;
    }
    const all = Buffer.concat(hashes, total * 32);
    const ids = new Uint32Array(total);
    for (let i = 0; i < total; i++) ids[i] = i;
    index.pdq = PdqIndex.build(all, ids);
    return index;
  }

  /** How many videos are indexed. */
  get size(): number {
    return this.entries.size;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** The ids of the indexed videos. */
  ids(): IterableIterator<number> {
    return this.entries.keys();
  }

  /** How many frames (index rows) are indexed. */
  get frames(): number {
    let n = 0;
    for (const [, c] of this.entries.values()) n += c;
    return n;
  }

  /** Adds one video; false when it has no matchable frame (or the id is already indexed). */
  add(id: number, frames: readonly FrameLike[]): boolean {
    const good = matchableFrames(frames, this.minQuality);
    if (good.length === 0 || this.entries.has(id)) return false;
    const first = this.claimRows(id, good.length);
    for (let i = 0; i < good.length; i++) this.pdq.add(bytesOf((good[i] as FrameLike).pdq), first + i);
    return true;
  }

  /** Removes one video's frames. */
  remove(id: number): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    for (let r = e[0]; r < e[0] + e[1]; r++) this.pdq.remove(r);
    this.entries.delete(id);
    return true;
  }

  private claimRows(id: number, n: number): number {
    const first = this.rows;
    if (first + n > 0xffffffff) throw new RangeError('vPDQ index full');
    if (first + n > this.rowEntry.length) {
      const grown = new Uint32Array(Math.max(first + n, this.rowEntry.length * 2));
      grown.set(this.rowEntry.subarray(0, first));
      this.rowEntry = grown;
    }
    this.rowEntry.fill(id, first, first + n);
    this.rows += n;
    this.entries.set(id, [first, n]);
    return first;
  }

  /**
   * Every indexed video whose match percentages with the query reach the thresholds, by
   * decreasing query share. Equal to matchVpdq against each video.
   */
  query(frames: readonly FrameLike[], options: VpdqMatchOptions = {}): VpdqIndexMatch[] {
    const radius = options.distance ?? VPDQ_DISTANCE_THRESHOLD;
    const q = matchableFrames(frames, this.minQuality);
    if (q.length === 0 || this.entries.size === 0) return [];
    // entry → query frames matched, the last query frame counted, compared rows matched, best distance
    const stats = new Map<number, { queries: number; last: number; rows: Set<number>; best: number }>();
    for (let qi = 0; qi < q.length; qi++) {
      const n = this.pdq.queryInto(bytesOf((q[qi] as FrameLike).pdq), radius);
      const ids = this.pdq.resultIds();
      const distances = this.pdq.resultDistances();
      for (let k = 0; k < n; k++) {
        const row = ids[k] as number;
        const entry = this.rowEntry[row] as number;
        let s = stats.get(entry);
        if (!s) {
          s = { queries: 0, last: -1, rows: new Set(), best: 256 };
          stats.set(entry, s);
        }
        if (s.last !== qi) {
          s.queries++;
          s.last = qi;
        }
        s.rows.add(row);
        const d = distances[k] as number;
        if (d < s.best) s.best = d;
      }
    }
    const out: VpdqIndexMatch[] = [];
    for (const [id, s] of stats) {
      const frameCount = (this.entries.get(id) as [number, number])[1];
      const queryMatchPercent = (s.queries * 100) / q.length;
      const comparedMatchPercent = (s.rows.size * 100) / frameCount;
      if (!reaches(queryMatchPercent, comparedMatchPercent, options)) continue;
      out.push({ id, match: true, queryMatchPercent, comparedMatchPercent, distance: s.best });
    }
    return out.sort((a, b) => b.queryMatchPercent - a.queryMatchPercent || a.id - b.id);
  }

  /**
   * A snapshot: a 32-byte header (magic WARDVPQ1, version 1, quality threshold, rows, videos,
   * bytes of the frame index's snapshot as two u32 halves, CRC-32 of every byte but its own
   * four), the videos as (id, first row, frames) u32 triples, the row → video table, then the
   * frame index's own snapshot (PdqIndex.serialize).
   */
  serialize(): Uint8Array {
    const pdq = this.pdq.serialize();
    const videos = new Uint32Array(this.entries.size * 3);
    let k = 0;
    for (const [id, [first, n]] of this.entries) {
      videos[k++] = id;
      videos[k++] = first;
      videos[k++] = n;
    }
    const out = new Uint8Array(VPDQ_HEADER + videos.byteLength + this.rows * 4 + pdq.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) out[i] = VPDQ_MAGIC.charCodeAt(i);
    view.setUint32(8, 1, true);
    view.setUint32(12, this.minQuality, true);
    view.setUint32(16, this.rows, true);
    view.setUint32(20, this.entries.size, true);
    view.setUint32(24, pdq.length % 2 ** 32, true);
    out.set(new Uint8Array(videos.buffer), VPDQ_HEADER);
    out.set(new Uint8Array(this.rowEntry.buffer, 0, this.rows * 4), VPDQ_HEADER + videos.byteLength);
    out.set(pdq, VPDQ_HEADER + videos.byteLength + this.rows * 4);
    view.setUint32(28, crc32(out.subarray(VPDQ_HEADER), crc32(out.subarray(0, 28))), true);
    return out;
  }

  /** Loads serialize() bytes; throws WARD_ERR_INDEX_SNAPSHOT when they are damaged. */
  static load(bytes: Uint8Array): VpdqIndex {
    const bad = (why: string): WardError => new WardError('WARD_ERR_INDEX_SNAPSHOT', `vPDQ index snapshot ${why}`);
    if (bytes.length < VPDQ_HEADER) throw bad('is truncated');
    for (let i = 0; i < 8; i++) if (bytes[i] !== VPDQ_MAGIC.charCodeAt(i)) throw bad('has the wrong magic');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(8, true) !== 1) throw bad('is from another version');
    const minQuality = view.getUint32(12, true);
    const rows = view.getUint32(16, true);
    const count = view.getUint32(20, true);
    const pdqBytes = view.getUint32(24, true);
    if (VPDQ_HEADER + count * 12 + rows * 4 + pdqBytes !== bytes.length) throw bad('has the wrong length');
    if (crc32(bytes.subarray(VPDQ_HEADER), crc32(bytes.subarray(0, 28))) !== view.getUint32(28, true))
      throw bad('fails its checksum');
    if (minQuality > 100) throw bad('has a bad quality threshold');
    const copy = (at: number, n: number): Uint32Array<ArrayBuffer> => {
      const a = new Uint32Array(n);
      new Uint8Array(a.buffer).set(bytes.subarray(at, at + n * 4));
      return a;
    };
    const videos = copy(VPDQ_HEADER, count * 3);
    const rowEntry = copy(VPDQ_HEADER + count * 12, rows);
    const index = new VpdqIndex(minQuality);
    index.pdq = PdqIndex.load(bytes.subarray(VPDQ_HEADER + count * 12 + rows * 4));
    let frames = 0;
    for (let k = 0; k < count; k++) {
      const id = videos[3 * k] as number;
      const first = videos[3 * k + 1] as number;
      const n = videos[3 * k + 2] as number;
      if (n === 0 || first + n > rows || index.entries.has(id)) throw bad('has a bad video record');
      for (let r = first; r < first + n; r++) if (rowEntry[r] !== id) throw bad('has a bad row table');
      index.entries.set(id, [first, n]);
      frames += n;
    }
    if (frames !== index.pdq.size) throw bad('has a frame count that differs from its frame index');
    for (const row of index.pdq.liveIds()) {
      const e = index.entries.get(rowEntry[row] as number);
      if (row >= rows || !e || row < e[0] || row >= e[0] + e[1]) throw bad('has a frame of no video');
    }
    index.rowEntry = rowEntry.length > 0 ? rowEntry : new Uint32Array(1024);
    index.rows = rows;
    return index;
  }
}

const VPDQ_MAGIC = 'WARDVPQ1';
const VPDQ_HEADER = 32;

/**
 * The matchable frames of a value in Ward's compact form, read without building frame objects
 * (bank loading). Values come normalised from the store; one that is not is read the slow way.
 */
export function compactFrames(value: string): FrameLike[] {
  const out: FrameLike[] = [];
  let at = 0;
  const n = value.length;
  while (at < n) {
    let end = value.indexOf(' ', at);
    if (end === -1) end = n;
    // pdqhex(64) ':' quality ':' seconds
    if (end - at < 68 || value.charCodeAt(at + 64) !== 58) return parseVpdq(value);
    const colon = value.indexOf(':', at + 65);
    if (colon === -1 || colon > end) return parseVpdq(value);
    out.push({ pdq: value.slice(at, at + 64), quality: Number(value.slice(at + 65, colon)) });
    at = end + 1;
  }
  return out;
}

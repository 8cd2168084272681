/**
 * @module match/pdq-segment
 * One WebAssembly instance of assembly/pdq-index.ts: an immutable multi-index segment, or a
 * linear (brute-force) one. The instance's memory holds the hashes, ids and bucket tables.
 * @internal
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  setChunkLength(c: number, len: number): void;
  build(): boolean;
  buildChunk(c: number): boolean;
  finishBuild(): boolean;
  linear(radius: number): number;
  query(radius: number): number;
  plan(radius: number): number;
  overflowBytes(): number;
  adoptOverflow(bytes: number): boolean;
  imageEnd(): number;
  chunkLength(c: number): number;
}

const WASM_FILE = builtFile(import.meta.url, './pdq-index.wasm');

function instantiate(): IndexExports {
  return instantiateWasm<IndexExports>(WASM_FILE, 'PDQ index');
}

let digest: Uint8Array | undefined;

/**
 * SHA-256 of the index kernel (pdq-index.wasm): segment images record it, and an image made by
 * another kernel (whose memory layout may differ) is rejected instead of misread.
 */
export function kernelDigest(): Uint8Array {
  digest ??= new Uint8Array(createHash('sha256').update(readFileSync(WASM_FILE)).digest());
  return digest;
}

/** Most entries one segment holds: positions are stored in 3 bytes. */
export const MAX_SEGMENT_ENTRIES = 1 << 24;
/** Below this, a segment is scanned linearly (a multi-index would not pay for its tables). */
export const MIN_MIH_ENTRIES = 1 << 16;
const INITIAL_RESULTS = 4096;

/** The distance the chunk layout is tuned for (PDQ's match threshold). */
const LAYOUT_RADIUS = 31;
/** WebAssembly memory a multi-index segment may take, in multiples of the raw hashes (the rest of 3x is left for the process). */
const MEMORY_BUDGET = 2.75;
const MIN_CHUNK_BITS = 8;
const MAX_CHUNK_BITS = 26;
/** Chunk lengths searched around log2(n): shorter ones make crowded buckets, longer ones big tables. */
const BITS_BELOW_LOG_N = 5;
const BITS_ABOVE_LOG_N = 4;

/** Expected random memory accesses of one chunk of `len` bits probed with `t` flips over n entries. */
function chunkCost(n: number, len: number, t: number): number {
  let probes = 0;
  let c = 1;
  for (let k = 0; k <= t && k <= len; k++) {
    probes += c;
    c = (c * (len - k)) / (k + 1);
  }
  const lambda = n / 2 ** len;
  // As the kernel's planner counts: a table line, a positions line if the bucket is not empty,
  // and one hash line per candidate.
  return probes * (1 + (1 - Math.exp(-lambda)) + lambda);
}

/**
 * Bytes of one chunk's table over n entries: a 64-byte line per block of 60 buckets (30 when the
 * chunk holds more than 2 entries per bucket).
 */
const tableBytes = (n: number, len: number): number => Math.ceil(2 ** len / (n > 2 * 2 ** len ? 30 : 60)) * 64;

interface Layout {
  lengths: number[];
  cost: number;
  bytes: number;
}

const layouts = new Map<string, Layout | undefined>();

/**
 * The cheapest cut of the 256 bits into m chunks for n entries at distance 31 that fits the
 * memory budget (undefined if none does): chunks come in two classes probed with t and u flips
 * (t <= u <= 3; sum of (flips + 1) over the chunks = 32, the generalised pigeonhole), lengths
 * equal within a class to one bit, the bits split between the classes to minimise the expected
 * random memory accesses.
 */
function bestLayout(n: number, m: number, budget: boolean): Layout | undefined {
  const key = `${n}:${m}:${budget}`;
  if (layouts.has(key)) return layouts.get(key);
  const units = LAYOUT_RADIUS + 1;
  const logN = Math.round(Math.log2(n));
  const shortest = Math.max(MIN_CHUNK_BITS, logN - BITS_BELOW_LOG_N);
  const longest = Math.min(MAX_CHUNK_BITS, logN + BITS_ABOVE_LOG_N);
  const fixed = 36 * n + 3 * m * n;
  const limit = budget ? MEMORY_BUDGET * 32 * n : Number.POSITIVE_INFINITY;
  /** Cost, table bytes and lengths of `count` chunks probed with t flips sharing `bits` bits. */
  const cut = (count: number, t: number, bits: number): [number, number, number[]] | undefined => {
    if (count === 0) return bits === 0 ? [0, 0, []] : undefined;
    const base = Math.floor(bits / count);
    const extra = bits % count;
    if (base < shortest || base + (extra > 0 ? 1 : 0) > longest) return undefined;
    const lengths = Array.from({ length: count }, (_, i) => base + (i < extra ? 1 : 0));
    let cost = 0;
    let bytes = 0;
    for (const len of lengths) {
      cost += chunkCost(n, len, t);
      bytes += tableBytes(n, len);
    }
    return [cost, bytes, lengths];
  };
  let best: Layout | undefined;
  for (let t = 0; t <= 3; t++) {
    for (let u = t; u <= 3; u++) {
      // a chunks with t flips, m - a with u: a(t + 1) + (m - a)(u + 1) = units.
      for (let a = 0; a <= m; a++) {
        if (a * (t + 1) + (m - a) * (u + 1) !== units || (t === u && a > 0)) continue;
        for (let bits = 0; bits <= 256; bits++) {
          const first = cut(a, t, bits);
          const second = first && cut(m - a, u, 256 - bits);
          if (!first || !second) continue;
          const cost = first[0] + second[0];
          const bytes = fixed + first[1] + second[1];
          if (bytes > limit || (best && cost >= best.cost)) continue;
          best = { lengths: [...first[2], ...second[2]], cost, bytes };
        }
      }
    }
  }
  layouts.set(key, best);
  return best;
}

/**
 * Chunk lengths (bits, summing to 256) for a multi-index segment of n entries cut into m chunks:
 * the cheapest layout within the memory budget, else the cheapest, else equal cuts.
 */
export function chunkLengths(n: number, m: number): number[] {
  const layout = bestLayout(n, m, true) ?? bestLayout(n, m, false);
  if (layout) return layout.lengths;
  return Array.from({ length: m }, (_, c) => Math.floor(256 / m) + (c < 256 % m ? 1 : 0));
}

/**
 * Chooses the number of chunks for n entries: the layout with the fewest expected random memory
 * accesses at distance 31 whose tables fit in about 2.75x the raw hashes (the rest of 3x is left
 * for the process). 0 means linear.
 */
export function chooseChunks(n: number): number {
  if (n < MIN_MIH_ENTRIES) return 0;
  const known = chosen.get(n);
  if (known !== undefined) return known;
  let best = 16;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let m = 9; m <= 16; m++) {
    const layout = bestLayout(n, m, true);
    if (layout && layout.cost < bestCost) {
      bestCost = layout.cost;
      best = m;
    }
  }
  chosen.set(n, best);
  return best;
}

const chosen = new Map<number, number>();

export class PdqSegment {
  private readonly k: IndexExports;
  private capacity = INITIAL_RESULTS;
  private readonly base: number;
  readonly chunks: number;
  /** Live entries (linear segments can change it; multi-index ones cannot). */
  count: number;
  readonly reserved: number;

  /** A segment with room for `reserved` entries; multi-index when chunks > 0 (lengths: chunkLengths()). */
  constructor(reserved: number, chunks: number, lengths?: readonly number[]) {
    if (reserved > MAX_SEGMENT_ENTRIES) throw new WardError('WARD_ERR_INTERNAL', 'Segment too large');
    this.k = instantiate();
    this.chunks = chunks;
    this.reserved = reserved;
    this.count = reserved;
    if (chunks > 0)
      for (const [c, len] of (lengths ?? chunkLengths(reserved, chunks)).entries()) this.k.setChunkLength(c, len);
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
    if (this.chunks > 0) {
      // One call per chunk: the engine tiers the kernel up between calls (a single long call
      // would run in baseline code throughout).
      let ok = true;
      for (let c = 0; c < this.chunks && ok; c++) ok = this.k.buildChunk(c);
      if (!ok || !this.k.finishBuild())
        throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for the PDQ index', { actual: this.count });
    }
    // build() moves the results after the tables' overflow records.
    this.cached = undefined;
  }

  /** Chunk lengths in bits as laid out (multi-index segments). */
  lengths(): number[] {
    return Array.from({ length: this.chunks }, (_, c) => this.k.chunkLength(c));
  }

  /** Bytes of the tables' overflow records. */
  overflowBytes(): number {
    return this.k.overflowBytes();
  }

  /**
   * The built segment's memory image: hashes, ids, tables, positions, overflow records (from the
   * address reserve() returned to the end of the overflow records). A view: copy or write it out
   * before the next call into the segment.
   */
  image(): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, this.base, this.k.imageEnd() - this.base);
  }

  /**
   * A built segment from an image() of one laid out with the same count, chunks and lengths:
   * `fill(view)` writes the image into the new instance's memory. Undefined when the layout does
   * not come out at `imageBytes` (the caller rejects the snapshot).
   */
  static restore(
    count: number,
    chunks: number,
    lengths: readonly number[],
    overflowBytes: number,
    imageBytes: number,
    fill: (view: Uint8Array) => void,
  ): PdqSegment | undefined {
    const s = new PdqSegment(count, chunks, lengths);
    if (chunks > 0 && s.lengths().some((len, c) => len !== lengths[c])) return undefined;
    if (!s.k.adoptOverflow(overflowBytes))
      throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for the PDQ index', { actual: count });
    if (s.k.imageEnd() - s.base !== imageBytes) return undefined;
    fill(s.image());
    if (chunks > 0 && !s.k.finishBuild())
      throw new WardError('WARD_ERR_INTERNAL', 'Out of memory for the PDQ index', { actual: count });
    const ids = s.ids();
    s.sorted = ids.every((id, i) => i === 0 || id > (ids[i - 1] as number));
    s.cached = undefined;
    return s;
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

  /**
   * Whether this radius is answered by the multi-index (else by the linear scan): when its
   * planned random memory accesses cost less than a scan. @internal
   */
  usesMultiIndex(radius: number): boolean {
    // One random access costs about as much as scanning 4-8 entries in order.
    return this.chunks > 0 && this.k.plan(radius) < this.count / 6;
  }

  /**
   * Writes every entry within `radius` of `query` (32 bytes) into ids/distances from `at`, and
   * returns the new end, or minus the length needed when the arrays are too small. The multi-index serves radii where it beats a scan; otherwise the scan answers (both
   * are exact). Allocates nothing.
   */
  search(query: Uint8Array, radius: number, ids: Uint32Array, distances: Uint16Array, at: number): number {
    if (this.count === 0) return at;
    this.views().query.set(query);
    const useMih = this.usesMultiIndex(radius);
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

// PDQ multi-index hashing (Norouzi et al., "Fast search in Hamming space with multi-index
// hashing", CVPR 2012), AssemblyScript compiled to WebAssembly. One instance holds one immutable
// segment of up to 2^24 hashes:
//   - the 256 bits are cut into M chunks; a hash within distance r of the query agrees with it on
//     some chunk to within t = floor(r / M) bits (pigeonhole), so probing every key within t bits
//     of each query chunk finds every match: recall is 100% by construction;
//   - each chunk has a direct-addressed bucket table (offsets[2^len + 1]) over 3-byte positions;
//   - a candidate is verified on all 256 bits with popcount; a match found through chunk c is kept
//     only if no earlier chunk is within t bits too, so each match is reported exactly once.
// M = 0 makes a linear segment (brute force only), used for small and mutable segments.
// Nothing is allocated per query: the query and the results live at fixed places in memory.

const QUERY: usize = 0; // 32 bytes
const CHUNK_INFO: usize = 64; // per chunk: bit offset (u32), length (u32), offsets ptr (u32), query key (u32)
const FLIPS: usize = CHUNK_INFO + 64 * 16; // per chunk: flips probed this query (i32, -1 = skip)
const HEADER_END: usize = FLIPS + 64 * 4;

let n: i32 = 0;
let m: i32 = 0;
let hashesAt: usize = 0; // n x 32 bytes
let idsAt: usize = 0; // n x u32 external ids
let positionsAt: usize = 0; // m x (n x 3 bytes + 1 pad)
let resultsAt: usize = 0; // capacity x (id u32, distance u32)
let capacity: i32 = 0;
let end: usize = 0;

function growTo(bytes: usize): bool {
  const need = <i32>((bytes + 65535) >> 16);
  const have = memory.size();
  if (need > have) return memory.grow(need - have) >= 0;
  return true;
}

/**
 * Lays out a segment of `count` hashes cut into `chunks` chunks (0 = linear only) with room for
 * `maxResults` results. Returns the address where the caller writes count x 32 hash bytes,
 * followed by count x u32 ids; 0 if memory cannot grow.
 */
export function reserve(count: i32, chunks: i32, maxResults: i32): usize {
  n = count;
  m = chunks;
  capacity = maxResults;
  let p: usize = HEADER_END;
  hashesAt = p;
  p += <usize>count * 32;
  idsAt = p;
  p += <usize>count * 4;
  if (chunks > 0) {
    const base = 256 / chunks;
    const extra = 256 % chunks;
    let bit = 0;
    for (let c = 0; c < chunks; c++) {
      const len = base + (c < extra ? 1 : 0);
      const info = CHUNK_INFO + (<usize>c << 4);
      store<u32>(info, bit);
      store<u32>(info, len, 4);
      p = (p + 3) & ~(<usize>3);
      store<u32>(info, <u32>p, 8);
      p += ((<usize>1 << len) + 1) * 4;
      bit += len;
    }
    positionsAt = p;
    p += <usize>chunks * (<usize>count * 3 + 1);
  }
  // Results last, so their room can grow without moving anything.
  resultsAt = (p + 7) & ~(<usize>7);
  end = resultsAt + <usize>maxResults * 8;
  if (!growTo(end)) return 0;
  return hashesAt;
}

/** Room for more results (the caller re-queries when a query reported more than fit). */
export function setCapacity(maxResults: i32): bool {
  // Results are last; scratch (if any) moves after them.
  capacity = maxResults;
  end = resultsAt + <usize>maxResults * 8;
  scratchAt = 0;
  scratchBytes = 0;
  return growTo(end);
}

/** Linear segments only: sets how many of the reserved hashes are live (appends, removals). */
export function setCount(count: i32): void {
  n = count;
}

export function resultsPtr(): usize {
  return resultsAt;
}

export function queryPtr(): usize {
  return QUERY;
}

// @ts-ignore: decorator
@inline
function chunkOf(h: usize, bit: u32, len: u32): u32 {
  const j = <usize>(bit >> 6) << 3;
  const s = <u64>(bit & 63);
  let v = load<u64>(h + j) >>> s;
  if (s + <u64>len > 64) v |= load<u64>(h + j + 8) << (64 - s);
  return <u32>v & ((<u32>1 << len) - 1);
}

// @ts-ignore: decorator
@inline
function distanceTo(h: usize): i32 {
  return <i32>(
    popcnt<u64>(load<u64>(h) ^ load<u64>(QUERY)) +
    popcnt<u64>(load<u64>(h, 8) ^ load<u64>(QUERY, 8)) +
    popcnt<u64>(load<u64>(h, 16) ^ load<u64>(QUERY, 16)) +
    popcnt<u64>(load<u64>(h, 24) ^ load<u64>(QUERY, 24))
  );
}

// @ts-ignore: decorator
@inline
function position(c: i32, p: u32): u32 {
  return load<u32>(positionsAt + <usize>c * (<usize>n * 3 + 1) + <usize>p * 3) & 0xffffff;
}

/** Builds the chunk tables from the hashes written after reserve(): a counting sort per chunk. */
export function build(): void {
  for (let c = 0; c < m; c++) {
    const info = CHUNK_INFO + (<usize>c << 4);
    const bit = load<u32>(info);
    const len = load<u32>(info, 4);
    const offsets = <usize>load<u32>(info, 8);
    const buckets = <usize>1 << len;
    const pos = positionsAt + <usize>c * (<usize>n * 3 + 1);
    memory.fill(offsets, 0, (buckets + 1) * 4);
    for (let i = 0; i < n; i++) {
      const a = offsets + ((<usize>chunkOf(hashesAt + (<usize>i << 5), bit, len) + 1) << 2);
      store<u32>(a, load<u32>(a) + 1);
    }
    for (let k: usize = 1; k <= buckets; k++) {
      store<u32>(offsets + (k << 2), load<u32>(offsets + (k << 2)) + load<u32>(offsets + ((k - 1) << 2)));
    }
    // Place with offsets[k] as the cursor, which leaves offsets[k] = start(k + 1); shift back.
    for (let i = 0; i < n; i++) {
      const a = offsets + (<usize>chunkOf(hashesAt + (<usize>i << 5), bit, len) << 2);
      const at = load<u32>(a);
      store<u32>(a, at + 1);
      const dst = pos + <usize>at * 3;
      store<u16>(dst, <u16>i);
      store<u8>(dst + 2, <u8>(i >> 16));
    }
    for (let k = buckets; k >= 1; k--) store<u32>(offsets + (k << 2), load<u32>(offsets + ((k - 1) << 2)));
    store<u32>(offsets, 0);
  }
}

let found: i32 = 0;

// @ts-ignore: decorator
@inline
function emit(i: u32, d: i32): void {
  if (found < capacity) {
    const r = resultsAt + (<usize>found << 3);
    store<u32>(r, load<u32>(idsAt + (<usize>i << 2)));
    store<u32>(r, <u32>d, 4);
  }
  found++;
}

/** Brute force over every hash: the reference the multi-index is tested against. */
export function linear(radius: i32): i32 {
  found = 0;
  for (let i = 0; i < n; i++) {
    const d = distanceTo(hashesAt + (<usize>i << 5));
    if (d <= radius) emit(i, d);
  }
  return found;
}

/** Number of keys probed per chunk for t flips of a len-bit key (for the caller's cost model). */
export function probesPerChunk(len: i32, t: i32): f64 {
  let total: f64 = 0;
  let c: f64 = 1;
  for (let k = 0; k <= t && k <= len; k++) {
    total += c;
    c = (c * <f64>(len - k)) / <f64>(k + 1);
  }
  return total;
}

// Scratch for the three query phases (probe ranges, then candidates), grown on demand.
let scratchAt: usize = 0;
let scratchBytes: usize = 0;

function scratch(bytes: usize): bool {
  if (bytes <= scratchBytes) return true;
  if (scratchAt == 0) scratchAt = (end + 15) & ~(<usize>15);
  // Grows in place: what phase 1 wrote stays where it is.
  if (!growTo(scratchAt + bytes)) return false;
  scratchBytes = bytes;
  return true;
}

/**
 * All hashes within `radius` of the 32 bytes at queryPtr(), each once. Returns how many there
 * are (-1 if scratch memory cannot grow); the first min(count, capacity) are at resultsPtr() as
 * (id, distance) pairs. Three phases, each a run of independent loads, so cache misses overlap
 * instead of forming one chain per probe: bucket ranges of every probe, then the positions in
 * those buckets, then the 256-bit check of every candidate.
 */
export function query(radius: i32): i32 {
  found = 0;
  // Generalised pigeonhole: if chunk c differs in more than t_c bits for every c, the distance is
  // at least sum(t_c + 1); so sum(t_c + 1) = radius + 1 suffices. Start from t = radius / m
  // everywhere and take the slack back from the longest chunks (they cost the most to probe).
  const t = radius / m;
  let slack = m * (t + 1) - (radius + 1);
  for (let c = 0; c < m; c++) store<i32>(FLIPS + (<usize>c << 2), t);
  for (let c = 0; c < m && slack > 0; c++, slack--) store<i32>(FLIPS + (<usize>c << 2), t - 1);
  // Phase 1: (chunk, lo, hi) of every probed bucket.
  let probes: usize = 0;
  for (let c = 0; c < m; c++) {
    const info = CHUNK_INFO + (<usize>c << 4);
    const len = load<u32>(info, 4);
    store<u32>(info, chunkOf(QUERY, load<u32>(info), len), 12);
    probes += <usize>probesPerChunk(<i32>len, load<i32>(FLIPS + (<usize>c << 2)));
  }
  if (!scratch(probes * 12)) return -1;
  let at = scratchAt;
  let candidates: usize = 0;
  for (let c = 0; c < m; c++) {
    const info = CHUNK_INFO + (<usize>c << 4);
    const len = load<u32>(info, 4);
    const offsets = <usize>load<u32>(info, 8);
    const key = load<u32>(info, 12);
    const limit = <u32>1 << len;
    const tc = load<i32>(FLIPS + (<usize>c << 2));
    // Every mask of exactly k bits below `limit`, k = 0..tc (Gosper's hack), XORed into the key.
    for (let k = 0; k <= tc && k <= <i32>len; k++) {
      let mask: u32 = k == 0 ? 0 : (<u32>1 << k) - 1;
      while (mask < limit) {
        const probe = offsets + (<usize>(key ^ mask) << 2);
        const lo = load<u32>(probe);
        const hi = load<u32>(probe, 4);
        if (hi > lo) {
          store<u32>(at, c);
          store<u32>(at, lo, 4);
          store<u32>(at, hi, 8);
          at += 12;
          candidates += hi - lo;
        }
        if (k == 0) break;
        const low = mask & (0 - mask);
        const ripple = mask + low;
        mask = (((ripple ^ mask) >> 2) / low) | ripple;
      }
    }
  }
  const rangesEnd = at;
  // Phase 2: positions of all candidates, with their chunk (for the report-once rule).
  const need = (rangesEnd - scratchAt) + candidates * 8;
  if (!scratch(need)) return -1;
  let cand = rangesEnd;
  for (let r = scratchAt; r < rangesEnd; r += 12) {
    const c = load<u32>(r);
    const hi = load<u32>(r, 8);
    const base = positionsAt + <usize>c * (<usize>n * 3 + 1);
    for (let p = load<u32>(r, 4); p < hi; p++) {
      store<u32>(cand, load<u32>(base + <usize>p * 3) & 0xffffff);
      store<u32>(cand, c, 4);
      cand += 8;
    }
  }
  // Phase 3: verify each candidate on all 256 bits.
  for (let q = rangesEnd; q < cand; q += 8) {
    const i = load<u32>(q);
    const h = hashesAt + (<usize>i << 5);
    const d = distanceTo(h);
    if (d > radius) continue;
    if (foundEarlier(h, <i32>load<u32>(q, 4))) continue;
    emit(i, d);
  }
  return found;
}

/** True when a chunk before c is within its flips too: that chunk's probe reports this hash. */
function foundEarlier(h: usize, c: i32): bool {
  for (let e = 0; e < c; e++) {
    const info = CHUNK_INFO + (<usize>e << 4);
    const v = chunkOf(h, load<u32>(info), load<u32>(info, 4));
    if (<i32>popcnt<u32>(v ^ load<u32>(info, 12)) <= load<i32>(FLIPS + (<usize>e << 2))) return true;
  }
  return false;
}

// PDQ multi-index hashing (Norouzi et al., "Fast search in Hamming space with multi-index
// hashing", CVPR 2012), AssemblyScript compiled to WebAssembly. One instance holds one immutable
// segment of up to 2^24 hashes:
//   - the 256 bits are cut into M chunks of chosen lengths (setChunkLength before reserve); a hash
//     within distance r of the query agrees with it on some chunk c to within t_c bits whenever
//     sum(t_c + 1) = r + 1 (generalised pigeonhole), so probing every key within t_c bits of each
//     query chunk finds every match: recall is 100% by construction;
//   - each chunk has a compact bucket table over 3-byte positions (entries sorted by chunk key):
//     one 64-byte line per block of B consecutive buckets, holding the block's start (u32) and
//     B in-block offsets (slot j > 0: start of bucket j; slot 0: the block's size): u8 slots
//     with B = 60, or u16 slots with B = 30 for crowded chunks (more than 2 entries per bucket
//     on average). A probe reads one line. Blocks too full for their slots are flagged in the
//     start word and keep B + 1 u32 offsets in an overflow area instead;
//   - a candidate is verified on all 256 bits with popcount; a match found through chunk c is kept
//     only if no earlier chunk is within t_c bits too, so each match is reported exactly once.
// M = 0 makes a linear segment (brute force only), used for small and mutable segments.
// Nothing is allocated per query: the query and the results live at fixed places in memory.

// Fixed areas start after the module's static data (none today, but the compiler may add some).
const QUERY: usize = (__heap_base + 63) & ~(<usize>63); // 32 bytes
const MAX_CHUNKS = 32;
// Per chunk, 32 bytes: bit offset, length, buckets per block (60 or 30), table ptr, positions
// ptr, query key, flips this radius (i32, -1 = not probed), 1 if its slots are u16.
const CHUNK_INFO: usize = QUERY + 64;
const HEADER_END: usize = CHUNK_INFO + MAX_CHUNKS * 32;
const OVERFLOW: u32 = 0x80000000;
const MAX_FLIPS = 7;

let n: i32 = 0;
let m: i32 = 0;
let hashesAt: usize = 0; // n x 32 bytes
let idsAt: usize = 0; // n x u32 external ids
let overflowAt: usize = 0; // overflow records of overfull blocks (65 x u32 each)
let overflowEnd: usize = 0;
let resultsAt: usize = 0; // capacity x (id u32, distance u32)
let capacity: i32 = 0;
let end: usize = 0;
let sink: u32 = 0; // folds the touch loads in, so that they are not optimised away

// @ts-ignore: decorator
@inline
function info(c: i32): usize {
  return CHUNK_INFO + (<usize>c << 5);
}

function growTo(bytes: usize): bool {
  const need = <i32>((bytes + 65535) >> 16);
  const have = memory.size();
  if (need > have) return memory.grow(need - have) >= 0;
  return true;
}

/** Length in bits of chunk c, set before reserve() (lengths summing to 256; else equal cuts). */
export function setChunkLength(c: i32, len: i32): void {
  if (c >= 0 && c < MAX_CHUNKS) store<u32>(info(c), <u32>len, 4);
}

/**
 * Lays out a segment of `count` hashes cut into `chunks` chunks (0 = linear only) with room for
 * `maxResults` results. Returns the address where the caller writes count x 32 hash bytes,
 * followed by count x u32 ids; 0 if memory cannot grow.
 */
export function reserve(count: i32, chunks: i32, maxResults: i32): usize {
  if (chunks > MAX_CHUNKS) return 0;
  n = count;
  m = chunks;
  capacity = maxResults;
  planned = -1;
  let p: usize = HEADER_END;
  hashesAt = p;
  p += <usize>count * 32;
  idsAt = p;
  p += <usize>count * 4;
  if (chunks > 0) {
    let total = 0;
    let valid = true;
    for (let c = 0; c < chunks; c++) {
      const len = <i32>load<u32>(info(c), 4);
      if (len < 1 || len > 30) valid = false;
      total += len;
    }
    let bit = 0;
    for (let c = 0; c < chunks; c++) {
      const len = valid && total == 256 ? load<u32>(info(c), 4) : <u32>(256 / chunks + (c < 256 % chunks ? 1 : 0));
      if (len > 30) return 0;
      // Crowded chunks (more than 2 entries per bucket) get u16 slots, 30 buckets per block.
      const wide: u32 = <u64>count > (<u64>2 << len) ? 1 : 0;
      const per: u32 = wide ? 30 : 60;
      const blocks = ((<usize>1 << len) + per - 1) / per;
      const at = info(c);
      store<u32>(at, bit);
      store<u32>(at, len, 4);
      store<u32>(at, per, 8);
      p = (p + 63) & ~(<usize>63);
      store<u32>(at, <u32>p, 12);
      p += blocks * 64;
      store<u32>(at, wide, 28);
      bit += len;
    }
    for (let c = 0; c < chunks; c++) {
      store<u32>(info(c), <u32>p, 16);
      p += <usize>count * 3 + 1;
    }
  }
  overflowAt = (p + 63) & ~(<usize>63);
  overflowEnd = overflowAt;
  // Results last, so their room can grow without moving anything.
  resultsAt = overflowEnd;
  end = resultsAt + <usize>maxResults * 8;
  scratchAt = 0;
  scratchBytes = 0;
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

/** Bytes of overflow records (blocks of more than 255 entries in one chunk's table). */
export function overflowBytes(): usize {
  return overflowEnd - overflowAt;
}

/**
 * Restoring a built segment from its memory image (a snapshot of hashes, ids, tables, positions
 * and overflow records, as laid out by reserve() with the same count, chunks and lengths): makes
 * room for `bytes` of overflow records; the host then writes the image from reserve()'s address
 * to imageEnd() and calls finishBuild().
 */
export function adoptOverflow(bytes: usize): bool {
  overflowEnd = overflowAt + bytes;
  return growTo(overflowEnd);
}

/** End of a built segment's image (hashes, ids, tables, positions, overflow records). */
export function imageEnd(): usize {
  return overflowEnd;
}

/** Length in bits of chunk c as laid out by reserve(). */
export function chunkLength(c: i32): u32 {
  return c >= 0 && c < MAX_CHUNKS ? load<u32>(info(c), 4) : 0;
}

/** The folded touch loads (keeps them from being optimised away). */
export function touched(): u32 {
  return sink;
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

function newOverflowRecord(slots: usize): usize {
  const rec = overflowEnd;
  if (!growTo(rec + slots * 4)) return 0;
  memory.fill(rec, 0, slots * 4);
  overflowEnd = rec + slots * 4;
  return rec;
}

// Block of bucket k (k / 60, or k / 30 for u16 slots) by one multiplication: 0x88888889 is
// ceil(2^37 / 60), exact for every u32 k (the error 28k / 2^37 stays below 1 / 60), and no
// division is left for the baseline compiler that runs build() to emit.
// @ts-ignore: decorator
@inline
function blockOf(k: usize, wide: u32): usize {
  return <usize>((<u64>k * 0x88888889) >> (37 - <u64>wide));
}

// Slot j of a table line (after its u32 block start).
// @ts-ignore: decorator
@inline
function slot(line: usize, j: usize, wide: u32): u32 {
  return wide ? <u32>load<u16>(line + 4 + (j << 1)) : <u32>load<u8>(line + 4 + j);
}

// @ts-ignore: decorator
@inline
function setSlot(line: usize, j: usize, wide: u32, v: u32): void {
  if (wide) store<u16>(line + 4 + (j << 1), <u16>v);
  else store<u8>(line + 4 + j, <u8>v);
}

/**
 * Builds the chunk tables from the hashes written after reserve(). Returns false if memory for
 * overflow records cannot grow.
 */
export function build(): bool {
  for (let c = 0; c < m; c++) if (!buildChunk(c)) return false;
  return finishBuild();
}

/**
 * Builds chunk c's table: a count pass, an exact recount for the blocks too full for their slots,
 * offsets, then a placement pass. Called once per chunk (in order), then finishBuild(): the host
 * calls them one by one so that the engine can swap in optimised code between calls.
 */
export function buildChunk(c: i32): bool {
  {
    const at = info(c);
    const bit = load<u32>(at);
    const len = load<u32>(at, 4);
    const per = <usize>load<u32>(at, 8);
    const table = <usize>load<u32>(at, 12);
    const pos = <usize>load<u32>(at, 16);
    const wide = load<u32>(at, 28);
    const full: u32 = wide ? 0xffff : 0xff;
    const blocks = ((<usize>1 << len) + per - 1) / per;
    memory.fill(table, 0, blocks * 64);
    // Count: per bucket in its slot (may wrap), per block exactly in its start word.
    for (let i = 0; i < n; i++) {
      const k = <usize>chunkOf(hashesAt + (<usize>i << 5), bit, len);
      const blk = blockOf(k, wide);
      const line = table + (blk << 6);
      const j = k - blk * per;
      setSlot(line, j, wide, slot(line, j, wide) + 1);
      store<u32>(line, load<u32>(line) + 1);
    }
    let overfull = 0;
    for (let blk: usize = 0; blk < blocks; blk++) {
      const line = table + (blk << 6);
      if (load<u32>(line) <= full) continue;
      const rec = newOverflowRecord(per + 1);
      if (rec == 0) return false;
      store<u32>(line, OVERFLOW | <u32>(rec >> 2));
      overfull++;
    }
    if (overfull > 0) {
      // Exact counts for the overfull blocks, bucket j at record slot j + 1.
      for (let i = 0; i < n; i++) {
        const k = <usize>chunkOf(hashesAt + (<usize>i << 5), bit, len);
        const blk = blockOf(k, wide);
        const b = load<u32>(table + (blk << 6));
        if ((b & OVERFLOW) == 0) continue;
        const at = (<usize>(b & ~OVERFLOW) << 2) + ((k - blk * per + 1) << 2);
        store<u32>(at, load<u32>(at) + 1);
      }
    }
    // Offsets, shifted by one for the placement pass: the cursor of bucket j sits in slot j + 1
    // (slot 0 for the last) and ends at the start of bucket j + 1 (slot 0: the block's size).
    let running: u32 = 0;
    for (let blk: usize = 0; blk < blocks; blk++) {
      const line = table + (blk << 6);
      const b = load<u32>(line);
      if (b & OVERFLOW) {
        const rec = <usize>(b & ~OVERFLOW) << 2;
        store<u32>(rec, running);
        for (let j: usize = 1; j <= per; j++) {
          const count = load<u32>(rec + (j << 2));
          store<u32>(rec + (j << 2), running);
          running += count;
        }
      } else {
        let carry = slot(line, 0, wide);
        let s: u32 = 0;
        for (let j: usize = 0; j < per; j++) {
          const next = j + 1 < per ? slot(line, j + 1, wide) : 0;
          setSlot(line, j + 1 < per ? j + 1 : 0, wide, s);
          s += carry;
          carry = next;
        }
        store<u32>(line, running);
        running += b;
      }
    }
    // Place.
    for (let i = 0; i < n; i++) {
      const k = <usize>chunkOf(hashesAt + (<usize>i << 5), bit, len);
      const blk = blockOf(k, wide);
      const line = table + (blk << 6);
      const b = load<u32>(line);
      const j = k - blk * per + 1;
      let to: u32;
      if (b & OVERFLOW) {
        const at = (<usize>(b & ~OVERFLOW) << 2) + (j << 2);
        to = load<u32>(at);
        store<u32>(at, to + 1);
      } else {
        const cursor = j < per ? j : 0;
        const rel = slot(line, cursor, wide);
        setSlot(line, cursor, wide, rel + 1);
        to = b + rel;
      }
      const dst = pos + <usize>to * 3;
      store<u16>(dst, <u16>i);
      store<u8>(dst + 2, <u8>(i >> 16));
    }
  }
  return true;
}

/** After every buildChunk(): results (and scratch) move after the overflow records. */
export function finishBuild(): bool {
  resultsAt = (overflowEnd + 7) & ~(<usize>7);
  end = resultsAt + <usize>capacity * 8;
  scratchAt = 0;
  scratchBytes = 0;
  return growTo(end);
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

/** Number of keys probed per chunk for t flips of a len-bit key. */
export function probesPerChunk(len: i32, t: i32): f64 {
  let total: f64 = 0;
  let c: f64 = 1;
  for (let k = 0; k <= t && k <= len; k++) {
    total += c;
    c = (c * <f64>(len - k)) / <f64>(k + 1);
  }
  return total;
}

// Scratch for the planner and the query phases, grown on demand.
let scratchAt: usize = 0;
let scratchBytes: usize = 0;

function scratch(bytes: usize): bool {
  if (bytes <= scratchBytes) return true;
  if (scratchAt == 0) scratchAt = (end + 63) & ~(<usize>63);
  // Grows in place: what an earlier phase wrote stays where it is.
  if (!growTo(scratchAt + bytes)) return false;
  scratchBytes = bytes;
  return true;
}

let planned: i32 = -1;
let plannedCost: f64 = Infinity;
let plannedProbes: usize = 0;

/** Expected random memory accesses for one probe of a chunk of `len` bits with `t` flips. */
function chunkCost(len: u32, t: i32): f64 {
  if (t < 0) return 0;
  // A table line and (if the bucket is not empty) a positions line per probe, then one hash
  // line per candidate.
  const lambda = <f64>n / <f64>(<u64>1 << len);
  // 1 - e^-lambda (non-empty buckets), bounded by lambda and 1: close enough for planning.
  const busy = lambda < 1 ? lambda * (1 - lambda / 2 + (lambda * lambda) / 6) : 1 - 0.5 / lambda;
  return probesPerChunk(<i32>len, t) * (1 + busy + lambda);
}

/**
 * Chooses the flips per chunk for `radius`: the cheapest t_c (-1 = chunk not probed) with
 * sum(t_c + 1) = radius + 1, by dynamic programming over the chunks. Returns the expected cost in
 * random memory accesses (Infinity if no plan within MAX_FLIPS per chunk covers the radius, or
 * if scratch memory cannot grow). Cached per radius.
 */
export function plan(radius: i32): f64 {
  if (radius == planned) return plannedCost;
  planned = radius;
  plannedCost = Infinity;
  plannedProbes = 0;
  if (m == 0 || radius < 0 || radius + 1 > m * (MAX_FLIPS + 1)) return plannedCost;
  const units = radius + 1;
  const row = <usize>(units + 1);
  // best[c][u]: cheapest cost of chunks c.. covering u units; pick[c][u]: t_c + 1 chosen.
  if (!scratch(<usize>(m + 1) * row * 12)) return plannedCost;
  const best = scratchAt;
  const pick = best + <usize>(m + 1) * row * 8;
  for (let u = 0; u <= units; u++) store<f64>(best + (<usize>m * row + <usize>u) * 8, u == 0 ? 0 : Infinity);
  for (let c = m - 1; c >= 0; c--) {
    const len = load<u32>(info(c), 4);
    for (let u = 0; u <= units; u++) {
      let cost = Infinity;
      let choice = 0;
      for (let a = 0; a <= MAX_FLIPS + 1 && a <= u && a <= <i32>len + 1; a++) {
        const rest = load<f64>(best + (<usize>(c + 1) * row + <usize>(u - a)) * 8);
        const x = rest + chunkCost(len, a - 1);
        if (x < cost) {
          cost = x;
          choice = a;
        }
      }
      store<f64>(best + (<usize>c * row + <usize>u) * 8, cost);
      store<i32>(pick + (<usize>c * row + <usize>u) * 4, choice);
    }
  }
  const total = load<f64>(best + <usize>units * 8);
  if (total == Infinity) return plannedCost;
  let u = units;
  for (let c = 0; c < m; c++) {
    const a = load<i32>(pick + (<usize>c * row + <usize>u) * 4);
    store<i32>(info(c), a - 1, 24);
    plannedProbes += <usize>probesPerChunk(<i32>load<u32>(info(c), 4), a - 1);
    u -= a;
  }
  plannedCost = total;
  return total;
}

/** Flips chunk c is probed with at the planned radius (-1: not probed). For tests. */
export function plannedFlips(c: i32): i32 {
  return load<i32>(info(c), 24);
}

/**
 * All hashes within `radius` of the 32 bytes at queryPtr(), each once. Returns how many there
 * are (-1 if scratch memory cannot grow); the first min(count, capacity) are at resultsPtr() as
 * (id, distance) pairs. Four phases, each a run of independent loads that also touches what the
 * next phase reads, so cache misses overlap instead of forming one chain per probe: the probed
 * keys (touching their table lines), their bucket ranges (touching the positions), the
 * candidates (touching their hashes), then the 256-bit check of every candidate.
 */
export function query(radius: i32): i32 {
  if (plan(radius) == Infinity) return linear(radius);
  found = 0;
  let touch: u32 = 0;
  // Phase 1: every probed key (chunk, key), touching its offsets line and block start.
  if (!scratch(plannedProbes * 8)) return -1;
  let at = scratchAt;
  for (let c = 0; c < m; c++) {
    const ci = info(c);
    const len = load<u32>(ci, 4);
    const key = chunkOf(QUERY, load<u32>(ci), len);
    store<u32>(ci, key, 20);
    const tc = load<i32>(ci, 24);
    if (tc < 0) continue;
    const wide = load<u32>(ci, 28);
    const table = <usize>load<u32>(ci, 12);
    // k = 0, 1, 2 flips by nested loops; more by Gosper's hack.
    store<u32>(at, c);
    store<u32>(at, key, 4);
    touch += load<u32>(table + (blockOf(<usize>key, wide) << 6));
    at += 8;
    if (tc >= 1) {
      for (let a: u32 = 0; a < len; a++) {
        const k1 = key ^ (<u32>1 << a);
        store<u32>(at, c);
        store<u32>(at, k1, 4);
        touch += load<u32>(table + (blockOf(<usize>k1, wide) << 6));
        at += 8;
        if (tc >= 2) {
          for (let b: u32 = 0; b < a; b++) {
            const k2 = k1 ^ (<u32>1 << b);
            store<u32>(at, c);
            store<u32>(at, k2, 4);
            touch += load<u32>(table + (blockOf(<usize>k2, wide) << 6));
            at += 8;
          }
        }
      }
    }
    const limit = <u32>1 << len;
    for (let k = 3; k <= tc && k <= <i32>len; k++) {
      let mask: u32 = (<u32>1 << k) - 1;
      while (mask < limit) {
        const kk = key ^ mask;
        store<u32>(at, c);
        store<u32>(at, kk, 4);
        touch += load<u32>(table + (blockOf(<usize>kk, wide) << 6));
        at += 8;
        const low = mask & (0 - mask);
        const ripple = mask + low;
        mask = (((ripple ^ mask) >> 2) / low) | ripple;
      }
    }
  }
  const probesEnd = at;
  // Phase 2: bucket range of every probe, kept if not empty. No branch depends on the data, so
  // that nothing is thrown away by a misprediction while misses are in flight.
  if (!scratch((probesEnd - scratchAt) * 3)) return -1;
  let candidates: usize = 0;
  let ranges = probesEnd;
  for (let q = scratchAt; q < probesEnd; q += 8) {
    const c = load<u32>(q);
    const k = <usize>load<u32>(q, 4);
    const ci = info(<i32>c);
    const wide = load<u32>(ci, 28);
    const per = <usize>load<u32>(ci, 8);
    const blk = blockOf(k, wide);
    const line = <usize>load<u32>(ci, 12) + (blk << 6);
    const b = load<u32>(line);
    const j = k - blk * per;
    let lo: u32;
    let hi: u32;
    if (b & OVERFLOW) {
      const rec = (<usize>(b & ~OVERFLOW) << 2) + (j << 2);
      lo = load<u32>(rec);
      hi = load<u32>(rec, 4);
    } else {
      lo = b + select<u32>(slot(line, j, wide), 0, j != 0);
      hi = b + slot(line, select<usize>(j + 1, 0, j + 1 < per), wide);
    }
    store<u32>(ranges, c);
    store<u32>(ranges, lo, 4);
    store<u32>(ranges, hi, 8);
    ranges += select<usize>(12, 0, hi > lo);
    candidates += hi - lo;
  }
  // Touch the first positions of every range.
  for (let r = probesEnd; r < ranges; r += 12) {
    touch += load<u8>(<usize>load<u32>(info(<i32>load<u32>(r)), 16) + <usize>load<u32>(r, 4) * 3);
  }
  // Phase 3: positions of all candidates, with their chunk (for the report-once rule), then a
  // touch of their hashes.
  const need = (ranges - scratchAt) + candidates * 8;
  if (!scratch(need)) return -1;
  let cand = ranges;
  for (let r = probesEnd; r < ranges; r += 12) {
    const c = load<u32>(r);
    const hi = load<u32>(r, 8);
    const pos = <usize>load<u32>(info(<i32>c), 16);
    for (let p = load<u32>(r, 4); p < hi; p++) {
      store<u32>(cand, load<u32>(pos + <usize>p * 3) & 0xffffff);
      store<u32>(cand, c, 4);
      cand += 8;
    }
  }
  for (let q = ranges; q < cand; q += 8) touch += load<u8>(hashesAt + (<usize>load<u32>(q) << 5));
  sink += touch;
  // Phase 4: verify each candidate on all 256 bits.
  const q0 = load<u64>(QUERY);
  const q1 = load<u64>(QUERY, 8);
  const q2 = load<u64>(QUERY, 16);
  const q3 = load<u64>(QUERY, 24);
  for (let q = ranges; q < cand; q += 8) {
    const i = load<u32>(q);
    const h = hashesAt + (<usize>i << 5);
    const d = <i32>(
      popcnt<u64>(load<u64>(h) ^ q0) +
      popcnt<u64>(load<u64>(h, 8) ^ q1) +
      popcnt<u64>(load<u64>(h, 16) ^ q2) +
      popcnt<u64>(load<u64>(h, 24) ^ q3)
    );
    if (d > radius) continue;
    if (foundEarlier(h, <i32>load<u32>(q, 4))) continue;
    emit(i, d);
  }
  return found;
}

/** True when a chunk before c is within its flips too: that chunk's probe reports this hash. */
function foundEarlier(h: usize, c: i32): bool {
  for (let e = 0; e < c; e++) {
    const ci = info(e);
    const v = chunkOf(h, load<u32>(ci), load<u32>(ci, 4));
    if (<i32>popcnt<u32>(v ^ load<u32>(ci, 20)) <= load<i32>(ci, 24)) return true;
  }
  return false;
}

/**
 * @module match/compact-exact-index
 * The index of exact signal types (file digests, model identity hashes) for banks of any size:
 * sorted typed arrays instead of a JavaScript Map, with snapshots.
 *
 * Hex values of one length form a *table*: each value's first 20 bytes (40 hex) as big-endian
 * u32 words (W = ceil(min(length, 40) / 8), the last word zero-padded) in `keys`, its entry id
 * in `ids`, sorted by key. An MD5 takes 20 bytes an entry (4 words + id), a SHA-1 24 and a
 * SHA-256 24: a SHA-256 is stored by its first 160 bits, so a hit on a table of values longer
 * than 40 hex is a *candidate* whose full value was not compared; it is reported with
 * `{ confirm: true }` in its detail and the caller confirms it against the entry it reads by id
 * (see docs/ARCHITECTURE.md, "Exact-hash index"). Values of 40 hex or fewer are stored whole
 * and their hits are exact. Lookups are binary searches (O(log n), a few microseconds at 10^8).
 *
 * Adds since the last merge live in a small Map (full values, exact); removes of table entries
 * overwrite their id with a tombstone in place. The side Map is merged into the tables when it
 * grows past 1/8 of them and on serialize(). Values that are not lower-case hex (no built-in
 * type has them) stay in a Map.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { WardError } from '../errors.js';
import type { HitSink, SignalIndex, SignalIndexKind } from '../signals/types.js';
import { crc32 } from './crc32.js';
import { isPrefixQuery } from './exact-index.js';

/** Hex characters of a value kept in a table (20 bytes). */
export const STORED_HEX = 40;
/** The id a removed table entry gets (entry ids are below it). */
const DELETED = 0xffffffff;
const HEX = /^[0-9a-f]+$/;
const MAGIC = 'WARDEXA1';
const VERSION = 1;
const HEADER_BYTES = 32;
const TABLE_DESCRIPTOR_BYTES = 12;
const MERGE_MIN = 1 << 16;

const wordsFor = (hexLength: number): number => Math.ceil(Math.min(hexLength, STORED_HEX) / 8);

/** Writes the key words of a hex value (its first 40 hex, zero-padded) into out at `at`. */
function keyInto(value: string, words: number, out: Uint32Array, at: number, pad = '0'): void {
  for (let w = 0; w < words; w++) {
    let part = value.slice(w * 8, w * 8 + 8);
    if (part.length < 8) part = part.padEnd(8, pad);
    out[at + w] = Number.parseInt(part, 16) >>> 0;
  }
}

/** One hex length's sorted entries. */
export interface Table {
  hexLength: number;
  words: number;
  keys: Uint32Array;
  ids: Uint32Array;
  count: number;
}

/** Compares the key at entry i of `t` with `key` (W words): <0, 0, >0. */
function compareAt(t: Table, i: number, key: Uint32Array): number {
  const base = i * t.words;
  for (let w = 0; w < t.words; w++) {
    const a = t.keys[base + w] as number;
    const b = key[w] as number;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/** First entry whose key is >= key (or > key when `after`). */
function bound(t: Table, key: Uint32Array, after: boolean): number {
  let lo = 0;
  let hi = t.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareAt(t, mid, key);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sorts n entries (W-word keys and ids) by key: a native sort of (first word, position) pairs
 * packed in u64s, then equal first words ordered by their remaining words. Returns new arrays.
 */
function sortEntries(
  keys: Uint32Array,
  ids: Uint32Array,
  words: number,
  n: number,
): { keys: Uint32Array; ids: Uint32Array } {
  const packed = new BigUint64Array(n);
  const halves = new Uint32Array(packed.buffer);
  for (let i = 0; i < n; i++) {
    halves[2 * i] = i;
    halves[2 * i + 1] = keys[i * words] as number;
  }
  packed.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = halves[2 * i] as number;
  // Runs of equal first words (rare for digests): order by the full key.
  if (words > 1) {
    for (let i = 0; i < n; ) {
      let j = i + 1;
      const first = halves[2 * i + 1];
      while (j < n && halves[2 * j + 1] === first) j++;
      if (j - i > 1) {
        const run = Array.from(order.subarray(i, j)).sort((a, b) => {
          for (let w = 1; w < words; w++) {
            const x = keys[a * words + w] as number;
            const y = keys[b * words + w] as number;
            if (x !== y) return x < y ? -1 : 1;
          }
          return 0;
        });
        order.set(run, i);
      }
      i = j;
    }
  }
  const outKeys = new Uint32Array(n * words);
  const outIds = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const from = order[i] as number;
    for (let w = 0; w < words; w++) outKeys[i * words + w] = keys[from * words + w] as number;
    outIds[i] = ids[from] as number;
  }
  return { keys: outKeys, ids: outIds };
}

export interface CompactExactStats {
  entries: number;
  tables: { hexLength: number; entries: number; bytes: number }[];
  /** Adds not yet merged into the tables. */
  pending: number;
  tombstones: number;
  /** Bytes of the tables' typed arrays. */
  bytes: number;
}

export class CompactExactIndex implements SignalIndex {
  private tables = new Map<number, Table>();
  /** Added since the last merge (hex values), value → ids. */
  private side = new Map<string, number[]>();
  private sideCount = 0;
  /** Values that are not lower-case hex, value → ids (never merged). */
  private other = new Map<string, number[]>();
  private tombstones = 0;
  private live = 0;
  private readonly scratch = new Uint32Array(STORED_HEX / 8);
  private readonly scratchHigh = new Uint32Array(STORED_HEX / 8);

  get size(): number {
    return this.live;
  }

  /** Takes over a table read from a snapshot. @internal */
  adoptTable(t: Table): void {
    this.tables.set(t.hexLength, t);
  }

  /** Takes over a non-hex entry read from a snapshot. @internal */
  adoptOther(value: string, id: number): void {
    push(this.other, value, id);
  }

  /** Sets the live count after a snapshot filled the tables. @internal */
  setLive(live: number): void {
    this.live = live;
  }

  /**
   * An index over n entries of one hex length given as key words (`wordsFor(hexLength)` per
   * entry, as tables hold them) and ids, in any order: the bulk path (benchmarks, snapshots).
   */
  static fromKeys(hexLength: number, keys: Uint32Array, ids: Uint32Array): CompactExactIndex {
    const words = wordsFor(hexLength);
    if (keys.length !== ids.length * words) throw new WardError('WARD_ERR_INTERNAL', 'Key words and ids differ');
    for (const id of ids) if (id === DELETED) throw new WardError('WARD_ERR_INTERNAL', 'Entry ids are below 2^32 - 1');
    const index = new CompactExactIndex();
    const sorted = sortEntries(keys, ids, words, ids.length);
    index.tables.set(hexLength, { hexLength, words, keys: sorted.keys, ids: sorted.ids, count: ids.length });
    index.live = ids.length;
    return index;
  }

  /** An index over (id, value) entries: grouped by length into typed arrays, then sorted. */
  static build(entries: Iterable<readonly [number, string]>): CompactExactIndex {
    const index = new CompactExactIndex();
    const groups = new Map<number, { keys: Uint32Array; ids: Uint32Array; n: number }>();
    for (const [id, value] of entries) {
      checkId(id);
      if (!HEX.test(value)) {
        push(index.other, value, id);
        index.live++;
        continue;
      }
      let g = groups.get(value.length);
      const words = wordsFor(value.length);
      if (!g) groups.set(value.length, (g = { keys: new Uint32Array(1024 * words), ids: new Uint32Array(1024), n: 0 }));
      if (g.n === g.ids.length) {
        const keys = new Uint32Array(g.keys.length * 2);
        keys.set(g.keys);
        const ids = new Uint32Array(g.ids.length * 2);
        ids.set(g.ids);
        g.keys = keys;
        g.ids = ids;
      }
      keyInto(value, words, g.keys, g.n * words);
      g.ids[g.n++] = id;
      index.live++;
    }
    for (const [hexLength, g] of groups) {
      const words = wordsFor(hexLength);
      const sorted = sortEntries(g.keys, g.ids, words, g.n);
      index.tables.set(hexLength, { hexLength, words, keys: sorted.keys, ids: sorted.ids, count: g.n });
    }
    return index;
  }

  add(id: number, value: string): void {
    checkId(id);
    if (HEX.test(value)) {
      push(this.side, value, id);
      this.sideCount++;
    } else push(this.other, value, id);
    this.live++;
    let tabled = 0;
    for (const t of this.tables.values()) tabled += t.count;
    if (this.sideCount > Math.max(MERGE_MIN, tabled / 8)) this.merge();
  }

  remove(id: number, value: string): boolean {
    const map = HEX.test(value) ? this.side : this.other;
    const list = map.get(value);
    const k = list ? list.indexOf(id) : -1;
    if (list && k >= 0) {
      list.splice(k, 1);
      if (list.length === 0) map.delete(value);
      if (map === this.side) this.sideCount--;
      this.live--;
      return true;
    }
    const t = map === this.side ? this.tables.get(value.length) : undefined;
    if (!t) return false;
    keyInto(value, t.words, this.scratch, 0);
    const key = this.scratch.subarray(0, t.words);
    for (let i = bound(t, key, false); i < t.count && compareAt(t, i, key) === 0; i++) {
      if (t.ids[i] !== id) continue;
      t.ids[i] = DELETED;
      this.tombstones++;
      this.live--;
      return true;
    }
    return false;
  }

  search(query: unknown, _radius: number, hit: HitSink): void {
    if (typeof query === 'string') {
      const map = HEX.test(query) ? this.side : this.other;
      for (const id of map.get(query) ?? []) hit(id, 0);
      const t = map === this.side ? this.tables.get(query.length) : undefined;
      if (!t || t.count === 0) return;
      keyInto(query, t.words, this.scratch, 0);
      const key = this.scratch.subarray(0, t.words);
      const confirm = t.hexLength > STORED_HEX;
      for (let i = bound(t, key, false); i < t.count && compareAt(t, i, key) === 0; i++) {
        const id = t.ids[i] as number;
        if (id !== DELETED) confirm ? hit(id, 0, { confirm: true }) : hit(id, 0);
      }
      return;
    }
    if (!isPrefixQuery(query) || query.prefix === '') return;
    const p = query.prefix;
    for (const map of [this.side, this.other]) {
      for (const [value, ids] of map)
        if (value.length > p.length && value.startsWith(p)) for (const id of ids) hit(id, 0);
    }
    if (!HEX.test(p)) return;
    for (const t of this.tables.values()) {
      if (t.hexLength <= p.length || t.count === 0) continue;
      // Entries whose stored key lies between the prefix padded with 0s and with fs.
      const stored = p.slice(0, STORED_HEX);
      keyInto(stored, t.words, this.scratch, 0, '0');
      keyInto(stored, t.words, this.scratchHigh, 0, 'f');
      const low = this.scratch.subarray(0, t.words);
      const high = this.scratchHigh.subarray(0, t.words);
      const end = bound(t, high, true);
      const confirm = p.length > STORED_HEX;
      for (let i = bound(t, low, false); i < end; i++) {
        const id = t.ids[i] as number;
        if (id !== DELETED) confirm ? hit(id, 0, { confirm: true }) : hit(id, 0);
      }
    }
  }

  *ids(): Iterable<number> {
    for (const t of this.tables.values()) {
      for (let i = 0; i < t.count; i++) if (t.ids[i] !== DELETED) yield t.ids[i] as number;
    }
    for (const map of [this.side, this.other]) for (const ids of map.values()) yield* ids;
  }

  stats(): CompactExactStats {
    const tables = [...this.tables.values()].map((t) => ({
      hexLength: t.hexLength,
      entries: t.count,
      bytes: t.keys.byteLength + t.ids.byteLength,
    }));
    return {
      entries: this.live,
      tables,
      pending: this.sideCount,
      tombstones: this.tombstones,
      bytes: tables.reduce((s, t) => s + t.bytes, 0),
    };
  }

  /** Folds the pending adds into the tables and drops tombstones (sorted merge per length). */
  merge(): void {
    if (this.sideCount === 0 && this.tombstones === 0) return;
    const byLength = new Map<number, [string, number][]>();
    for (const [value, ids] of this.side) {
      let list = byLength.get(value.length);
      if (!list) byLength.set(value.length, (list = []));
      for (const id of ids) list.push([value, id]);
    }
    for (const length of new Set([...byLength.keys(), ...this.tables.keys()])) {
      const t = this.tables.get(length);
      const words = wordsFor(length);
      const adds = byLength.get(length) ?? [];
      // Sorted by key, as the table is: compare the stored part only.
      adds.sort((a, b) => {
        const x = a[0].slice(0, STORED_HEX);
        const y = b[0].slice(0, STORED_HEX);
        return x < y ? -1 : x > y ? 1 : 0;
      });
      const addKeys = new Uint32Array(adds.length * words);
      for (const [i, [value]] of adds.entries()) keyInto(value, words, addKeys, i * words);
      const old = t ?? { hexLength: length, words, keys: new Uint32Array(0), ids: new Uint32Array(0), count: 0 };
      let kept = 0;
      for (let i = 0; i < old.count; i++) if (old.ids[i] !== DELETED) kept++;
      const n = kept + adds.length;
      const keys = new Uint32Array(n * words);
      const ids = new Uint32Array(n);
      let i = 0;
      let j = 0;
      let at = 0;
      const addFirst = (): boolean => {
        for (let w = 0; w < words; w++) {
          const a = old.keys[i * words + w] as number;
          const b = addKeys[j * words + w] as number;
          if (a !== b) return b < a;
        }
        return false;
      };
      while (i < old.count || j < adds.length) {
        if (i < old.count && old.ids[i] === DELETED) {
          i++;
          continue;
        }
        if (j < adds.length && (i >= old.count || addFirst())) {
          keys.set(addKeys.subarray(j * words, j * words + words), at * words);
          ids[at++] = (adds[j] as [string, number])[1];
          j++;
        } else {
          keys.set(old.keys.subarray(i * words, i * words + words), at * words);
          ids[at++] = old.ids[i] as number;
          i++;
        }
      }
      if (n === 0) this.tables.delete(length);
      else this.tables.set(length, { hexLength: length, words, keys, ids, count: n });
    }
    this.side.clear();
    this.sideCount = 0;
    this.tombstones = 0;
  }

  /**
   * A snapshot (merges first). Layout, little-endian: a 32-byte header (magic WARDEXA1, version,
   * table count, bytes of the non-hex part, live entries, reserved, CRC-32), one 12-byte
   * descriptor per table (hex length, words per key, entries), each table's key words then its
   * ids, then the non-hex entries as UTF-8 JSON `[[value, id], ...]`. The CRC covers every byte
   * of the file but its own four: the header's first 28 bytes, then everything after it.
   */
  serialize(): Uint8Array {
    const parts = this.snapshotParts();
    const total = parts.reduce((s, p) => s + p.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** Writes the snapshot to a file in parts (never one buffer of the whole). */
  writeFile(path: string): void {
    writeParts(path, this.snapshotParts());
  }

  private snapshotParts(): Uint8Array[] {
    this.merge();
    const tables = [...this.tables.values()].sort((a, b) => a.hexLength - b.hexLength);
    const other: [string, number][] = [];
    for (const [value, ids] of this.other) for (const id of ids) other.push([value, id]);
    const otherBytes = other.length > 0 ? new TextEncoder().encode(JSON.stringify(other)) : new Uint8Array(0);
    const head = new Uint8Array(HEADER_BYTES + tables.length * TABLE_DESCRIPTOR_BYTES);
    const view = new DataView(head.buffer);
    for (let i = 0; i < 8; i++) head[i] = MAGIC.charCodeAt(i);
    view.setUint32(8, VERSION, true);
    view.setUint32(12, tables.length, true);
    view.setUint32(16, otherBytes.length, true);
    view.setUint32(20, this.live, true);
    for (const [k, t] of tables.entries()) {
      view.setUint32(HEADER_BYTES + k * 12, t.hexLength, true);
      view.setUint32(HEADER_BYTES + k * 12 + 4, t.words, true);
      view.setUint32(HEADER_BYTES + k * 12 + 8, t.count, true);
    }
    const parts: Uint8Array[] = [head];
    for (const t of tables)
      parts.push(bytesOf(t.keys.subarray(0, t.count * t.words)), bytesOf(t.ids.subarray(0, t.count)));
    parts.push(otherBytes);
    let crc = crc32(head.subarray(0, 28));
    crc = crc32(head.subarray(HEADER_BYTES), crc);
    for (const p of parts.slice(1)) crc = crc32(p, crc);
    view.setUint32(28, crc, true);
    return parts;
  }

  /** Loads serialize() bytes; throws WARD_ERR_INDEX_SNAPSHOT when they are damaged. */
  static load(bytes: Uint8Array): CompactExactIndex {
    return readSnapshot(bytes.length, (target, position) => {
      if (position + target.length > bytes.length) return 0;
      target.set(bytes.subarray(position, position + target.length));
      return target.length;
    });
  }

  /** Loads a snapshot file straight into the tables' arrays, in 16 MiB reads. */
  static loadFile(path: string): CompactExactIndex {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      return readSnapshot(
        size,
        (target, position) => {
          for (let done = 0; done < target.length; ) {
            const n = readSync(fd, target, done, Math.min(1 << 24, target.length - done), position + done);
            if (n <= 0) return done;
            done += n;
          }
          return target.length;
        },
        path,
      );
    } finally {
      closeSync(fd);
    }
  }
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= DELETED)
    throw new WardError('WARD_ERR_INTERNAL', 'Entry ids are u32 below 2^32 - 1', { actual: id });
}

function push(map: Map<string, number[]>, value: string, id: number): void {
  const list = map.get(value);
  if (list) list.push(id);
  else map.set(value, [id]);
}

function bytesOf(a: Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes byte parts to a file in order. @internal */
export function writeParts(path: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) {
      for (let done = 0; done < p.length; ) done += writeSync(fd, p, done, Math.min(1 << 24, p.length - done));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a snapshot of `size` bytes through `read(target, position)` (returns bytes read), checking
 * every length against the size before allocating, then the CRC, then the tables' order.
 */
function readSnapshot(
  size: number,
  read: (target: Uint8Array, position: number) => number,
  path?: string,
): CompactExactIndex {
  const bad = (why: string): WardError =>
    new WardError('WARD_ERR_INDEX_SNAPSHOT', `Exact index snapshot ${why}`, path ? { path } : undefined);
  const readAll = (target: Uint8Array, position: number, crc: number): number => {
    if (read(target, position) !== target.length) throw bad('is truncated');
    return crc32(target, crc);
  };
  if (size < HEADER_BYTES) throw bad('is truncated');
  const header = new Uint8Array(HEADER_BYTES);
  if (read(header, 0) !== HEADER_BYTES) throw bad('is truncated');
  for (let i = 0; i < 8; i++) if (header[i] !== MAGIC.charCodeAt(i)) throw bad('has the wrong magic');
  const view = new DataView(header.buffer);
  if (view.getUint32(8, true) !== VERSION) throw bad('is from another version');
  const tableCount = view.getUint32(12, true);
  const otherBytes = view.getUint32(16, true);
  const live = view.getUint32(20, true);
  if (view.getUint32(24, true) !== 0) throw bad('has a non-zero reserved field');
  if (HEADER_BYTES + tableCount * TABLE_DESCRIPTOR_BYTES > size) throw bad('has the wrong length');
  let crc = crc32(header.subarray(0, 28));
  const descriptors = new Uint8Array(tableCount * TABLE_DESCRIPTOR_BYTES);
  crc = readAll(descriptors, HEADER_BYTES, crc);
  const d = new DataView(descriptors.buffer);
  let expected = HEADER_BYTES + descriptors.length + otherBytes;
  const shapes: { hexLength: number; words: number; count: number }[] = [];
  let previous = 0;
  for (let k = 0; k < tableCount; k++) {
    const hexLength = d.getUint32(k * 12, true);
    const words = d.getUint32(k * 12 + 4, true);
    const count = d.getUint32(k * 12 + 8, true);
    if (hexLength <= previous || words !== wordsFor(hexLength) || count === 0) throw bad('has a bad table descriptor');
    previous = hexLength;
    shapes.push({ hexLength, words, count });
    expected += count * (words + 1) * 4;
  }
  if (expected !== size) throw bad('has the wrong length');
  const index = new CompactExactIndex();
  let position = HEADER_BYTES + descriptors.length;
  const tables: Table[] = [];
  let total = 0;
  for (const { hexLength, words, count } of shapes) {
    const keys = new Uint32Array(count * words);
    const ids = new Uint32Array(count);
    crc = readAll(bytesOf(keys), position, crc);
    position += keys.byteLength;
    crc = readAll(bytesOf(ids), position, crc);
    position += ids.byteLength;
    tables.push({ hexLength, words, keys, ids, count });
    total += count;
  }
  const otherRaw = new Uint8Array(otherBytes);
  crc = readAll(otherRaw, position, crc);
  if (crc !== view.getUint32(28, true)) throw bad('fails its checksum');
  // The checksum held: what follows only fails for a snapshot written wrongly or forged.
  let other: unknown = [];
  if (otherBytes > 0) {
    try {
      other = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(otherRaw));
    } catch {
      throw bad('has an unreadable non-hex part');
    }
  }
  if (!Array.isArray(other)) throw bad('has an unreadable non-hex part');
  const allIds = new Uint32Array(total + other.length);
  let at = 0;
  for (const t of tables) {
    const lastWordHex = Math.min(t.hexLength, STORED_HEX) - (t.words - 1) * 8;
    const padMask = lastWordHex >= 8 ? 0 : 0xffffffff >>> (lastWordHex * 4);
    for (let i = 0; i < t.count; i++) {
      if (i > 0 && compareAt(t, i - 1, t.keys.subarray(i * t.words, i * t.words + t.words)) > 0)
        throw bad('has a table out of order');
      if (((t.keys[i * t.words + t.words - 1] as number) & padMask) !== 0) throw bad('has a key beyond its length');
      const id = t.ids[i] as number;
      if (id === DELETED) throw bad('holds a removed entry');
      allIds[at++] = id;
    }
    index.adoptTable(t);
  }
  for (const e of other) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || HEX.test(e[0]))
      throw bad('has a bad non-hex entry');
    const id = e[1];
    if (!Number.isInteger(id) || id < 0 || id >= DELETED) throw bad('has a bad entry id');
    index.adoptOther(e[0], id);
    allIds[at++] = id;
  }
  if (at !== live) throw bad('has the wrong entry count');
  allIds.sort();
  for (let i = 1; i < at; i++) if (allIds[i] === allIds[i - 1]) throw bad('repeats an entry id');
  index.setLive(live);
  return index;
}

/** The compact exact index as a signal index kind (snapshots: serialize/load/loadFile). */
export const compactExactIndexKind: SignalIndexKind = {
  name: 'exact-sorted',
  build: (entries) => CompactExactIndex.build(entries),
  load: (bytes) => CompactExactIndex.load(bytes),
  loadFile: (path) => CompactExactIndex.loadFile(path),
};

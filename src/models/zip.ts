/**
 * @module models/zip
 * A lenient zip directory reader for PyTorch checkpoints (`torch.save` writes a zip since
 * PyTorch 1.6: `<name>/data.pkl`, `<name>/data/<storage>`, `<name>/version`...) and NumPy's
 * `.npz`. Loaders read such files leniently: PyTorch ignores CRCs, flag bits (a file claiming
 * encryption is read as plain) and names that disagree between the local header and the central
 * directory, so a scanner must too, or it misses what the loader runs. This reader:
 *
 * - finds the end of central directory (and its ZIP64 form), and reads the entries it lists,
 *   taking sizes from the central directory (torch's local headers carry zeros and a data
 *   descriptor) and data from after each local header;
 * - without a usable central directory, walks the local headers from the start instead;
 * - ignores CRCs, encryption and data-descriptor flags; reports a local name that differs;
 * - reads stored entries in place (a range of the file, never copied) and inflates deflated
 *   ones only within a byte budget and a compression ratio (zip-bomb guards).
 */
import zlib from 'node:zlib';
import { WardError } from '../errors.js';
import { type ByteSource, bytesSource, Cursor, decodeUtf8, sliceSource } from './source.js';

export interface ZipLimits {
  /** Entries listed (beyond: WARD_ERR_MODEL_LIMIT). */
  maxEntries: number;
  /** Bytes one deflated entry may inflate to. */
  maxInflatedBytes: number;
  /** Uncompressed/compressed ratio of a deflated entry. */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 100_000,
  maxInflatedBytes: 256 * 1024 * 1024,
  maxRatio: 1000,
});

export interface ZipEntry {
  /** Name in the central directory (what loaders look up). */
  name: string;
  /** Name in the local header, when it differs (a trick to fool scanners that read one of them). */
  localName?: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header. */
  headerOffset: number;
  /** Offset of the entry's data (after the local header). */
  dataOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** How the entries were found. */
  via: 'central-directory' | 'local-headers';
  /** Oddities a strict reader would refuse (each once). */
  issues: string[];
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const DESCRIPTOR = 0x08074b50;

function u32At(b: Uint8Array, i: number): number {
  return (
    ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) + (b[i + 3] as number) * 2 ** 24
  );
}

/** Whether the first bytes are a zip local header (or an empty zip). */
export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && (u32At(head, 0) === LOCAL || u32At(head, 0) === EOCD);
}

/** Names of the local headers found in the first bytes (what a 4 KiB sniff can see). */
export function localNamesInHead(head: Uint8Array): string[] {
  const names: string[] = [];
  let pos = 0;
  while (pos + 30 <= head.length && u32At(head, pos) === LOCAL) {
    const flags = head[pos + 6]! | (head[pos + 7]! << 8);
    const csize = u32At(head, pos + 18);
    const n = head[pos + 26]! | (head[pos + 27]! << 8);
    const e = head[pos + 28]! | (head[pos + 29]! << 8);
    if (pos + 30 + n > head.length) break;
    names.push(decodeUtf8(head.subarray(pos + 30, pos + 30 + n)));
    if (flags & 0x08 && csize === 0) break; // size unknown until the descriptor
    pos += 30 + n + e + csize;
  }
  return names;
}

/** Lists a zip's entries, leniently. Throws WARD_ERR_MODEL_CORRUPT when nothing zip-like is found. */
export function readZipDirectory(src: ByteSource, limits: Partial<ZipLimits> = {}): ZipDirectory {
  const lim = { ...DEFAULT_ZIP_LIMITS, ...limits };
  const issues = new Set<string>();
  const central = fromCentralDirectory(src, lim, issues);
  if (central) return { entries: central, via: 'central-directory', issues: [...issues] };
  issues.add('no usable central directory: entries found by walking local headers');
  const local = fromLocalHeaders(src, lim, issues);
  if (local.length === 0) throw new WardError('WARD_ERR_MODEL_CORRUPT', 'Not a readable zip: no entries found');
  return { entries: local, via: 'local-headers', issues: [...issues] };
}

function tooMany(limit: number): WardError {
  return new WardError('WARD_ERR_MODEL_LIMIT', `Zip has more than ${limit} entries`, { limit });
}

function fromCentralDirectory(src: ByteSource, lim: ZipLimits, issues: Set<string>): ZipEntry[] | undefined {
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tailStart = src.size - tailLen;
  const tail = src.read(tailStart, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && u32At(tail, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const eocdPos = tailStart + eocd;
  let count = tail[eocd + 10]! | (tail[eocd + 11]! << 8);
  let cdSize = u32At(tail, eocd + 12);
  let cdOffset = u32At(tail, eocd + 16);
  try {
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: a locator 20 bytes before the EOCD points at the ZIP64 EOCD record.
      const loc = new Cursor(src, eocdPos - 20, 'zip64 locator');
      if (eocdPos >= 20 && loc.u32() === ZIP64_LOCATOR) {
        loc.u32();
        const rec = new Cursor(src, loc.u64(), 'zip64 end of central directory');
        if (rec.u32() === ZIP64_EOCD) {
          rec.skip(8 + 2 + 2 + 4 + 4 + 8);
          count = rec.u64();
          cdSize = rec.u64();
          cdOffset = rec.u64();
        }
      }
    }
  } catch {
    return undefined;
  }
  if (count > lim.maxEntries) throw tooMany(lim.maxEntries);
  // Data prepended to the zip shifts every offset by the same amount.
  const shift = eocdPos - (cdOffset + cdSize);
  let base = cdOffset;
  if (
    !(base + 4 <= src.size && readU32(src, base) === CENTRAL) &&
    shift > 0 &&
    readU32(src, base + shift) === CENTRAL
  ) {
    base += shift;
    issues.add('offsets shifted by data before the zip');
  } else if (count > 0 && !(base + 4 <= src.size && readU32(src, base) === CENTRAL)) {
    return undefined;
  }
  const delta = base - cdOffset;
  const entries: ZipEntry[] = [];
  const cur = new Cursor(src, base, 'zip central directory');
  try {
    for (let i = 0; i < count; i++) {
      if (cur.u32() !== CENTRAL)
        return entries.length > 0 ? withIssue(entries, issues, 'central directory ends early') : undefined;
      cur.skip(4);
      const flags = cur.u16();
      const method = cur.u16();
      cur.skip(8);
      let compressedSize = cur.u32();
      let size = cur.u32();
      const nameLen = cur.u16();
      const extraLen = cur.u16();
      const commentLen = cur.u16();
      cur.skip(8);
      let headerOffset = cur.u32();
      const name = decodeUtf8(cur.bytes(nameLen));
      const extraEnd = cur.pos + extraLen;
      // ZIP64 extended information: the 8-byte values of the fields that are 0xffffffff.
      while (cur.pos + 4 <= extraEnd) {
        const id = cur.u16();
        const len = cur.u16();
        const end = cur.pos + len;
        if (id === 0x0001) {
          if (size === 0xffffffff && cur.pos + 8 <= end) size = cur.u64();
          if (compressedSize === 0xffffffff && cur.pos + 8 <= end) compressedSize = cur.u64();
          if (headerOffset === 0xffffffff && cur.pos + 8 <= end) headerOffset = cur.u64();
        }
        cur.pos = end;
      }
      cur.pos = extraEnd;
      cur.skip(commentLen);
      if (flags & 0x01) issues.add('an entry claims encryption (read as plain, as loaders do)');
      const entry = localEntry(src, headerOffset + delta);
      if (!entry) {
        issues.add(`entry ${JSON.stringify(name.slice(0, 80))} has no local header at its offset`);
        continue;
      }
      entries.push({
        name,
        ...(entry.name !== name ? { localName: entry.name } : {}),
        method,
        flags,
        compressedSize: compressedSize === 0 && method === 0 ? size : compressedSize,
        size,
        headerOffset: headerOffset + delta,
        dataOffset: entry.dataOffset,
      });
      if (entry.name !== name) issues.add('local and central names differ');
    }
  } catch (e) {
    if (WardError.is(e) && e.code === 'WARD_ERR_MODEL_LIMIT') throw e;
    if (entries.length === 0) return undefined;
    issues.add('central directory is truncated');
  }
  return entries;
}

function withIssue(entries: ZipEntry[], issues: Set<string>, message: string): ZipEntry[] {
  issues.add(message);
  return entries;
}

function readU32(src: ByteSource, offset: number): number {
  const b = src.read(offset, 4);
  return b.length === 4 ? u32At(b, 0) : -1;
}

function localEntry(src: ByteSource, offset: number): { name: string; dataOffset: number } | undefined {
  if (offset < 0 || offset + 30 > src.size) return undefined;
  const h = src.read(offset, 30);
  if (u32At(h, 0) !== LOCAL) return undefined;
  const n = h[26]! | (h[27]! << 8);
  const e = h[28]! | (h[29]! << 8);
  const name = decodeUtf8(src.read(offset + 30, n));
  return { name, dataOffset: offset + 30 + n + e };
}

/** Walks local headers from offset 0 (for zips whose central directory is missing or broken). */
function fromLocalHeaders(src: ByteSource, lim: ZipLimits, issues: Set<string>): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let pos = 0;
  while (pos + 30 <= src.size) {
    const headerOffset = pos;
    const h = src.read(pos, 30);
    if (u32At(h, 0) !== LOCAL) break;
    if (entries.length >= lim.maxEntries) throw tooMany(lim.maxEntries);
    const flags = h[6]! | (h[7]! << 8);
    const method = h[8]! | (h[9]! << 8);
    let compressedSize = u32At(h, 18);
    const size = u32At(h, 22);
    const n = h[26]! | (h[27]! << 8);
    const e = h[28]! | (h[29]! << 8);
    const name = decodeUtf8(src.read(pos + 30, n));
    const dataOffset = pos + 30 + n + e;
    if (flags & 0x08 && compressedSize === 0) {
      // Size follows the data: the data runs to the next signature.
      const next = nextSignature(src, dataOffset);
      compressedSize = next - dataOffset;
      if (readU32(src, next) === DESCRIPTOR) pos = next + 16;
      else pos = next;
    } else {
      pos = dataOffset + compressedSize;
    }
    if (dataOffset + compressedSize > src.size) {
      issues.add('an entry runs past the end of the file');
      compressedSize = Math.max(0, src.size - dataOffset);
    }
    entries.push({ name, method, flags, compressedSize, size, headerOffset, dataOffset });
  }
  return entries;
}

/** Offset of the next `PK\x03\x04`, `PK\x01\x02` or `PK\x07\x08` at or after `from` (or the end). */
function nextSignature(src: ByteSource, from: number): number {
  const step = 1 << 20;
  for (let at = from; at < src.size; at += step - 3) {
    const b = src.read(at, step);
    for (let i = 0; i + 4 <= b.length; i++) {
      if (b[i] !== 0x50 || b[i + 1] !== 0x4b) continue;
      const sig = u32At(b, i);
      if (sig === LOCAL || sig === CENTRAL || sig === DESCRIPTOR) return at + i;
    }
    if (b.length < step) break;
  }
  return src.size;
}

/**
 * An entry's bytes as a source: stored entries are a range of the file (never copied); deflated
 * ones are inflated within `maxInflatedBytes` and `maxRatio`. Other methods are refused.
 */
export function zipEntrySource(src: ByteSource, entry: ZipEntry, limits: Partial<ZipLimits> = {}): ByteSource {
  const lim = { ...DEFAULT_ZIP_LIMITS, ...limits };
  const end = Math.min(src.size, entry.dataOffset + entry.compressedSize);
  if (entry.method === 0) return sliceSource(src, entry.dataOffset, end);
  if (entry.method !== 8) {
    throw new WardError('WARD_ERR_MODEL_UNSUPPORTED', `Zip entry compression method ${entry.method} is not supported`);
  }
  const compressed = end - entry.dataOffset;
  if (entry.size > lim.maxInflatedBytes) {
    throw new WardError(
      'WARD_ERR_MODEL_LIMIT',
      `Zip entry inflates to ${entry.size} bytes, over ${lim.maxInflatedBytes}`,
      {
        limit: lim.maxInflatedBytes,
        actual: entry.size,
      },
    );
  }
  if (compressed > lim.maxInflatedBytes) {
    throw new WardError('WARD_ERR_MODEL_LIMIT', `Zip entry of ${compressed} compressed bytes is over the budget`, {
      limit: lim.maxInflatedBytes,
    });
  }
  const cap = Math.min(lim.maxInflatedBytes, Math.max(1024, compressed * lim.maxRatio));
  try {
    const out = zlib.inflateRawSync(src.read(entry.dataOffset, compressed), { maxOutputLength: cap });
    return bytesSource(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new WardError(
        'WARD_ERR_MODEL_LIMIT',
        `Zip entry inflates past ${cap} bytes (ratio over ${lim.maxRatio} or budget): zip bomb guard`,
        { limit: cap },
      );
    }
    throw new WardError('WARD_ERR_MODEL_CORRUPT', 'Zip entry does not inflate (corrupt deflate data)', {}, e);
  }
}

/**
 * @module media/archive
 * Reads zip, tar and gzip (tar.gz or a single gzipped file) as streams, and 7z and RAR through
 * 7-Zip in WebAssembly (media/sevenzip), one level deep, never unpacking to disk: each
 * regular-file entry's bytes are read into memory, one entry (7z/RAR: one batch) at a time,
 * and yielded. Nested archives are the caller's business (it calls readArchive on an entry's bytes).
 *
 * Hostile input is expected: sizes and ratios are checked before inflating (zip bombs, overlapping
 * entries), counted again while inflating (declared sizes can lie), and damage or a broken limit
 * becomes an error entry, never a throw. Entry names are labels only; unsafe ones are flagged.
 */

import { constants as bufferConstants } from 'node:buffer';
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { invalidParameter, WardError } from '../errors.js';
import { type ListedEntry, type Listing, openSevenZip, type SevenZipArchive } from './sevenzip.js';

export type ArchiveFormat = 'zip' | 'tar' | 'gzip' | '7z' | 'rar';

/** Zip-bomb guards, per archive (one level: a nested archive gets its own budget). */
export interface ArchiveLimits {
  /** Records per archive (directories and links count too); beyond: one error entry, then stop. */
  maxEntries: number;
  /** Uncompressed bytes of one entry; a bigger entry becomes an error entry and is skipped. */
  maxEntryBytes: number;
  /** Uncompressed bytes of all entries (for gzip: of the whole decompressed stream); beyond: stop. */
  maxTotalBytes: number;
  /** Uncompressed/compressed, per zip entry (declared sizes) and for a gzip stream as a whole. */
  maxRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxEntries: 100_000,
  maxEntryBytes: 1024 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
  maxRatio: 1000,
});

/**
 * An entry's bytes, or why it was not read. `index` is the record's 0-based position in the
 * archive (skipped directories and links count), so it identifies an entry when names repeat.
 * `unsafeName` marks names an unpacker would write outside its directory (absolute, `..`,
 * backslash, drive letter, NUL); nothing here ever writes them.
 */
export type ArchiveEntry =
  | { name: string; index: number; size: number; bytes: Uint8Array; unsafeName?: true }
  | {
      name: string;
      index: number;
      error: { code: string; message: string };
      unsafeName?: true;
      /** The entry (or, for the `(archive)` label, the whole archive) is encrypted: never guessed at. */
      encrypted?: true;
    };

const CORRUPT = 'WARD_ERR_ARCHIVE_CORRUPT';
const LIMIT = 'WARD_ERR_LIMIT_ARCHIVE';
/** Label of an error that belongs to the archive rather than to one entry. */
const ARCHIVE_LABEL = '(archive)';
const GZIP_PAYLOAD_LABEL = '(gzip payload)';
const CHUNK_BYTES = 64 * 1024;
/** Early output of a gzip stream can be spiky; its ratio is judged only after this much. */
const RATIO_FLOOR_BYTES = 1024 * 1024;
/** Enough of a gzip file to find FNAME behind an FEXTRA field of any size. */
const GZIP_HEAD_BYTES = 10 + 2 + 0xffff + 4096;
const ZIP_LOCAL_SIGNATURE = 0x04034b50;
const SEVEN_ZIP_SIGNATURE = '7z\xbc\xaf\x27\x1c';

function ascii(head: Uint8Array, offset: number, text: string): boolean {
  if (head.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** POSIX and GNU tar headers both carry "ustar" at offset 257 (v7 tar has no magic to sniff). */
function isUstar(head: Uint8Array): boolean {
  return ascii(head, 257, 'ustar');
}

/** From the first bytes (at least 262 for tar). */
export function sniffArchive(head: Uint8Array): ArchiveFormat | undefined {
  if (ascii(head, 0, 'PK\x03\x04') || ascii(head, 0, 'PK\x05\x06')) return 'zip';
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (isUstar(head)) return 'tar';
  if (ascii(head, 0, SEVEN_ZIP_SIGNATURE)) return '7z';
  if (ascii(head, 0, 'Rar!\x1a\x07\x00') || ascii(head, 0, 'Rar!\x1a\x07\x01\x00')) return 'rar';
  return undefined;
}

/**
 * Yields the regular-file entries of one archive in stored order (directories, links and devices
 * skipped), each fully read into memory; the next entry is read only when the consumer asks.
 * Damage ends the archive with one WARD_ERR_ARCHIVE_CORRUPT entry after the entries read before
 * it; a broken limit gives a WARD_ERR_LIMIT_ARCHIVE entry. Throws only for bad arguments
 * (WARD_ERR_INPUT_TYPE, at the call) and an unopenable file (WARD_ERR_INPUT_NOT_FOUND, on the
 * first `next()`). The file is closed when the generator ends, including on an early `return()`.
 */
export function readArchive(
  source: { path: string } | { bytes: Uint8Array },
  format: ArchiveFormat,
  limits?: Partial<ArchiveLimits>,
): AsyncGenerator<ArchiveEntry> {
  const s = source as { path?: unknown; bytes?: unknown } | null;
  if (typeof s !== 'object' || s === null || !(typeof s.path === 'string' || s.bytes instanceof Uint8Array)) {
    throw invalidParameter('source', 'an object with a `path` string or `bytes` Uint8Array', source);
  }
  if (format !== 'zip' && format !== 'tar' && format !== 'gzip' && format !== '7z' && format !== 'rar') {
    throw invalidParameter('format', "'zip', 'tar', 'gzip', '7z' or 'rar'", format);
  }
  return readOne(source, format, resolveArchiveLimits(limits));
}

function resolveArchiveLimits(partial: Partial<ArchiveLimits> | undefined): ArchiveLimits {
  const limits: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS };
  // Only our keys: callers pass a wider object (scan limits add maxDepth).
  for (const key of Object.keys(DEFAULT_ARCHIVE_LIMITS) as (keyof ArchiveLimits)[]) {
    const v = partial?.[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw invalidParameter(`limits.${key}`, 'a positive integer', v);
    }
    limits[key] = v;
  }
  return limits;
}

/** Position and byte budget shared by the readers of one archive. */
interface ReadState {
  limits: ArchiveLimits;
  /** maxEntryBytes, capped at what one Buffer can hold. */
  entryCap: number;
  /** Index of the next record. */
  index: number;
  /** Uncompressed bytes of the entries read (or about to be). */
  total: number;
}

async function* readOne(
  source: { path: string } | { bytes: Uint8Array },
  format: ArchiveFormat,
  limits: ArchiveLimits,
): AsyncGenerator<ArchiveEntry> {
  const src = 'path' in source ? await openFile(source.path) : memorySource(source.bytes);
  const state: ReadState = {
    limits,
    entryCap: Math.min(limits.maxEntryBytes, bufferConstants.MAX_LENGTH),
    index: 0,
    total: 0,
  };
  try {
    if (format === 'zip') yield* readZip(src, state);
    else if (format === 'tar') yield* readTar(src.stream(0), state);
    else if (format === 'gzip') yield* readGzip(src, state);
    else yield* readSevenZip(source, src, format, state);
  } catch (cause) {
    // An I/O failure mid-read (EIO, a file shrinking under us): reported like damage, not thrown.
    yield { name: ARCHIVE_LABEL, index: state.index, error: failure(cause) };
  } finally {
    await src.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Sources: a file (one handle, closed deterministically) or bytes.

interface Source {
  readonly size: number;
  /** Set for in-memory sources (yauzl reads them with fromBuffer). */
  readonly bytes?: Buffer;
  /** Up to `length` bytes at `position`; fewer at the end of the data. */
  read(position: number, length: number): Promise<Buffer>;
  /** The bytes in [start, end) as a stream of chunks of at most 64 KiB. */
  stream(start: number, end?: number): Readable;
  close(): Promise<void>;
}

function noop(): void {}

async function openFile(path: string): Promise<Source> {
  let fh: FileHandle;
  let size: number;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw notFound(path, cause);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
    size = st.size;
  } catch (cause) {
    await fh.close().catch(noop);
    throw notFound(path, cause);
  }
  const streams = new Set<Readable>();
  return {
    size,
    read: (position, length) => readFully(fh, position, length),
    stream(start, end = Number.POSITIVE_INFINITY) {
      const s = new FileRange(fh, start, end);
      s.on('error', noop); // consumers listen while they read; a late error must not crash
      streams.add(s);
      s.once('close', () => streams.delete(s));
      return s;
    },
    async close() {
      for (const s of streams) s.destroy();
      await fh.close().catch(noop);
    },
  };
}

function notFound(path: string, cause: unknown): WardError {
  const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot open archive (${errno})`, { path }, cause);
}

async function readFully(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buffer.subarray(0, got);
}

/** A byte range of an open file. Unlike fs.createReadStream({ fd: handle }), adds no listener to the handle. */
class FileRange extends Readable {
  readonly #fh: FileHandle;
  #position: number;
  readonly #end: number;

  constructor(fh: FileHandle, start: number, end: number) {
    super({ highWaterMark: CHUNK_BYTES });
    this.#fh = fh;
    this.#position = start;
    this.#end = end;
  }

  override _read(): void {
    const length = Math.min(CHUNK_BYTES, this.#end - this.#position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    this.#fh.read(buffer, 0, length, this.#position).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        this.#position += bytesRead;
        this.push(buffer.subarray(0, bytesRead));
      },
      (err: Error) => this.destroy(err),
    );
  }
}

function memorySource(bytes: Uint8Array): Source {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buf.length,
    bytes: buf,
    read: async (position, length) => buf.subarray(Math.min(position, buf.length), position + length),
    stream: (start, end = buf.length) => Readable.from(slices(buf.subarray(start, end)), { objectMode: false }),
    close: async () => {},
  };
}

function* slices(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += CHUNK_BYTES) yield buf.subarray(i, i + CHUNK_BYTES);
}

// ---------------------------------------------------------------------------------------------
// Entries and errors.

type Label = { name: string; index: number; unsafeName?: true };

function labelled(name: string, index: number): Label {
  return isUnsafeName(name) ? { name, index, unsafeName: true } : { name, index };
}

/** A name that would land outside the target directory (or be cut short) if an unpacker wrote it. */
function isUnsafeName(name: string): boolean {
  return (
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[A-Za-z]:/.test(name) ||
    name.split('/').includes('..')
  );
}

/** Thrown inside the readers, turned into an error entry by `failure`. */
function corrupt(message: string): WardError {
  return new WardError(CORRUPT, message);
}

function overLimit(message: string): WardError {
  return new WardError(LIMIT, message);
}

/** The entry-level form of any failure: our own codes kept, anything else is damage. */
function failure(cause: unknown): { code: string; message: string } {
  if (WardError.is(cause) && (cause.code === CORRUPT || cause.code === LIMIT)) {
    return { code: cause.code, message: cause.message };
  }
  const text = cause instanceof Error ? cause.message : String(cause);
  const line = (text.split('\n')[0] ?? '').slice(0, 200);
  return { code: CORRUPT, message: `Archive is truncated or malformed: ${line}` };
}

function corruptEntry(label: Label, message: string): ArchiveEntry {
  return { ...label, error: { code: CORRUPT, message } };
}

function limitEntry(label: Label, message: string): ArchiveEntry {
  return { ...label, error: { code: LIMIT, message } };
}

function archiveError(state: ReadState, cause: unknown): ArchiveEntry {
  return { name: ARCHIVE_LABEL, index: state.index, error: failure(cause) };
}

function tooManyEntries(label: Label, state: ReadState): ArchiveEntry {
  return limitEntry(label, `Archive has more than ${state.limits.maxEntries} entries: the rest not read`);
}

function tooBig(label: Label, state: ReadState, size: number): ArchiveEntry {
  return limitEntry(label, `Entry of ${size} bytes exceeds the limit of ${state.entryCap} bytes: not read`);
}

/** Reserves `size` bytes of the archive budget; false when it would go over. */
function reserve(state: ReadState, size: number): boolean {
  if (state.total + size > state.limits.maxTotalBytes) return false;
  state.total += size;
  return true;
}

function overTotal(label: Label, state: ReadState): ArchiveEntry {
  const { maxTotalBytes } = state.limits;
  return limitEntry(label, `Archive entries exceed the total limit of ${maxTotalBytes} bytes: the rest not read`);
}

/**
 * Reads a stream to its end into one buffer. More than `max` bytes is an error (thrown as soon as
 * it happens, so at most `max` bytes are ever held); so is fewer than `exact` when given.
 */
async function collect(stream: AsyncIterable<Buffer>, max: number, exact?: number): Promise<Buffer> {
  // With the size declared, one buffer of that size is filled in place: holding the chunks and
  // concatenating them would need twice the entry's size at the peak.
  if (exact !== undefined) {
    const out = Buffer.allocUnsafeSlow(exact);
    let n = 0;
    for await (const chunk of stream) {
      if (n + chunk.length > exact) throw corrupt(`Entry is larger than its declared size of ${exact} bytes`);
      n += chunk.copy(out, n);
    }
    if (n !== exact) throw corrupt(`Entry has ${n} bytes, not its declared ${exact}`);
    return out;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > max) throw corrupt(`Entry is larger than the ${max} bytes its header declares`);
    chunks.push(chunk);
  }
  return ownedConcat(chunks, n);
}

/**
 * The chunks joined into a buffer with an ArrayBuffer of its own (Buffer.concat may use the shared
 * pool), so the caller can transfer it to a worker thread without a copy.
 */
function ownedConcat(chunks: readonly Buffer[], n: number): Buffer {
  const out = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(out, at);
  return out;
}

/** Reads and discards the rest of a stream. */
async function drain(stream: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of stream) void chunk;
}

// ---------------------------------------------------------------------------------------------
// Zip: yauzl reads the central directory; a zip without one (truncated) is salvaged from its
// local headers.

/** What a zip record says about itself, from the central directory or a local header. */
interface ZipRecord {
  label: Label;
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
}

type ZipPlan = 'skip' | 'read' | { entry: ArchiveEntry; stop: boolean };

/** Decides from declared sizes alone, before a byte is inflated. */
function planZipRecord(r: ZipRecord, state: ReadState): ZipPlan {
  const { label, flags, method, compressedSize, uncompressedSize } = r;
  // A directory carries no bytes; one that declares some is read like a file, so nothing hides there.
  if (/[/\\]$/.test(label.name) && uncompressedSize === 0) return 'skip';
  if (flags & 0x1)
    return { entry: { ...corruptEntry(label, 'Encrypted entry, not read'), encrypted: true }, stop: false };
  if (method !== 0 && method !== 8) {
    return { entry: corruptEntry(label, `Unsupported compression method ${method}, entry not read`), stop: false };
  }
  if (uncompressedSize > state.entryCap) return { entry: tooBig(label, state, uncompressedSize), stop: false };
  const { maxRatio } = state.limits;
  if (compressedSize > 0 && uncompressedSize / compressedSize > maxRatio) {
    const ratio = Math.floor((uncompressedSize / compressedSize) * 10) / 10; // 1000.4 must not read as 1000
    const message = `Entry expands ${ratio}:1, more than the limit of ${maxRatio}:1 (zip bomb guard): not read`;
    return { entry: limitEntry(label, message), stop: false };
  }
  // Declared sizes add up across records, so entries sharing one local entry are caught here.
  if (!reserve(state, uncompressedSize)) return { entry: overTotal(label, state), stop: true };
  return 'read';
}

/** Inflates (or copies) one entry's raw data; the result must have exactly its declared size. */
async function readZipData(raw: Readable, r: ZipRecord): Promise<Buffer> {
  const { compressedSize, uncompressedSize } = r;
  const deflated = r.method === 8;
  raw.on('error', noop);
  // Some writers store an empty file as "deflated" with no data at all, which zlib calls truncated.
  if (deflated && compressedSize === 0 && uncompressedSize === 0) {
    raw.destroy();
    return Buffer.alloc(0);
  }
  const out = deflated ? pipeline(raw, zlib.createInflateRaw(), noop) : raw;
  try {
    return await collect(out, uncompressedSize, uncompressedSize);
  } finally {
    out.destroy();
    raw.destroy();
  }
}

async function* readZip(src: Source, state: ReadState): AsyncGenerator<ArchiveEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(src);
  } catch (cause) {
    yield* salvageZip(src, state, cause);
    return;
  }
  zip.on('error', noop); // errors are taken per request below; none may go unhandled
  try {
    while (true) {
      let entry: yauzl.Entry | undefined;
      try {
        entry = await nextZipEntry(zip);
      } catch (cause) {
        yield archiveError(state, cause);
        return;
      }
      if (entry === undefined) return;
      const index = state.index++;
      // strictFileNames keeps backslashes as stored, so they can be flagged.
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const label = labelled(name, index);
      if (index >= state.limits.maxEntries) {
        yield tooManyEntries(label, state);
        return;
      }
      const record: ZipRecord = {
        label,
        flags: entry.generalPurposeBitFlag,
        method: entry.compressionMethod,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
      };
      const plan = planZipRecord(record, state);
      if (plan === 'skip') continue;
      if (plan !== 'read') {
        yield plan.entry;
        if (plan.stop) return;
        continue;
      }
      let bytes: Buffer;
      try {
        const raw = await openRawStream(zip, entry);
        bytes = await readZipData(raw, record);
      } catch (cause) {
        // The central directory is intact, so damage to one entry's data does not end the archive.
        yield { ...label, error: failure(cause) };
        continue;
      }
      yield { ...label, size: bytes.length, bytes };
    }
  } finally {
    zip.close();
  }
}

function openZip(src: Source): Promise<yauzl.ZipFile> {
  // decodeStrings: false is yauzl's only switch for its file-name validation, which would abort
  // the whole archive on one "../" name; names are decoded and flagged here instead.
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: true,
    decodeStrings: false,
    validateEntrySizes: true,
    strictFileNames: true,
  };
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zip: yauzl.ZipFile): void => (err ? reject(err) : resolve(zip));
    if (src.bytes !== undefined) yauzl.fromBuffer(src.bytes, options, done);
    else yauzl.fromRandomAccessReader(new SourceReader(src), src.size, options, done);
  });
}

/** yauzl reads files through our handle, so closing is ours and happens when the generator ends. */
class SourceReader extends yauzl.RandomAccessReader {
  readonly #src: Source;

  constructor(src: Source) {
    super();
    this.#src = src;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.#src.stream(start, end);
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    // yauzl's callback also takes the byte count, which @types/yauzl leaves out.
    const cb = callback as (err: Error | null, bytesRead?: number) => void;
    this.#src.read(position, length).then(
      (got) => {
        got.copy(buffer, offset);
        cb(null, got.length);
      },
      (err: Error) => cb(err),
    );
  }
}

/** One `entry`, `end` (undefined) or `error` in answer to one readEntry(). */
function nextZipEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    // After an error yauzl ignores readEntry() and would leave us waiting forever.
    if (zip.emittedError || !zip.isOpen) {
      reject(corrupt('Zip reader stopped'));
      return;
    }
    const settle = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => {
      settle();
      resolve(entry);
    };
    const onEnd = (): void => {
      settle();
      resolve(undefined);
    };
    const onError = (err: Error): void => {
      settle();
      reject(err);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** The entry's stored bytes; inflating is done here, where its output can be stopped at a limit. */
function openRawStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, { decodeFileData: false }, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/**
 * A zip whose central directory is missing (truncated download) or unreadable: walks the local
 * headers from the start, as far as their sizes allow, then reports the damage.
 */
async function* salvageZip(src: Source, state: ReadState, cause: unknown): AsyncGenerator<ArchiveEntry> {
  const why = failure(cause).message;
  let position = 0;
  while (true) {
    const header = await src.read(position, 30);
    if (header.length < 4 || header.readUInt32LE(0) !== ZIP_LOCAL_SIGNATURE) break;
    const index = state.index++;
    if (header.length < 30) {
      yield corruptEntry({ name: ARCHIVE_LABEL, index }, `${why} (a local header is truncated)`);
      return;
    }
    const flags = header.readUInt16LE(6);
    const method = header.readUInt16LE(8);
    const compressedSize = header.readUInt32LE(18);
    const uncompressedSize = header.readUInt32LE(22);
    const nameLength = header.readUInt16LE(26);
    const dataStart = position + 30 + nameLength + header.readUInt16LE(28);
    const rawName = await src.read(position + 30, nameLength);
    const label = labelled(yauzl.getFileNameLowLevel(flags, rawName, [], true), index);
    if (index >= state.limits.maxEntries) {
      yield tooManyEntries(label, state);
      return;
    }
    if (rawName.length < nameLength || dataStart + compressedSize > src.size) {
      yield corruptEntry(label, `${why} (this entry is truncated)`);
      return;
    }
    // Sizes only in a trailing data descriptor (or in zip64 fields): the next header cannot be found.
    if (flags & 0x8 || compressedSize === 0xffffffff || uncompressedSize === 0xffffffff) {
      yield corruptEntry(label, `${why} (this entry's sizes are not in its local header)`);
      return;
    }
    const next = dataStart + compressedSize;
    const record: ZipRecord = { label, flags, method, compressedSize, uncompressedSize };
    const plan =
      method === 0 && compressedSize !== uncompressedSize && !(flags & 0x1)
        ? { entry: corruptEntry(label, 'Stored entry with different compressed and uncompressed sizes'), stop: false }
        : planZipRecord(record, state);
    position = next;
    if (plan === 'skip') continue;
    if (plan !== 'read') {
      yield plan.entry;
      if (plan.stop) return;
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readZipData(src.stream(dataStart, next), record);
    } catch (err) {
      yield { ...label, error: failure(err) };
      continue;
    }
    yield { ...label, size: bytes.length, bytes };
  }
  const message = `${why} (entries before the damage were read from their local headers)`;
  yield corruptEntry({ name: ARCHIVE_LABEL, index: state.index }, message);
}

// ---------------------------------------------------------------------------------------------
// Tar (plain, or the inside of a gzip): tar-stream, fed by a pipe so it reads only as fast as we
// take entries.

type TarEntry = AsyncIterable<Buffer> & { header: tar.Header };

async function* readTar(input: Readable, state: ReadState): AsyncGenerator<ArchiveEntry> {
  // v7 headers (no magic) are read too: anything GNU tar would extract should be scanned.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  extract.on('error', noop); // surfaces through the iterator below
  const onInputError = (err: Error): void => {
    extract.destroy(err);
  };
  input.on('error', onInputError);
  input.pipe(extract);
  const entries = extract[Symbol.asyncIterator]() as AsyncIterator<TarEntry>;
  try {
    while (true) {
      let next: IteratorResult<TarEntry>;
      try {
        next = await entries.next();
      } catch (cause) {
        yield archiveError(state, cause);
        return;
      }
      if (next.done) return;
      const entry = next.value;
      const { name } = entry.header;
      // tar-stream gives null for a type flag it does not know, which its typings leave out.
      const type = entry.header.type as tar.Header['type'] | null;
      const size = entry.header.size ?? 0;
      const index = state.index++;
      const label = labelled(name, index);
      if (index >= state.limits.maxEntries) {
        yield tooManyEntries(label, state);
        return;
      }
      // tar-stream never ends a directory's stream: it must not be read.
      if (type === 'directory') continue;
      // An unknown type flag is a regular file to tar(1), so it is read rather than hidden.
      const regular = type === 'file' || type === 'contiguous-file' || (type === null && size > 0);
      try {
        if (!regular) {
          await drain(entry);
          continue;
        }
        if (size > state.entryCap) {
          yield tooBig(label, state, size);
          await drain(entry);
          continue;
        }
      } catch (cause) {
        yield archiveError(state, cause);
        return;
      }
      if (!reserve(state, size)) {
        yield overTotal(label, state);
        return;
      }
      let bytes: Buffer;
      try {
        bytes = await collect(entry, size, size);
      } catch (cause) {
        yield { ...label, error: failure(cause) };
        return;
      }
      yield { ...label, size: bytes.length, bytes };
    }
  } finally {
    input.unpipe(extract);
    input.off('error', onInputError);
    input.on('error', noop);
    extract.destroy();
    input.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Gzip: a tar inside is read as tar; anything else is one payload entry.

async function* readGzip(src: Source, state: ReadState): AsyncGenerator<ArchiveEntry> {
  const name = gzipName(await src.read(0, GZIP_HEAD_BYTES)) ?? GZIP_PAYLOAD_LABEL;
  const compressed = src.stream(0);
  const gunzip = zlib.createGunzip();
  const guard = new GunzipGuard(gunzip, state.limits);
  guard.on('error', noop); // surfaces through reads of guard below
  pipeline(compressed, gunzip, guard, noop);
  try {
    let head: { bytes: Buffer; ended: boolean };
    try {
      head = await peek(guard, 512);
    } catch (cause) {
      yield { ...labelled(name, state.index), error: failure(cause) };
      return;
    }
    if (isUstar(head.bytes)) {
      if (head.ended) {
        yield* readTar(Readable.from([head.bytes], { objectMode: false }), state);
      } else {
        guard.unshift(head.bytes);
        yield* readTar(guard, state);
      }
      return;
    }
    const label = labelled(name, state.index++);
    if (head.bytes.length > state.entryCap) {
      yield tooBig(label, state, head.bytes.length);
      return;
    }
    let bytes: Buffer;
    try {
      if (head.ended) {
        bytes = ownedConcat([head.bytes], head.bytes.length);
      } else {
        guard.unshift(head.bytes);
        bytes = await collect(limitedTo(guard, state.entryCap), Number.POSITIVE_INFINITY);
      }
    } catch (cause) {
      yield { ...label, error: failure(cause) };
      return;
    }
    yield { ...label, size: bytes.length, bytes };
  } finally {
    guard.destroy();
    gunzip.destroy();
    compressed.destroy();
  }
}

/** Passes a stream through, throwing an entry-size limit error as soon as it exceeds `max` bytes. */
async function* limitedTo(stream: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > max) {
      throw overLimit(`Gzip payload exceeds the entry limit of ${max} bytes: not read`);
    }
    yield chunk;
  }
}

/**
 * Fails the decompressed stream as soon as it outgrows the archive budget or expands more than
 * maxRatio times the compressed bytes consumed so far, so a bomb is cut off at the limit.
 */
class GunzipGuard extends Transform {
  readonly #gunzip: zlib.Gunzip;
  readonly #limits: ArchiveLimits;
  #out = 0;

  constructor(gunzip: zlib.Gunzip, limits: ArchiveLimits) {
    super();
    this.#gunzip = gunzip;
    this.#limits = limits;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#out += chunk.length;
    const { maxTotalBytes, maxRatio } = this.#limits;
    if (this.#out > maxTotalBytes) {
      const message = `Gzip stream decompresses to more than the total limit of ${maxTotalBytes} bytes: the rest not read`;
      callback(overLimit(message));
      return;
    }
    if (this.#out >= RATIO_FLOOR_BYTES && this.#out > maxRatio * this.#gunzip.bytesWritten) {
      const ratio = Math.floor((this.#out / Math.max(1, this.#gunzip.bytesWritten)) * 10) / 10;
      const message = `Gzip stream expands ${ratio}:1, more than the limit of ${maxRatio}:1 (compression bomb guard): the rest not read`;
      callback(overLimit(message));
      return;
    }
    callback(null, chunk);
  }
}

/** The first `n` bytes (or all, if fewer), leaving the stream readable for an unshift. */
async function peek(stream: Readable, n: number): Promise<{ bytes: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    got += chunk.length;
    if (got >= n) return { bytes: Buffer.concat(chunks, got), ended: false };
  }
  return { bytes: Buffer.concat(chunks, got), ended: true };
}

/** The FNAME field of a gzip header (RFC 1952), if there is one. */
function gzipName(head: Buffer): string | undefined {
  if (head.length < 10 || head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
  const flags = head[3]!;
  let p = 10;
  if (flags & 0x04) {
    if (p + 2 > head.length) return undefined;
    p += 2 + head.readUInt16LE(p);
  }
  if (!(flags & 0x08) || p >= head.length) return undefined;
  const end = head.indexOf(0, p);
  if (end <= p) return undefined;
  return head.toString('latin1', p, end);
}

// ---------------------------------------------------------------------------------------------
// 7z and RAR: 7-Zip (media/sevenzip) lists the archive; every limit is checked on the declared
// sizes before a byte is decompressed; the entries to read are then extracted in batches of
// consecutive entries, each batch one pass of 7-Zip whose output is cut at the declared sizes.

/** Declared bytes extracted per 7-Zip call (a single larger entry is extracted alone). */
const SEVEN_BATCH_BYTES = 64 * 1024 * 1024;
const SEVEN_BATCH_NAMES = 1000;
/** Largest decoder dictionary or model an entry may declare: 7-Zip allocates it whole, up front. */
export const MAX_DECODER_BYTES = 1024 * 1024 * 1024;
/** The 7z AES-256 + SHA-256 coder id, as it appears in an encoded (encrypted) header. */
const SEVEN_AES_CODER = Buffer.from([0x06, 0xf1, 0x07, 0x01]);

interface SevenPlan {
  listed: ListedEntry;
  label: Label;
  /** Set when the entry is to be read; otherwise `entry` says why not. */
  read: boolean;
  entry?: ArchiveEntry;
}

async function* readSevenZip(
  source: { path: string } | { bytes: Uint8Array },
  src: Source,
  format: '7z' | 'rar',
  state: ReadState,
): AsyncGenerator<ArchiveEntry> {
  if (await headersEncrypted(src, format)) {
    const message = 'Archive is encrypted, its entry names too: not read (no password is ever tried)';
    yield { name: ARCHIVE_LABEL, index: state.index, error: { code: CORRUPT, message }, encrypted: true };
    return;
  }
  let archive: SevenZipArchive;
  try {
    archive = await openSevenZip(source, format);
  } catch (cause) {
    if (WardError.is(cause) && cause.code === 'WARD_ERR_DEPENDENCY_MISSING') {
      yield { name: ARCHIVE_LABEL, index: state.index, error: { code: cause.code, message: cause.message } };
    } else yield archiveError(state, cause);
    return;
  }
  try {
    const { plans, stopped } = planSevenZip(archive.listing, state);
    const reads = plans.filter((p) => p.read);
    let i = 0;
    while (i < plans.length) {
      if (!plans[i]!.read) {
        yield plans[i]!.entry!;
        i++;
        continue;
      }
      let j = i;
      let bytes = 0;
      let count = 0;
      while (j < plans.length) {
        const q = plans[j]!;
        if (q.read) {
          const size = q.listed.size!;
          if (count > 0 && (bytes + size > SEVEN_BATCH_BYTES || count >= SEVEN_BATCH_NAMES)) break;
          bytes += size;
          count++;
        }
        j++;
      }
      const range = plans.slice(i, j);
      const results = await extractSevenBatch(
        archive,
        range.filter((p) => p.read),
        reads,
      );
      for (const p of range) {
        if (!p.read) yield p.entry!;
        else {
          const r = results.get(p)!;
          results.delete(p); // held only until the consumer has it
          yield r;
        }
      }
      i = j;
    }
    if (archive.listing.error !== undefined && !stopped) {
      const message = `Archive is truncated or malformed: ${archive.listing.error}`;
      yield corruptEntry({ name: ARCHIVE_LABEL, index: state.index }, message);
    }
  } finally {
    archive.close();
  }
}

/** Encrypted headers (7z -mhe, RAR -hp): even the listing would need the password. */
async function headersEncrypted(src: Source, format: '7z' | 'rar'): Promise<boolean> {
  const head = await src.read(0, 32);
  if (format === 'rar') {
    if (head.length >= 12 && head[6] === 0x00) {
      // RAR 4: the main header (CRC16, type 0x73, flags) follows the 7-byte mark; 0x0080 = headers encrypted.
      return head[9] === 0x73 && (head.readUInt16LE(10) & 0x0080) !== 0;
    }
    // RAR 5: the first block after the 8-byte mark is the archive encryption header (type 4).
    let p = 12; // after the block's CRC32
    const size = readVint(head, p);
    if (size === undefined) return false;
    p = size.next;
    return readVint(head, p)?.value === 4;
  }
  if (head.length < 32) return false;
  const offset = head.readBigUInt64LE(12);
  const size = head.readBigUInt64LE(20);
  if (size === 0n || offset > BigInt(src.size)) return false;
  // An encoded header (0x17) is packed by coders listed in its first bytes; AES among them = encrypted.
  const header = await src.read(32 + Number(offset), Number(size < 256n ? size : 256n));
  return header[0] === 0x17 && header.includes(SEVEN_AES_CODER);
}

function readVint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let p = at; p < buf.length && p < at + 10; p++) {
    const b = buf[p]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (!(b & 0x80)) return { value, next: p + 1 };
  }
  return undefined;
}

/** Every record's fate, from the listing alone (nothing is decompressed here). */
function planSevenZip(listing: Listing, state: ReadState): { plans: SevenPlan[]; stopped: boolean } {
  const { entries } = listing;
  // Solid blocks (7z) are decompressed as one stream: their ratio is the block's.
  const blocks = new Map<number, { size: number; packed: number }>();
  for (const e of entries) {
    if (e.block === undefined || e.directory) continue;
    const b = blocks.get(e.block) ?? { size: 0, packed: 0 };
    b.size += e.size ?? 0;
    b.packed += e.packedSize ?? 0;
    blocks.set(e.block, b);
  }
  // 7-Zip extracts by name: a name that is also a folder, a link or an entry not read would pull
  // those along, so such names are not read.
  const folders = new Set<string>();
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let k = 1; k < parts.length; k++) folders.add(parts.slice(0, k).join('/'));
  }
  const plans: SevenPlan[] = [];
  const notRead = new Set<string>();
  let stopped = false;
  for (const listed of entries) {
    const index = state.index++;
    const label = labelled(listed.name, index);
    const refuse = (entry: ArchiveEntry): void => {
      plans.push({ listed, label, read: false, entry });
      notRead.add(listed.name);
    };
    if (index >= state.limits.maxEntries) {
      refuse(tooManyEntries(label, state));
      for (const rest of entries.slice(listed.index + 1)) notRead.add(rest.name);
      stopped = true;
      break;
    }
    if (listed.directory || listed.link) {
      notRead.add(listed.name);
      continue;
    }
    const size = listed.size;
    if (listed.encrypted) {
      refuse({ ...corruptEntry(label, 'Encrypted entry, not read (no password is ever tried)'), encrypted: true });
      continue;
    }
    if (size === undefined) {
      refuse(corruptEntry(label, 'Entry does not declare its size: not read'));
      continue;
    }
    if (size > state.entryCap) {
      refuse(tooBig(label, state, size));
      continue;
    }
    const block = listed.block === undefined ? undefined : blocks.get(listed.block);
    const unpacked = block ? block.size : size;
    const packed = block ? block.packed : (listed.packedSize ?? 0);
    const { maxRatio } = state.limits;
    if (packed > 0 && unpacked / packed > maxRatio) {
      const ratio = Math.floor((unpacked / packed) * 10) / 10;
      const what = block ? 'Its solid block expands' : 'Entry expands';
      refuse(limitEntry(label, `${what} ${ratio}:1, more than the limit of ${maxRatio}:1 (bomb guard): not read`));
      continue;
    }
    const memory = decoderBytes(listed.method);
    if (memory > MAX_DECODER_BYTES) {
      const message = `Entry's decoder needs ${memory} bytes (method ${listed.method}), more than the limit of ${MAX_DECODER_BYTES}: not read`;
      refuse(limitEntry(label, message));
      continue;
    }
    if (/[\n\r]/.test(listed.name)) {
      refuse(corruptEntry(label, 'Entry name holds a line break: not read'));
      continue;
    }
    if (!reserve(state, size)) {
      refuse(overTotal(label, state));
      for (const rest of entries.slice(listed.index + 1)) notRead.add(rest.name);
      stopped = true;
      break;
    }
    plans.push({ listed, label, read: true });
  }
  for (const p of plans) {
    if (!p.read) continue;
    if (notRead.has(p.listed.name) || folders.has(p.listed.name)) {
      p.read = false;
      p.entry = corruptEntry(p.label, 'Entry shares its name with a folder, link or entry that is not read: not read');
    }
  }
  return { plans, stopped };
}

/**
 * The largest dictionary or model memory named in a 7-Zip method string (`LZMA2:24m BCJ`,
 * `LZMA:30`, `PPMD:o6:mem24`, `v6:m3:32M`): a bare number is a power of two, a suffix is a unit.
 */
const UNIT_BYTES: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function decoderBytes(method: string): number {
  let max = 0;
  for (const coder of method.split(/\s+/)) {
    for (const prop of coder.split(':').slice(1)) {
      const m = /^(?:mem)?(\d{1,12})([bkmgt]?)$/i.exec(prop);
      if (!m) continue;
      const n = Number(m[1]);
      const unit = m[2]!.toLowerCase();
      const bytes = unit === '' ? (n > 62 ? Number.POSITIVE_INFINITY : 2 ** n) : n * (UNIT_BYTES[unit] ?? 1);
      max = Math.max(max, bytes);
    }
  }
  return max;
}

/**
 * Extracts one batch: 7-Zip writes every entry of the batch's names, in archive order, and the
 * output is cut at their declared sizes (bytes of same-named entries outside the batch are
 * dropped). Entries received whole before the first one 7-Zip names in an error (or that fell
 * short) are kept; the rest of the batch is tried again without them.
 */
async function extractSevenBatch(
  archive: SevenZipArchive,
  batch: readonly SevenPlan[],
  reads: readonly SevenPlan[],
): Promise<Map<SevenPlan, ArchiveEntry>> {
  const results = new Map<SevenPlan, ArchiveEntry>();
  let pending = [...batch];
  while (pending.length > 0) {
    const names = new Set(pending.map((p) => p.listed.name));
    const expected = reads.filter((p) => names.has(p.listed.name));
    const buffers = new Map<SevenPlan, Buffer>();
    for (const p of pending) buffers.set(p, Buffer.allocUnsafeSlow(p.listed.size!));
    let k = 0;
    let at = 0;
    let extra = 0;
    const skipEmpty = (): void => {
      while (k < expected.length && expected[k]!.listed.size === 0) k++;
    };
    const result = await archive.extract([...names], (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        skipEmpty();
        if (k >= expected.length) {
          extra += chunk.length - off;
          return;
        }
        const p = expected[k]!;
        const n = Math.min(p.listed.size! - at, chunk.length - off);
        buffers.get(p)?.set(chunk.subarray(off, off + n), at);
        at += n;
        off += n;
        if (at === p.listed.size) {
          k++;
          at = 0;
        }
      }
    });
    skipEmpty();
    const failed = new Map<string, string>();
    for (const e of result.errors) if (!failed.has(e.name)) failed.set(e.name, e.kind);
    const clean = result.status === 0 && failed.size === 0 && k === expected.length && extra === 0;
    // Position (in `expected`) of the first entry that cannot be trusted.
    let bad = clean ? expected.length : Math.min(k, expected.length);
    if (!clean && extra === 0) {
      const named = expected.findIndex((p) => failed.has(p.listed.name));
      if (named >= 0) bad = Math.min(bad, named);
    }
    if (extra > 0) bad = 0; // more output than declared: nothing can be placed
    const trusted = new Set(expected.slice(0, bad));
    const next: SevenPlan[] = [];
    let blamed = false;
    for (const p of pending) {
      if (trusted.has(p)) {
        const bytes = buffers.get(p)!;
        results.set(p, { ...p.label, size: bytes.length, bytes });
      } else if (!blamed && (expected[bad] === p || pending.length === 1)) {
        // The first untrusted entry of the batch is the damaged one.
        blamed = true;
        const kind = failed.get(p.listed.name);
        const why =
          kind !== undefined
            ? `7-Zip: ${kind}`
            : extra > 0
              ? 'the archive holds more data for this name than it declares'
              : (result.message ?? 'fewer bytes than declared');
        results.set(p, corruptEntry(p.label, `Entry could not be extracted (${why})`));
      } else next.push(p);
    }
    if (!blamed && next.length === pending.length) {
      // Nothing was placed or blamed (the first untrusted entry lies outside this batch): give up.
      for (const p of next)
        results.set(p, corruptEntry(p.label, `Entry could not be extracted (${result.message ?? 'damaged data'})`));
      break;
    }
    pending = next;
  }
  return results;
}

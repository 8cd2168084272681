/**
 * @module models/source
 * Random access to a model's bytes, from memory or from a file, with synchronous reads: the
 * parsers (safetensors header, GGUF, zip directory, pickle opcodes) read small pieces at known
 * offsets and never hold the whole file. A `Cursor` reads forward through a window of at most
 * `WINDOW_BYTES`, so memory stays bounded whatever the file's size.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WardError } from '../errors.js';

/** Bytes readable at offsets (a file, an in-memory item, a range of either). */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer only at the end). The result may share memory. */
  read(offset: number, length: number): Uint8Array;
}

/** An in-memory source (archive entries, tests). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + Math.max(0, length))),
  };
}

/** A file opened for reading; `close()` it when done. */
export interface FileSource extends ByteSource {
  close(): void;
}

export function fileSource(path: string): FileSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
  }
  const size = fstatSync(fd).size;
  let open = true;
  return {
    size,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) {
        const r = readSync(fd, buf, done, n - done, offset + done);
        if (r === 0) break; // the file shrank under us
        done += r;
      }
      return buf.subarray(0, done);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** A range of another source, addressed from 0. */
export function sliceSource(source: ByteSource, start: number, end: number): ByteSource {
  const s = Math.max(0, Math.min(start, source.size));
  const e = Math.max(s, Math.min(end, source.size));
  return {
    size: e - s,
    read: (offset, length) => source.read(s + offset, Math.max(0, Math.min(length, e - s - offset))),
  };
}

/** Bytes kept in memory by a Cursor at once (more only for one `bytes()` call that asks for more). */
export const WINDOW_BYTES = 1 << 20;

/** Why a read failed: ran past the end of what is there. */
export function truncated(what: string, offset: number): WardError {
  return new WardError('WARD_ERR_MODEL_CORRUPT', `Truncated ${what} at offset ${offset}`, { offset });
}

/**
 * Reads forward (with skips) through a source: little-endian integers, byte runs, text lines.
 * Every read past the end throws WARD_ERR_MODEL_CORRUPT naming `what`.
 */
export class Cursor {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  pos: number;

  constructor(
    readonly source: ByteSource,
    start = 0,
    readonly what = 'file',
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** Makes [pos, pos+n) available in the window; returns its offset in the window. */
  private ensure(n: number): number {
    if (n > this.remaining) throw truncated(this.what, this.pos);
    const rel = this.pos - this.windowStart;
    if (rel >= 0 && rel + n <= this.window.length) return rel;
    const want = Math.min(Math.max(n, WINDOW_BYTES), this.remaining);
    this.window = this.source.read(this.pos, want);
    this.windowStart = this.pos;
    if (this.window.length < n) throw truncated(this.what, this.pos);
    return 0;
  }

  u8(): number {
    const i = this.ensure(1);
    this.pos += 1;
    return this.window[i] as number;
  }

  /** The next byte without moving, or -1 at the end. */
  peek(): number {
    if (this.remaining <= 0) return -1;
    return this.window[this.ensure(1)] as number;
  }

  u16(): number {
    const i = this.ensure(2);
    this.pos += 2;
    return (this.window[i] as number) | ((this.window[i + 1] as number) << 8);
  }

  u32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    const w = this.window;
    return (
      ((w[i] as number) | ((w[i + 1] as number) << 8) | ((w[i + 2] as number) << 16)) + (w[i + 3] as number) * 2 ** 24
    );
  }

  i32(): number {
    const v = this.u32();
    return v >= 2 ** 31 ? v - 2 ** 32 : v;
  }

  /** A 64-bit unsigned integer as a number; above 2^53 it is reported as Infinity (never exact). */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi >= 2 ** 21 ? Number.POSITIVE_INFINITY : hi * 2 ** 32 + lo;
  }

  i64(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi >= 2 ** 31) {
      const v = (hi - 2 ** 32) * 2 ** 32 + lo;
      return v < Number.MIN_SAFE_INTEGER ? Number.NEGATIVE_INFINITY : v;
    }
    return hi >= 2 ** 21 ? Number.POSITIVE_INFINITY : hi * 2 ** 32 + lo;
  }

  f32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    return new DataView(this.window.buffer, this.window.byteOffset + i, 4).getFloat32(0, true);
  }

  f64(): number {
    const i = this.ensure(8);
    this.pos += 8;
    return new DataView(this.window.buffer, this.window.byteOffset + i, 8).getFloat64(0, true);
  }

  /** `n` bytes (a view: copy before keeping it beyond the next read). */
  bytes(n: number): Uint8Array {
    if (!Number.isFinite(n) || n < 0) throw truncated(this.what, this.pos);
    const i = this.ensure(n);
    this.pos += n;
    return this.window.subarray(i, i + n);
  }

  skip(n: number): void {
    if (!Number.isFinite(n) || n < 0 || n > this.remaining) throw truncated(this.what, this.pos);
    this.pos += n;
  }

  /** Bytes up to (not including) the next `\n`, which is consumed; undefined when none is within `max` bytes. */
  line(max: number): Uint8Array | undefined {
    const start = this.pos;
    const n = Math.min(this.remaining, max + 1);
    const i = this.ensure(n);
    const w = this.window.subarray(i, i + n);
    const j = w.indexOf(0x0a);
    if (j < 0) return undefined;
    this.pos = start + j + 1;
    return w.subarray(0, j);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text; invalid sequences become U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** UTF-8 text, or undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Latin-1 text (one char per byte). */
export function decodeLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

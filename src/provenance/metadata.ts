/**
 * @module provenance/metadata
 * The metadata of an image file without decoding a pixel: PNG text chunks, JPEG APPn segments,
 * WebP RIFF chunks and the EXIF/TIFF IFDs inside them, XMP packets and C2PA JUMBF. Every parser is
 * bounded: a length that points past the end, a malformed chunk or an over-limit text becomes an
 * issue and parsing stops or goes on with what is sound; nothing throws.
 */
import { inflateSync } from 'node:zlib';
import type { ErrorCode } from '../errors.js';
import { readJpeg } from './jpeg.js';
import { readPng } from './png.js';
import { readTiff } from './tiff.js';
import type { MetadataIssue } from './types.js';
import { readWebp } from './webp.js';

export interface MetadataLimits {
  /** Largest text value kept, in bytes after decompression (longer ones are truncated and flagged). */
  maxTextBytes: number;
  /** Total text bytes kept per file. */
  maxTotalBytes: number;
  /** Chunks, segments or IFD entries walked per file. */
  maxEntries: number;
}

export const DEFAULT_METADATA_LIMITS: Readonly<MetadataLimits> = Object.freeze({
  maxTextBytes: 8 * 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  maxEntries: 100_000,
});

/** One textual field: a PNG text chunk, an EXIF tag, a JPEG comment. */
export interface TextEntry {
  key: string;
  value: string;
  /** Where it came from: `png:tEXt`, `png:iTXt`, `png:zTXt`, `exif`, `jpeg:COM`. */
  where: string;
  offset: number;
  truncated?: boolean;
}

export interface ContainerMetadata {
  format: 'png' | 'jpeg' | 'webp' | 'tiff' | 'jumbf';
  texts: TextEntry[];
  xmp: { value: string; offset: number }[];
  /** The embedded C2PA manifest store (JUMBF), reassembled, and the file ranges it occupies. */
  c2pa?: { jumbf: Uint8Array; offset: number };
  /** Whether pixels have an alpha channel (from the header), when known. */
  alpha?: boolean;
  width?: number;
  height?: number;
  issues: MetadataIssue[];
}

/** Shared state of one file's walk: limits, issues, and the text budget. */
export class Collector {
  readonly meta: ContainerMetadata;
  private budget: number;
  private entries = 0;

  constructor(
    format: ContainerMetadata['format'],
    readonly limits: MetadataLimits,
  ) {
    this.meta = { format, texts: [], xmp: [], issues: [] };
    this.budget = limits.maxTotalBytes;
  }

  issue(code: ErrorCode, message: string, offset?: number): void {
    if (this.meta.issues.length >= 100) return;
    this.meta.issues.push(offset === undefined ? { code, message } : { code, message, offset });
  }

  /** Counts one walked entry; false (with an issue) once the limit is reached. */
  step(offset: number): boolean {
    if (++this.entries <= this.limits.maxEntries) return true;
    if (this.entries === this.limits.maxEntries + 1)
      this.issue(
        'WARD_ERR_LIMIT_METADATA',
        `More than ${this.limits.maxEntries} metadata entries: the rest are not read`,
        offset,
      );
    return false;
  }

  /**
   * Bytes of a text value within the limits: the first `maxTextBytes` (flagged as truncated), or
   * undefined (flagged) when the file's text budget is spent.
   */
  take(bytes: Uint8Array, what: string, offset: number): { bytes: Uint8Array; truncated: boolean } | undefined {
    if (this.budget <= 0) {
      this.issue('WARD_ERR_LIMIT_METADATA', `${what}: the file's metadata text budget is spent; not read`, offset);
      return undefined;
    }
    const max = Math.min(this.limits.maxTextBytes, this.budget);
    if (bytes.length > max) {
      this.issue('WARD_ERR_LIMIT_METADATA', `${what} of ${bytes.length} bytes truncated to ${max}`, offset);
      this.budget -= max;
      return { bytes: bytes.subarray(0, max), truncated: true };
    }
    this.budget -= bytes.length;
    return { bytes, truncated: false };
  }

  /** Inflates zlib data within the text limit; undefined (with an issue) when corrupt or too large. */
  inflate(data: Uint8Array, what: string, offset: number): Uint8Array | undefined {
    const max = Math.min(this.limits.maxTextBytes, this.budget);
    try {
      const out = inflateSync(data, { maxOutputLength: Math.max(1, max) });
      this.budget -= out.length;
      return out;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || cause instanceof RangeError)
        this.issue('WARD_ERR_LIMIT_METADATA', `${what}: decompresses to more than ${max} bytes; not read`, offset);
      else this.issue('WARD_ERR_METADATA_CORRUPT', `${what}: compressed data is corrupt`, offset);
      return undefined;
    }
  }

  text(entry: TextEntry): void {
    this.meta.texts.push(entry);
  }
}

/** Reads the metadata of a PNG, JPEG or WebP file (by magic bytes); undefined for other formats. */
export function readContainer(
  bytes: Uint8Array,
  limits: MetadataLimits = DEFAULT_METADATA_LIMITS,
): ContainerMetadata | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const c = new Collector('png', limits);
    readPng(bytes, c);
    return c.meta;
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const c = new Collector('jpeg', limits);
    readJpeg(bytes, c);
    return c.meta;
  }
  if (
    bytes.length >= 12 &&
    bytes[0] === 0x52 &&
    bytes[1] === 0x49 &&
    bytes[2] === 0x46 &&
    bytes[3] === 0x46 &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    const c = new Collector('webp', limits);
    readWebp(bytes, c);
    return c.meta;
  }
  if (
    bytes.length >= 8 &&
    ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a))
  ) {
    const c = new Collector('tiff', limits);
    readTiff(bytes, c, 0);
    return c.meta;
  }
  // A bare JUMBF manifest store (a `.c2pa` sidecar): LBox, then `jumb`.
  if (bytes.length >= 8 && bytes[4] === 0x6a && bytes[5] === 0x75 && bytes[6] === 0x6d && bytes[7] === 0x62) {
    const c = new Collector('jumbf', limits);
    c.meta.c2pa = { jumbf: bytes, offset: 0 };
    return c.meta;
  }
  return undefined;
}

export function ascii(b: Uint8Array, at: number, text: string): boolean {
  if (at < 0 || at + text.length > b.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

export function u32be(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) >>> 0) +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}

export function u32le(b: Uint8Array, at: number): number {
  return (
    (((b[at + 3] as number) << 24) >>> 0) +
    (((b[at + 2] as number) << 16) | ((b[at + 1] as number) << 8) | (b[at] as number))
  );
}

export function u16be(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

/** Index of the first zero byte in [from, to), or -1. */
export function nul(b: Uint8Array, from: number, to: number): number {
  const i = b.subarray(from, to).indexOf(0);
  return i < 0 ? -1 : from + i;
}

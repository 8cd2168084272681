/**
 * @module models/hashers
 * The incremental hashers behind a model's identity hashes, shared by the main thread and the
 * helper thread of models/hashes: each consumes the file's chunks with their positions, so a
 * hasher that covers only part of the file (AutoV3: the safetensors data section) takes its part.
 */
import { createHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { createBlake3, type IncrementalHash } from './blake3.js';

/** Whole-file digests (`sha256`, `blake3`, `crc32`, `md5`, `sha1`) and the data-section SHA-256 (`autov3`). */
export type HasherKind = 'sha256' | 'autov3' | 'blake3' | 'crc32' | 'md5' | 'sha1';

type Crc32 = (data: Uint8Array, value?: number) => number;

/**
 * The fastest CRC-32 available: `@node-rs/crc32` (SIMD carry-less multiplication, prebuilt per
 * platform), else zlib's (Node >= 20.15; table-driven), else a portable table.
 */
const crc32Native: Crc32 | undefined = (() => {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32?: (d: Uint8Array, v?: number | null) => number;
    };
    const f = mod.crc32;
    if (typeof f === 'function') return (data: Uint8Array, value = 0) => f(data, value);
  } catch {
    // no prebuilt binary for this platform
  }
  return (zlib as unknown as { crc32?: Crc32 }).crc32;
})();

let table: Uint32Array | undefined;
/** CRC-32 (IEEE, zlib's) without zlib.crc32 (Node < 20.15). */
export function crc32Portable(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32(data: Uint8Array, value = 0): number {
  return crc32Native ? crc32Native(data, value) : crc32Portable(data, value);
}

/**
 * CRC-32 as Civitai prints it: the 4 bytes in little-endian order, as hex (its scanner hex-encodes
 * .NET's `Crc32.GetCurrentHash()`, which is little-endian). "hello world" gives `85114a0d`; the
 * conventional big-endian rendering (zlib, `cksum -a crc32b`) is `0d4a1185`.
 */
export function civitaiCrc32Hex(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b.toString('hex');
}

/** Relative CPU cost per byte, for splitting hashers between two threads. */
export function hasherCost(kind: HasherKind, portableBlake3: boolean): number {
  switch (kind) {
    case 'sha256':
    case 'autov3':
      return 1;
    case 'blake3':
      return portableBlake3 ? 4 : 0.3;
    case 'crc32':
      return crc32Native ? 0.15 : 2;
    case 'md5':
      return 1.6;
    case 'sha1':
      return 0.9;
  }
}

export interface HasherSet {
  /** Feeds the bytes at `position` in the file. */
  update(chunk: Uint8Array, position: number): void;
  /** Lowercase hex per kind (autov3 is absent when no data offset was given). */
  digests(): Partial<Record<HasherKind, string>>;
}

/** Hashers for `kinds`; `dataOffset` is where AutoV3 starts. */
export function createHashers(kinds: readonly HasherKind[], dataOffset: number | undefined): HasherSet {
  const crypto: [HasherKind, Hash][] = [];
  let blake: IncrementalHash | undefined;
  let crc: number | undefined;
  let v3: Hash | undefined;
  for (const k of kinds) {
    if (k === 'blake3') blake = createBlake3();
    else if (k === 'crc32') crc = 0;
    else if (k === 'autov3') {
      if (dataOffset !== undefined) v3 = createHash('sha256');
    } else crypto.push([k, createHash(k)]);
  }
  return {
    update(chunk, position) {
      for (const [, h] of crypto) h.update(chunk);
      if (blake) blake.update(chunk);
      if (crc !== undefined) crc = crc32(chunk, crc);
      if (v3 && dataOffset !== undefined && position + chunk.length > dataOffset) {
        v3.update(position >= dataOffset ? chunk : chunk.subarray(dataOffset - position));
      }
    },
    digests() {
      const out: Partial<Record<HasherKind, string>> = {};
      for (const [k, h] of crypto) out[k] = h.digest('hex');
      if (blake) out.blake3 = blake.digestHex();
      if (crc !== undefined) out.crc32 = civitaiCrc32Hex(crc);
      if (v3) out.autov3 = v3.digest('hex');
      return out;
    },
  };
}

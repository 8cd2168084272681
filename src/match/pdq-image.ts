/**
 * @module match/pdq-image
 * PDQ index *images*: snapshots of the segments' built WebAssembly memory (hashes, ids, bucket
 * tables, positions, overflow records) plus the tail and the tombstones, so that loading a
 * 100-million-entry bank is reading files into memory, with no table to rebuild.
 *
 * Layout (little-endian): a 64-byte header (magic WARDPDQI, version 1, segment count, live
 * entries, tombstones, tail entries, the SHA-256 of the index kernel that laid the memory out,
 * CRC-32), one 48-byte descriptor per segment (entries, chunks, overflow bytes, image bytes, 32
 * chunk lengths as u8), each segment's image, the tombstoned ids (u32), the tail's hashes (32
 * bytes each) and ids (u32). The CRC covers every byte but its own four. An image made by another
 * kernel build (another digest) is rejected with WARD_ERR_INDEX_SNAPSHOT, as is any damage: the
 * caller rebuilds from the store or from an entries snapshot. A CRC is not a signature: images
 * are trusted as files Ward wrote into its own index directory (as entries snapshots are).
 * @internal
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { WardError } from '../errors.js';
import { crc32 } from './crc32.js';
import { kernelDigest, PdqSegment } from './pdq-segment.js';

export const IMAGE_MAGIC = 'WARDPDQI';
const IMAGE_VERSION = 1;
const HEADER = 64;
const DESCRIPTOR = 48;
const CRC_AT = 60;

export interface ImageParts {
  segments: PdqSegment[];
  tombstones: Uint32Array;
  tailHashes: Uint8Array;
  tailIds: Uint32Array;
  live: number;
}

/** Writes an index image to a file, segment by segment. */
export function writeImage(path: string, parts: ImageParts): void {
  const { segments, tombstones, tailHashes, tailIds, live } = parts;
  const head = new Uint8Array(HEADER + segments.length * DESCRIPTOR);
  const view = new DataView(head.buffer);
  for (let i = 0; i < 8; i++) head[i] = IMAGE_MAGIC.charCodeAt(i);
  view.setUint32(8, IMAGE_VERSION, true);
  view.setUint32(12, segments.length, true);
  view.setUint32(16, live, true);
  view.setUint32(20, tombstones.length, true);
  view.setUint32(24, tailIds.length, true);
  head.set(kernelDigest(), 28);
  for (const [k, s] of segments.entries()) {
    const at = HEADER + k * DESCRIPTOR;
    view.setUint32(at, s.count, true);
    view.setUint32(at + 4, s.chunks, true);
    view.setUint32(at + 8, s.overflowBytes(), true);
    view.setUint32(at + 12, s.image().length, true);
    head.set(s.lengths(), at + 16);
  }
  const tail = [new Uint8Array(tombstones.buffer, tombstones.byteOffset, tombstones.byteLength), tailHashes];
  tail.push(new Uint8Array(tailIds.buffer, tailIds.byteOffset, tailIds.byteLength));
  let crc = crc32(head.subarray(0, CRC_AT));
  crc = crc32(head.subarray(HEADER), crc);
  for (const s of segments) crc = crc32(s.image(), crc);
  for (const p of tail) crc = crc32(p, crc);
  view.setUint32(CRC_AT, crc, true);
  const fd = openSync(path, 'w');
  try {
    const write = (p: Uint8Array): void => {
      for (let done = 0; done < p.length; ) done += writeSync(fd, p, done, Math.min(1 << 24, p.length - done));
    };
    write(head);
    for (const s of segments) write(s.image());
    for (const p of tail) write(p);
  } finally {
    closeSync(fd);
  }
}

/** Whether a header starts with the image magic. */
export function isImage(header: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (header[i] !== IMAGE_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** Reads an image from an open file of `size` bytes; throws WARD_ERR_INDEX_SNAPSHOT when damaged. */
export function readImage(fd: number, size: number, path: string): ImageParts {
  const bad = (why: string): WardError => new WardError('WARD_ERR_INDEX_SNAPSHOT', `Index image ${why}`, { path });
  const readAt = (target: Uint8Array, position: number, crc: number): number => {
    for (let done = 0; done < target.length; ) {
      const n = readSync(fd, target, done, Math.min(1 << 24, target.length - done), position + done);
      if (n <= 0) throw bad('is truncated');
      crc = crc32(target.subarray(done, done + n), crc);
      done += n;
    }
    return crc;
  };
  if (size < HEADER) throw bad('is truncated');
  const header = new Uint8Array(HEADER);
  readAt(header, 0, 0);
  if (!isImage(header)) throw bad('has the wrong magic');
  const view = new DataView(header.buffer);
  if (view.getUint32(8, true) !== IMAGE_VERSION) throw bad('is from another version');
  const digest = kernelDigest();
  for (let i = 0; i < 32; i++) if (header[28 + i] !== digest[i]) throw bad('was laid out by another index kernel');
  const segmentCount = view.getUint32(12, true);
  const live = view.getUint32(16, true);
  const tombstoneCount = view.getUint32(20, true);
  const tailCount = view.getUint32(24, true);
  if (segmentCount > 4096 || HEADER + segmentCount * DESCRIPTOR > size) throw bad('has the wrong length');
  const descriptors = new Uint8Array(segmentCount * DESCRIPTOR);
  let crc = crc32(header.subarray(0, CRC_AT));
  crc = readAt(descriptors, HEADER, crc);
  const d = new DataView(descriptors.buffer);
  const shapes: { count: number; chunks: number; overflow: number; bytes: number; lengths: number[] }[] = [];
  let expected = HEADER + descriptors.length + tombstoneCount * 4 + tailCount * 36;
  let entries = 0;
  for (let k = 0; k < segmentCount; k++) {
    const at = k * DESCRIPTOR;
    const count = d.getUint32(at, true);
    const chunks = d.getUint32(at + 4, true);
    const overflow = d.getUint32(at + 8, true);
    const bytes = d.getUint32(at + 12, true);
    const lengths = Array.from(descriptors.subarray(at + 16, at + 16 + chunks));
    if (count === 0 || count > 1 << 24 || chunks > 32 || bytes < count * 36) throw bad('has a bad segment descriptor');
    if (chunks > 0 && (lengths.some((l) => l < 1 || l > 30) || lengths.reduce((a, b) => a + b, 0) !== 256))
      throw bad('has a bad segment descriptor');
    shapes.push({ count, chunks, overflow, bytes, lengths });
    expected += bytes;
    entries += count;
  }
  if (expected !== size) throw bad('has the wrong length');
  if (live !== entries - tombstoneCount + tailCount || tombstoneCount > entries || tailCount >= 1 << 16)
    throw bad('has the wrong entry count');
  const segments: PdqSegment[] = [];
  let position = HEADER + descriptors.length;
  for (const s of shapes) {
    const seg = PdqSegment.restore(s.count, s.chunks, s.lengths, s.overflow, s.bytes, (target) => {
      crc = readAt(target, position, crc);
    });
    if (!seg) throw bad('has a segment laid out differently');
    segments.push(seg);
    position += s.bytes;
  }
  const tombstones = new Uint32Array(tombstoneCount);
  crc = readAt(new Uint8Array(tombstones.buffer), position, crc);
  position += tombstones.byteLength;
  const tailHashes = new Uint8Array(tailCount * 32);
  crc = readAt(tailHashes, position, crc);
  position += tailHashes.length;
  const tailIds = new Uint32Array(tailCount);
  crc = readAt(new Uint8Array(tailIds.buffer), position, crc);
  if (crc !== view.getUint32(CRC_AT, true)) throw bad('fails its checksum');
  return { segments, tombstones, tailHashes, tailIds, live };
}

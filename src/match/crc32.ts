/**
 * @module match/crc32
 * CRC-32 (IEEE) for index snapshots: node:zlib's native one where this Node has it (20.15+),
 * else a table-driven one. Both take and return the finished (not inverted) value, so a
 * checksum can be carried across streamed reads: `crc32(b, crc32(a)) === crc32(a ++ b)`.
 * @internal
 */
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven CRC-32, continuing from `crc` (0 to start). */
export function crc32Js(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  // node:zlib returns 0 for an empty view of an empty ArrayBuffer, whatever the value carried.
  if (bytes.length === 0) return crc >>> 0;
  return native ? native(bytes, crc) >>> 0 : crc32Js(bytes, crc);
}

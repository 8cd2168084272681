/**
 * @module video/faststart
 * Videos held in memory (archive entries) reach ffmpeg through a pipe, which cannot seek. An MP4
 * or QuickTime file whose `moov` atom (the index) follows its media data (`mdat`) cannot be
 * demuxed from a pipe, so the bytes are handed over in another order: `moov` moved before the
 * first `mdat`, with its chunk offsets (`stco`, `co64`) shifted by its size, as `qt-faststart`
 * does. Nothing is copied but the `moov` atom; nothing touches the disk.
 */

interface Box {
  type: string;
  start: number;
  /** Where the box ends (exclusive). */
  end: number;
  /** Where its payload starts. */
  body: number;
}

/** Top-level boxes, or undefined when the structure does not parse. */
function topLevel(bytes: Uint8Array, from: number, to: number): Box[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) return undefined;
      const big = view.getBigUint64(at + 8);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
      size = Number(big);
      body = at + 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < body - at || at + size > to) return undefined;
    boxes.push({ type, start: at, end: at + size, body });
    at += size;
  }
  return boxes;
}

/** Boxes whose children hold chunk offset tables. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

/**
 * Shifts every chunk offset in [`from`, `to`) by `delta`, in place in `moov` (a copy).
 * Returns false when an offset would no longer fit its field.
 */
function shiftOffsets(moov: Uint8Array, box: Box, from: number, to: number, delta: number): boolean {
  const children = topLevel(moov, box.body, box.end);
  if (!children) return false;
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  for (const child of children) {
    if (CONTAINERS.has(child.type)) {
      if (!shiftOffsets(moov, child, from, to, delta)) return false;
    } else if (child.type === 'stco' || child.type === 'co64') {
      const wide = child.type === 'co64';
      if (child.body + 8 > child.end) return false;
      const count = view.getUint32(child.body + 4);
      const width = wide ? 8 : 4;
      if (child.body + 8 + count * width > child.end) return false;
      for (let i = 0; i < count; i++) {
        const at = child.body + 8 + i * width;
        const offset = wide ? Number(view.getBigUint64(at)) : view.getUint32(at);
        if (offset < from || offset >= to) continue;
        const moved = offset + delta;
        if (wide) view.setBigUint64(at, BigInt(moved));
        else if (moved > 0xffffffff) return false;
        else view.setUint32(at, moved);
      }
    }
  }
  return true;
}

/**
 * The file's bytes in an order a pipe can be demuxed from: unchanged unless it is an MP4/MOV
 * whose `moov` follows its first `mdat` (and is not fragmented), then moov first. Returns the
 * pieces to write one after the other.
 */
export function moovFirst(bytes: Uint8Array): Uint8Array[] {
  const boxes = topLevel(bytes, 0, bytes.length);
  if (!boxes) return [bytes];
  const mdat = boxes.findIndex((b) => b.type === 'mdat');
  const moovIndex = boxes.findIndex((b) => b.type === 'moov');
  if (mdat === -1 || moovIndex === -1 || moovIndex < mdat) return [bytes];
  if (boxes.some((b) => b.type === 'moof')) return [bytes];
  const moovBox = boxes[moovIndex] as Box;
  const mdatBox = boxes[mdat] as Box;
  // A copy (Buffer#slice would share the caller's memory, and the offsets are rewritten in it).
  const moov = new Uint8Array(bytes.subarray(moovBox.start, moovBox.end));
  const size = moovBox.end - moovBox.start;
  const local: Box = { type: 'moov', start: 0, end: moov.length, body: moovBox.body - moovBox.start };
  // Everything between the first mdat and the old moov moves down by the moov's size.
  if (!shiftOffsets(moov, local, mdatBox.start, moovBox.start, size)) return [bytes];
  return [
    bytes.subarray(0, mdatBox.start),
    moov,
    bytes.subarray(mdatBox.start, moovBox.start),
    bytes.subarray(moovBox.end),
  ].filter((p) => p.length > 0);
}

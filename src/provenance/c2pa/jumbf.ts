/**
 * @module provenance/c2pa/jumbf
 * JUMBF (ISO/IEC 19566-5) boxes: superboxes (`jumb`) whose description box (`jumd`) carries a type
 * UUID and a label, and content boxes (`cbor`, `json`, `bfdb`, `bidb`...). Box sizes are checked
 * against their parent; depth and count are capped. Throws JumbfError on structure it cannot walk.
 */

export class JumbfError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JumbfError';
  }
}

export interface JumbfBox {
  type: string;
  /** The whole box, header included. */
  bytes: Uint8Array;
  /** The payload (after LBox/TBox/XLBox). */
  payload: Uint8Array;
  offset: number;
}

export interface JumbfSuperbox {
  /** The description box's type UUID as 32 hex digits (`6332706100110010800000aa00389b71` is `c2pa`). */
  uuid: string;
  label: string;
  /** The superbox's payload: its description box and content boxes (what C2PA hashed URIs hash). */
  payload: Uint8Array;
  /** Child superboxes. */
  children: JumbfSuperbox[];
  /** Content boxes (not superboxes), in order. */
  content: JumbfBox[];
  offset: number;
}

const MAX_DEPTH = 16;
const MAX_BOXES = 100_000;

function u32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) >>> 0) +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}

/** Splits bytes into ISO BMFF-style boxes (LBox 0 = to the end, 1 = 64-bit XLBox). */
export function boxes(b: Uint8Array, base = 0): JumbfBox[] {
  const out: JumbfBox[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 8 > b.length) throw new JumbfError('JUMBF box header runs past its parent', base + at);
    let size = u32(b, at);
    const type = String.fromCharCode(
      b[at + 4] as number,
      b[at + 5] as number,
      b[at + 6] as number,
      b[at + 7] as number,
    );
    let header = 8;
    if (size === 1) {
      if (at + 16 > b.length) throw new JumbfError('JUMBF XLBox runs past its parent', base + at);
      const hi = u32(b, at + 8);
      const lo = u32(b, at + 12);
      size = hi * 0x100000000 + lo;
      header = 16;
    } else if (size === 0) {
      size = b.length - at;
    }
    if (size < header || size > b.length - at)
      throw new JumbfError(`JUMBF ${JSON.stringify(type)} box claims ${size} bytes`, base + at);
    out.push({
      type,
      bytes: b.subarray(at, at + size),
      payload: b.subarray(at + header, at + size),
      offset: base + at,
    });
    if (out.length > MAX_BOXES) throw new JumbfError('Too many JUMBF boxes', base + at);
    at += size;
  }
  return out;
}

/** Parses a `jumb` superbox (the bytes of the whole box). */
export function parseSuperbox(box: JumbfBox, depth = 0): JumbfSuperbox {
  if (depth > MAX_DEPTH) throw new JumbfError('JUMBF nested too deeply', box.offset);
  if (box.type !== 'jumb')
    throw new JumbfError(`Expected a jumb superbox, found ${JSON.stringify(box.type)}`, box.offset);
  const headerLen = box.bytes.length - box.payload.length;
  const inner = boxes(box.payload, box.offset + headerLen);
  const desc = inner[0];
  if (desc?.type !== 'jumd' || !desc) throw new JumbfError('JUMBF superbox without a description box', box.offset);
  const d = desc.payload;
  if (d.length < 17) throw new JumbfError('JUMBF description box too short', desc.offset);
  const uuid = Buffer.from(d.subarray(0, 16)).toString('hex');
  const toggles = d[16] as number;
  let label = '';
  if (toggles & 0x02) {
    const end = d.indexOf(0, 17);
    label = new TextDecoder().decode(d.subarray(17, end < 0 ? d.length : end));
  }
  const sb: JumbfSuperbox = { uuid, label, payload: box.payload, children: [], content: [], offset: box.offset };
  for (const child of inner.slice(1)) {
    if (child.type === 'jumb') sb.children.push(parseSuperbox(child, depth + 1));
    else sb.content.push(child);
  }
  return sb;
}

/** Parses a manifest store: the bytes hold one `jumb` superbox (trailing padding is ignored). */
export function parseJumbf(bytes: Uint8Array): JumbfSuperbox {
  const top = boxes(bytes);
  const first = top.find((b) => b.type === 'jumb');
  if (!first) throw new JumbfError('No JUMBF superbox', 0);
  return parseSuperbox(first);
}

/** The UUIDs C2PA uses (first four bytes are the ASCII type). */
export const C2PA_UUID = {
  store: '6332706100110010800000aa00389b71',
  manifest: '63326d6100110010800000aa00389b71',
  assertions: '6332617300110010800000aa00389b71',
  claim: '6332636c00110010800000aa00389b71',
  signature: '6332637300110010800000aa00389b71',
  credentials: '6332766300110010800000aa00389b71',
  cbor: '63626f7200110010800000aa00389b71',
  json: '6a736f6e00110010800000aa00389b71',
} as const;

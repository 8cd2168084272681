/**
 * @module video/sniff
 * Video containers by magic bytes, never by file name. The container also decides which ffmpeg
 * demuxer reads the file (`-f`), so a file that merely claims a name can never reach ffmpeg's
 * playlist or concat demuxers, which open other files.
 */

/** Video containers Ward hands to ffmpeg. */
export type VideoFormat = 'mp4' | 'mov' | '3gp' | 'webm' | 'mkv' | 'avi' | 'flv' | 'mpegts' | 'asf' | 'mpeg';

export const VIDEO_FORMATS: readonly VideoFormat[] = [
  'mp4',
  'mov',
  '3gp',
  'webm',
  'mkv',
  'avi',
  'flv',
  'mpegts',
  'asf',
  'mpeg',
];

/** The ffmpeg demuxer (`-f`) of each container. */
export const DEMUXER: Readonly<Record<VideoFormat, string>> = {
  mp4: 'mov',
  mov: 'mov',
  '3gp': 'mov',
  webm: 'matroska',
  mkv: 'matroska',
  avi: 'avi',
  flv: 'flv',
  mpegts: 'mpegts',
  asf: 'asf',
  mpeg: 'mpeg',
};

function ascii(head: Uint8Array, offset: number, text: string): boolean {
  if (head.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * ISO base media brands that are still images (AVIF, HEIF/HEIC and their sequences, which
 * media/sniff reads as images) or audio only (M4A, M4B...): not videos.
 */
const NOT_VIDEO_BRANDS = new Set([
  'avif',
  'avis',
  'heic',
  'heix',
  'heim',
  'heis',
  'hevc',
  'hevx',
  'hevm',
  'hevs',
  'mif1',
  'msf1',
  'miaf',
  'MiHE',
  'crx ',
  'jpeg',
  'M4A ',
  'M4B ',
  'M4P ',
  'F4A ',
  'F4B ',
]);

/** QuickTime files from before `ftyp` start with one of these atoms. */
const QUICKTIME_ATOMS = ['moov', 'mdat', 'wide', 'pnot'];

const EBML = [0x1a, 0x45, 0xdf, 0xa3];
const ASF = [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c];

function bytesAt(head: Uint8Array, offset: number, bytes: readonly number[]): boolean {
  if (head.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[offset + i] !== bytes[i]) return false;
  return true;
}

/** MPEG-TS: a sync byte every `stride` bytes from `offset`, four packets in a row. */
function transportStream(head: Uint8Array, offset: number, stride: number): boolean {
  if (head.length < offset + 3 * stride + 1) return false;
  for (let k = 0; k < 4; k++) if (head[offset + k * stride] !== 0x47) return false;
  return true;
}

/** Recognises a video container from the first bytes of a file (4 KiB are plenty). */
export function sniffVideo(head: Uint8Array): VideoFormat | undefined {
  if (ascii(head, 4, 'ftyp') && head.length >= 12) {
    const brand = String.fromCharCode(head[8], head[9], head[10], head[11]);
    if (NOT_VIDEO_BRANDS.has(brand)) return undefined;
    if (brand === 'qt  ') return 'mov';
    if (brand.startsWith('3g')) return '3gp';
    return 'mp4';
  }
  if (head.length >= 8) {
    const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if ((size >= 8 || size === 0 || size === 1) && QUICKTIME_ATOMS.some((a) => ascii(head, 4, a))) return 'mov';
  }
  if (bytesAt(head, 0, EBML)) {
    // The DocType sits in the EBML header, within its first few dozen bytes.
    const scan = head.subarray(0, Math.min(head.length, 64));
    for (let i = 0; i + 4 <= scan.length; i++) if (ascii(scan, i, 'webm')) return 'webm';
    return 'mkv';
  }
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'AVI ')) return 'avi';
  if (ascii(head, 0, 'FLV') && head[3] === 0x01) return 'flv';
  if (bytesAt(head, 0, ASF)) return 'asf';
  if (transportStream(head, 0, 188) || transportStream(head, 4, 192)) return 'mpegts';
  if (bytesAt(head, 0, [0x00, 0x00, 0x01, 0xba])) return 'mpeg';
  return undefined;
}

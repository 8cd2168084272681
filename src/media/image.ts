/**
 * @module media/image
 * Decodes image bytes to 8-bit pixels the way PDQ's reference sees them: no EXIF rotation, no ICC
 * conversion, alpha kept as a channel (and later dropped, not composited), grey kept as grey.
 */
import { WardError } from '../errors.js';
import type { Limits } from '../limits.js';
import { peekColour } from './image-header.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat, sniffImage } from './sniff.js';

/** Decoded 8-bit pixels, interleaved, row-major. */
export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGB + alpha. */
  channels: number;
  data: Uint8Array;
}

type SharpModule = typeof import('sharp');
let sharpPromise: Promise<SharpModule['default']> | undefined;

/** Loads sharp once; a missing native build fails with the possible fixes. */
export function loadSharp(): Promise<SharpModule['default']> {
  sharpPromise ??= import('sharp').then(
    (m) => {
      // One libvips thread per decode: parallelism comes from Ward's own workers.
      m.default.concurrency(1);
      m.default.cache(false);
      return m.default;
    },
    (cause: unknown) => {
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Could not load sharp (libvips), needed to decode images. Possible solutions: run `npm ci` ' +
          'again on this machine; check that optional dependencies are not disabled (`npm ci --include=optional`).',
        {},
        cause,
      );
    },
  );
  return sharpPromise;
}

/**
 * Decodes `bytes` to pixels. Throws WardError:
 * WARD_ERR_INPUT_EMPTY, WARD_ERR_IMAGE_UNSUPPORTED, WARD_ERR_LIMIT_PIXELS, WARD_ERR_IMAGE_DECODE.
 */
export async function decodeImage(bytes: Uint8Array, limits: Limits): Promise<DecodedImage> {
  if (bytes.length === 0) throw new WardError('WARD_ERR_INPUT_EMPTY', 'The file is empty (0 bytes)');
  const format = sniffImage(bytes.subarray(0, 16));
  if (format === undefined || !DECODABLE_IMAGE_FORMATS.has(format)) {
    throw new WardError(
      'WARD_ERR_IMAGE_UNSUPPORTED',
      format === undefined
        ? 'Not a recognised image format (by magic bytes)'
        : `Image format ${format} is not supported`,
      { actual: format ?? 'unknown' },
    );
  }
  const sharp = await loadSharp();
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const options = {
    ignoreIcc: true,
    // Header dimensions are checked before any pixel is decoded.
    limitInputPixels: limits.maxPixels,
    // Fail on truncation (a clear error) but, like the reference's decoders, decode through
    // recoverable corruption warnings.
    failOn: 'truncated',
    sequentialRead: true,
  } as const;
  try {
    // Grey stays grey (the reference uses the grey value as luma, not 0.299g+0.587g+0.114g).
    // 16-bit samples are scaled to 8 bits by the colourspace cast, not truncated to the low byte.
    let colour = peekColour(bytes, format);
    if (colour === undefined) {
      const meta = await sharp(input, options).metadata();
      colour = meta.space === 'b-w' || meta.space === 'grey16' ? 'grey' : 'colour';
    }
    let pipeline = sharp(input, options);
    if (colour === 'grey') pipeline = pipeline.toColourspace('b-w');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { format, width: info.width, height: info.height, channels: info.channels, data };
  } catch (cause) {
    if (WardError.is(cause)) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/pixel limit/i.test(message)) {
      throw new WardError('WARD_ERR_LIMIT_PIXELS', `Image exceeds the pixel limit of ${limits.maxPixels}`, {
        limit: limits.maxPixels,
      });
    }
    throw new WardError('WARD_ERR_IMAGE_DECODE', `Could not decode ${format} image: ${firstLine(message)}`, {}, cause);
  }
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

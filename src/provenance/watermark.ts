/**
 * @module provenance/watermark
 * The Stable Diffusion invisible watermark (imwatermark `dwtDct`): decoded bit for bit as the
 * reference does it (OpenCV's integer BGR→YUV, PyWavelets' Haar `dwt2` in float64, the max-magnitude
 * coefficient of each 4×4 block of the U channel's approximation band, modulo 36), then compared
 * with the three known messages (SD v1 "StableDiffusionV1", SD v2 "SDV2", SDXL's 48 bits).
 */

/** A known watermark message: its name and its bits (most significant bit of each byte first). */
export interface WatermarkMessage {
  name: string;
  /** Where it is embedded. */
  description: string;
  bits: readonly number[];
}

function bitsOfBytes(bytes: readonly number[]): number[] {
  const bits: number[] = [];
  for (const b of bytes) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
  return bits;
}

function bitsOfAscii(text: string): number[] {
  return bitsOfBytes([...text].map((c) => c.charCodeAt(0)));
}

/** The messages Stable Diffusion's reference scripts embed. */
export const SD_WATERMARKS: readonly WatermarkMessage[] = [
  {
    name: 'sdxl',
    description: 'SDXL (generative-models WATERMARK_BITS, 48 bits 0xB3EC907BB19E)',
    bits: bitsOfBytes([0xb3, 0xec, 0x90, 0x7b, 0xb1, 0x9e]),
  },
  {
    name: 'sdv1',
    description: 'Stable Diffusion v1 ("StableDiffusionV1", 136 bits)',
    bits: bitsOfAscii('StableDiffusionV1'),
  },
  { name: 'sdv2', description: 'Stable Diffusion v2 ("SDV2", 32 bits)', bits: bitsOfAscii('SDV2') },
];

/** A message counts as present when at least this share of its bits match (`yes`). */
export const WATERMARK_PRESENT = 0.9;
/** From this share up to WATERMARK_PRESENT the watermark is `likely` (damaged by re-encoding). */
export const WATERMARK_LIKELY = 0.8;

export interface WatermarkScore {
  name: string;
  description: string;
  /** Bits decoded at this message's length that equal the message. */
  matched: number;
  bits: number;
  /** The decoded bits as hex (most significant first; the last byte padded with zeros). */
  decoded: string;
}

export interface WatermarkResult {
  method: 'dwtDct';
  /** The best-matching message when it reaches WATERMARK_LIKELY, else undefined. */
  detected?: { name: string; description: string; matched: number; bits: number; confidence: 'yes' | 'likely' };
  scores: WatermarkScore[];
}

/** Pixels as the decoder takes them: 8-bit, interleaved, 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface WatermarkPixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

// OpenCV's fixed-point BT.601 coefficients (imgproc/src/color_yuv: yuv_shift = 14).
const YUV_SHIFT = 14;
const R2Y = 4899;
const G2Y = 9617;
const B2Y = 1868;
const B2UI = 8061;
const HALF = 1 << (YUV_SHIFT - 1);
const DELTA = 128 << YUV_SHIFT;
/** PyWavelets' Haar decomposition low-pass coefficient (sqrt(2)/2 as a double). */
const HAAR = Math.SQRT1_2; // PyWavelets' haar dec_lo literal 0.7071067811865476: the same double
const BLOCK = 4;
const SCALE = 36;

/**
 * One bit per 4×4 block of the Haar approximation band of the U channel (blocks row-major), as
 * `EmbedMaxDct.decode_frame` / `infer_dct_matrix` infer them:
 * - U = OpenCV's integer conversion: Y = (B·1868 + G·9617 + R·4899 + 2^13) >> 14,
 *   U = ((B − Y)·8061 + 128·2^14 + 2^13) >> 14, saturated;
 * - the approximation band exactly as PyWavelets computes it in float64: along rows first
 *   (axis -2: h·x[2m+1] + h·x[2m]), then along columns, h = 0.7071067811865476;
 * - per block, the coefficient of largest magnitude among the 15 after the first (numpy's argmax:
 *   the first maximum wins); bit = |v| mod 36 > 18.
 * Streams 8 image rows (one row of blocks) at a time; only the rows and columns that make whole
 * blocks are computed (the reference ignores the rest).
 */
export function blockBits(px: WatermarkPixels): Uint8Array {
  const { width, channels, data } = px;
  const rows = Math.floor(px.height / 4) * 4;
  const cols = Math.floor(width / 4) * 4;
  const br = Math.floor(rows / 2 / BLOCK);
  const bc = Math.floor(cols / 2 / BLOCK);
  const caCols = bc * BLOCK;
  const out = new Uint8Array(br * bc);
  const ca = new Float64Array(BLOCK * caCols); // one row of blocks of the band
  const stride = width * channels;
  const grey = channels < 3;
  for (let i = 0; i < br; i++) {
    for (let m = 0; m < BLOCK; m++) {
      // Band row i·4+m from image rows y0 and y0+1; band column n from image columns 2n, 2n+1.
      const y0 = 2 * (i * BLOCK + m);
      let s0 = y0 * stride;
      let s1 = s0 + stride;
      const row = m * caCols;
      for (let n = 0; n < caCols; n++) {
        let ua: number;
        let ub: number;
        let uc: number;
        let ud: number;
        if (grey) {
          ua = ub = uc = ud = 128; // R = G = B: Y = grey exactly, so U = 128
        } else {
          // (a, b) = columns 2n, 2n+1 of row y0; (c, d) = the same of row y0+1.
          ua = uOf(data[s0] as number, data[s0 + 1] as number, data[s0 + 2] as number);
          ub = uOf(data[s0 + channels] as number, data[s0 + channels + 1] as number, data[s0 + channels + 2] as number);
          uc = uOf(data[s1] as number, data[s1 + 1] as number, data[s1 + 2] as number);
          ud = uOf(data[s1 + channels] as number, data[s1 + channels + 1] as number, data[s1 + channels + 2] as number);
        }
        // Axis -2 first (h·x[2m+1] + h·x[2m]) for both columns, then axis -1: the reference's order.
        const l0 = HAAR * uc + HAAR * ua;
        const l1 = HAAR * ud + HAAR * ub;
        ca[row + n] = HAAR * l1 + HAAR * l0;
        s0 += 2 * channels;
        s1 += 2 * channels;
      }
    }
    for (let j = 0; j < bc; j++) {
      let best = -1;
      for (let k = 1; k < BLOCK * BLOCK; k++) {
        const a = Math.abs(ca[(k >> 2) * caCols + j * BLOCK + (k & 3)] as number);
        if (a > best) best = a;
      }
      out[i * bc + j] = best % SCALE > 0.5 * SCALE ? 1 : 0;
    }
  }
  return out;
}

/** OpenCV's 8-bit U of one pixel (COLOR_BGR2YUV channel 1): integer, saturated. */
function uOf(r: number, g: number, b: number): number {
  const y = (b * B2Y + g * G2Y + r * R2Y + HALF) >> YUV_SHIFT;
  const v = ((b - y) * B2UI + DELTA + HALF) >> YUV_SHIFT;
  return Math.min(255, Math.max(0, v));
}

/**
 * The bits of a message of `length` bits: bit k is the majority (mean · 255 > 127) of the blocks
 * whose index is k modulo `length`, as `EmbedMaxDct.decode`.
 */
export function bitsForLength(blocks: Uint8Array, length: number): number[] {
  const ones = new Float64Array(length);
  const counts = new Float64Array(length);
  for (let n = 0; n < blocks.length; n++) {
    const k = n % length;
    ones[k] = (ones[k] as number) + (blocks[n] as number);
    counts[k] = (counts[k] as number) + 1;
  }
  const bits: number[] = [];
  // numpy: mean of an empty list is NaN, and NaN * 255 > 127 is false.
  for (let k = 0; k < length; k++) bits.push(((ones[k] as number) / (counts[k] as number)) * 255 > 127 ? 1 : 0);
  return bits;
}

function hexOfBits(bits: readonly number[]): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | (bits[i + j] ?? 0);
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

/** The reference decoder refuses images under 256×256 pixels (r·c < 65536). */
export const WATERMARK_MIN_PIXELS = 256 * 256;

/**
 * Decodes the dwtDct watermark and scores it against the known Stable Diffusion messages.
 * Returns undefined for images smaller than the reference accepts (fewer than 65,536 pixels).
 * @example const wm = decodeSdWatermark(await decodeImage(bytes, limits)); wm?.detected?.name // 'sdxl'
 */
export function decodeSdWatermark(
  px: WatermarkPixels,
  messages: readonly WatermarkMessage[] = SD_WATERMARKS,
): WatermarkResult | undefined {
  if (px.width * px.height < WATERMARK_MIN_PIXELS) return undefined;
  const blocks = blockBits(px);
  const scores: WatermarkScore[] = [];
  let best: WatermarkScore | undefined;
  for (const m of messages) {
    const bits = bitsForLength(blocks, m.bits.length);
    let matched = 0;
    for (let k = 0; k < bits.length; k++) if (bits[k] === m.bits[k]) matched++;
    const score: WatermarkScore = {
      name: m.name,
      description: m.description,
      matched,
      bits: bits.length,
      decoded: hexOfBits(bits),
    };
    scores.push(score);
    if (!best || matched / score.bits > best.matched / best.bits) best = score;
  }
  const result: WatermarkResult = { method: 'dwtDct', scores };
  if (best && best.matched / best.bits >= WATERMARK_LIKELY) {
    result.detected = {
      name: best.name,
      description: best.description,
      matched: best.matched,
      bits: best.bits,
      confidence: best.matched / best.bits >= WATERMARK_PRESENT ? 'yes' : 'likely',
    };
  }
  return result;
}

/**
 * @module signals/pdq/hash
 * PDQ hashes from decoded pixels, in the two profiles Ward supports.
 */
import { invalidParameter } from '../../errors.js';
import { dctToHashBytes, MIN_HASHABLE_DIM } from './core.js';
import { dihedralDcts } from './dihedral.js';
import { bytesToHex } from './distance.js';
import { kernelPdqFloat } from './kernel.js';

/**
 * `fullres`: the PDQ core on the full-resolution pixels (what HMA and python-threatexchange emit).
 * `cli512`: Meta's `pdq-photo-hasher` CLI, which first squashes images over 512 px on either side
 * to 512x512 by nearest neighbour.
 */
export type PdqProfile = 'fullres' | 'cli512';
export const PDQ_PROFILES: readonly PdqProfile[] = ['fullres', 'cli512'];

export interface PixelsInput {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface PdqOptions {
  profile?: PdqProfile;
  /** Also compute the 8 dihedral hashes (original, rot90, rot180, rot270, flipX, flipY, flip+1, flip-1). */
  dihedral?: boolean;
}

export interface PdqResult {
  /** 64 lowercase hex characters. */
  hash: string;
  /** 0-100; below 50 the hash is too weak to act on. */
  quality: number;
  dihedral?: string[];
}

const ZERO_HASH = '0'.repeat(64);

/** The PDQ core's output before thresholding: 16x16 DCT coefficients and quality 0-100. */
export interface PdqFloat {
  dct: Float32Array;
  quality: number;
}

/**
 * The PDQ core on interleaved 8-bit pixels (1-4 channels, row-major).
 * `skipBlurAt64`: the reference's hash path copies a 64x64 input without blurring, while its
 * dihedral path blurs it; pass false to get the dihedral path's numbers.
 */
export function pdqFloatFromPixels(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  skipBlurAt64 = true,
): PdqFloat {
  if (height < MIN_HASHABLE_DIM || width < MIN_HASHABLE_DIM) return { dct: new Float32Array(256), quality: 0 };
  return kernelPdqFloat(data, width, height, channels, skipBlurAt64);
}

/** Computes PDQ from 8-bit interleaved pixels. */
export function pdqFromPixels(image: PixelsInput, options: PdqOptions = {}): PdqResult {
  const profile = options.profile ?? 'fullres';
  if (profile !== 'fullres' && profile !== 'cli512') throw invalidParameter('profile', 'fullres or cli512', profile);
  let { width, height, data } = image;
  const { channels } = image;
  if (profile === 'cli512' && (width > 512 || height > 512)) {
    data = nearestSquash(data, width, height, channels, 512, 512);
    width = 512;
    height = 512;
  }
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
    return options.dihedral
      ? { hash: ZERO_HASH, quality: 0, dihedral: new Array(8).fill(ZERO_HASH) }
      : { hash: ZERO_HASH, quality: 0 };
  }
  const { dct, quality } = pdqFloatFromPixels(data, width, height, channels);
  const hash = bytesToHex(dctToHashBytes(dct));
  if (!options.dihedral) return { hash, quality };
  // The reference's dihedral path blurs a 64x64 input that its plain path copies as is.
  const dihedralSource =
    width === 64 && height === 64 ? pdqFloatFromPixels(data, width, height, channels, false).dct : dct;
  const dihedral = dihedralDcts(dihedralSource).map((d) => bytesToHex(dctToHashBytes(d)));
  return { hash, quality, dihedral };
}

/** CImg's nearest-neighbour resize: source index floor(x * oldSize / newSize). */
function nearestSquash(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  newWidth: number,
  newHeight: number,
): Uint8Array {
  const out = new Uint8Array(newWidth * newHeight * channels);
  const xs = new Int32Array(newWidth);
  for (let x = 0; x < newWidth; x++) xs[x] = Math.floor((x * width) / newWidth) * channels;
  let o = 0;
  for (let y = 0; y < newHeight; y++) {
    const row = Math.floor((y * height) / newHeight) * width * channels;
    for (let x = 0; x < newWidth; x++) {
      const s = row + xs[x];
      for (let c = 0; c < channels; c++) out[o++] = data[s + c];
    }
  }
  return out;
}

/**
 * @module signals/image
 * All signals of one image file from a single read of its bytes: PDQ (+ quality, optional
 * dihedral set), MD5, SHA-1 and SHA-256 of the file bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { invalidParameter, WardError } from '../errors.js';
import { type Limits, resolveLimits } from '../limits.js';
import { decodeImage } from '../media/image.js';
import { type PdqProfile, pdqFromPixels } from './pdq/hash.js';

export interface HashImageOptions {
  profile?: PdqProfile;
  dihedral?: boolean;
  limits?: Partial<Limits>;
}

/** The `ward hash` record for one image (the NDJSON contract). */
export interface ImageHashes {
  path?: string;
  pdq: string;
  quality: number;
  md5: string;
  sha1: string;
  sha256: string;
  width: number;
  height: number;
  pdqDihedral?: string[];
}

/** Cryptographic digests of a byte buffer, each hex. */
export function cryptoDigests(bytes: Uint8Array): { md5: string; sha1: string; sha256: string } {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** MD5, SHA-1 and SHA-256 of a file read as a stream (any size, one read). */
export async function fileDigests(path: string): Promise<{ md5: string; sha1: string; sha256: string }> {
  const hashes = [createHash('md5'), createHash('sha1'), createHash('sha256')];
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      for (const h of hashes) h.update(chunk as Buffer);
    }
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
  }
  const [md5, sha1, sha256] = hashes.map((h) => h.digest('hex')) as [string, string, string];
  return { md5, sha1, sha256 };
}

/**
 * Hashes an image file or buffer.
 * @param input a file path, or the file's bytes
 * @throws WardError WARD_ERR_INPUT_NOT_FOUND, WARD_ERR_INPUT_EMPTY, WARD_ERR_IMAGE_UNSUPPORTED,
 *   WARD_ERR_IMAGE_DECODE, WARD_ERR_LIMIT_PIXELS, WARD_ERR_LIMIT_FILE_SIZE, WARD_ERR_INPUT_TYPE
 * @example
 *   const h = await hashImage('photo.jpg');
 *   h.pdq; // 'f8f8f0ce…' (64 hex), h.quality; // 0-100
 */
export async function hashImage(input: string | Uint8Array, options: HashImageOptions = {}): Promise<ImageHashes> {
  const limits = resolveLimits(options.limits);
  if (typeof input === 'string') return hashImageBytes(await readImageFile(input, limits), input, options, limits);
  if (input instanceof Uint8Array) {
    if (input.length > limits.maxFileBytes) throw fileTooLarge(input.length, limits);
    return hashImageBytes(input, undefined, options, limits);
  }
  throw invalidParameter('input', 'a file path or a Uint8Array', input);
}

/**
 * Hashes bytes already read (by readImageFile, so limits were checked); `path` labels the record.
 * @internal
 */
export async function hashImageBytes(
  bytes: Uint8Array,
  path: string | undefined,
  options: HashImageOptions,
  limits: Limits = resolveLimits(options.limits),
): Promise<ImageHashes> {
  const digests = cryptoDigests(bytes);
  const image = await decodeImage(bytes, limits);
  const pdq = pdqFromPixels(image, { profile: options.profile, dihedral: options.dihedral });
  const out: ImageHashes = {
    ...(path === undefined ? {} : { path }),
    pdq: pdq.hash,
    quality: pdq.quality,
    ...digests,
    width: image.width,
    height: image.height,
  };
  if (pdq.dihedral) out.pdqDihedral = pdq.dihedral;
  return out;
}

/** Reads a whole file once, refusing non-files and files over the byte limit. @internal */
export async function readImageFile(path: string, limits: Limits): Promise<Uint8Array> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new WardError('WARD_ERR_INPUT_NOT_FOUND', 'Not a regular file', { path });
    if (st.size > limits.maxFileBytes) throw fileTooLarge(st.size, limits);
    return await readFile(path);
  } catch (cause) {
    if (WardError.is(cause)) throw cause;
    throw new WardError(
      'WARD_ERR_INPUT_NOT_FOUND',
      `Cannot read file: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
      { path },
      cause,
    );
  }
}

/** @internal */
export function fileTooLarge(size: number, limits: Limits): WardError {
  return new WardError(
    'WARD_ERR_LIMIT_FILE_SIZE',
    `File of ${size} bytes exceeds the limit of ${limits.maxFileBytes}`,
    {
      limit: limits.maxFileBytes,
      actual: size,
    },
  );
}

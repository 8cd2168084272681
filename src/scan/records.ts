/**
 * @module scan/records
 * `ward hash`'s records (an image's or a video's hashes, or an error record) and the hash task
 * that makes one: the scan pipeline's task runner runs it beside scan tasks (scan/tasks).
 * @internal
 */
import { WardError } from '../errors.js';
import type { Limits } from '../limits.js';
import { type HashImageOptions, hashImageBytes, type ImageHashes } from '../signals/image.js';
import type { VideoHashOptions } from '../video/hash.js';
import { type FileToHash, hashVideoFile, type VideoHashes } from '../video/record.js';

export interface ErrorRecord {
  path: string;
  error: { code: string; message: string };
}
export type HashRecord = ImageHashes | VideoHashes | ErrorRecord;

/** What a hashing thread is given: image options, and video options for the videos among the files. */
export type HashOptions = HashImageOptions & { video?: VideoHashOptions };

export function isErrorRecord(r: HashRecord): r is ErrorRecord {
  return 'error' in r;
}

/** Turns any failure into the `{code, message}` of an error record. */
export function toErrorInfo(cause: unknown): { code: string; message: string } {
  if (WardError.is(cause)) return { code: cause.code, message: cause.message };
  return { code: 'WARD_ERR_INTERNAL', message: 'Internal error while hashing (this is a bug, please report it)' };
}

/** Hashes what readForHash read: an image's bytes, or a video file through ffmpeg. @internal */
export async function hashFileToHash(
  input: FileToHash,
  path: string,
  options: HashOptions,
  limits: Limits,
): Promise<ImageHashes | VideoHashes> {
  if ('video' in input) return hashVideoFile(path, input.video, { maxPixels: limits.maxPixels, ...options.video });
  return hashImageBytes(input.bytes, path, options, limits);
}

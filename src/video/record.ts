/**
 * @module video/record
 * `ward hash` and `ward match` on videos: a file is sniffed first, and a video is never read into
 * memory (ffmpeg reads it; the digests come from a parallel stream), whatever its size.
 */
import { open } from 'node:fs/promises';
import type { Limits } from '../limits.js';
import { fileDigests, readImageFile } from '../signals/image.js';
import { hashVideo, type VideoHashOptions } from './hash.js';
import { sniffVideo, type VideoFormat } from './sniff.js';
import type { VpdqFrame } from './vpdq.js';

/** The `ward hash` record of a video (NDJSON contract, docs/cli.md). */
export interface VideoHashes {
  path?: string;
  contentType: 'video';
  format: VideoFormat;
  /** The hashed frames (`--vpdq-format` changes how the CLI writes them). */
  vpdq: VpdqFrame[];
  md5: string;
  sha1: string;
  sha256: string;
  /** Size of the video stream. */
  width: number;
  height: number;
  fps: number;
  durationSeconds?: number;
  /** Why hashing stopped early: `maxFrames` or `maxSeconds`. */
  truncated?: 'maxFrames' | 'maxSeconds';
  /** ffmpeg's complaint about a damaged stream (the frames before the damage are hashed). */
  damaged?: string;
}

/** What hashing a file needs: a video's container (ffmpeg reads the file), or any other file's bytes. */
export type FileToHash = { video: VideoFormat } | { bytes: Uint8Array };

/**
 * Sniffs a file, and reads it whole unless it is a video.
 * @throws WardError as readImageFile (WARD_ERR_INPUT_NOT_FOUND, WARD_ERR_LIMIT_FILE_SIZE)
 */
export async function readForHash(path: string, limits: Limits): Promise<FileToHash> {
  let head: Uint8Array | undefined;
  try {
    const handle = await open(path, 'r');
    try {
      if ((await handle.stat()).isFile()) {
        const buf = Buffer.alloc(4096);
        const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
        head = buf.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  } catch {
    // readImageFile reports the problem in its words.
  }
  const video = head ? sniffVideo(head) : undefined;
  if (video) return { video };
  return { bytes: await readImageFile(path, limits) };
}

/** vPDQ and the digests of a video file (the record `ward hash` writes). */
export async function hashVideoFile(
  path: string,
  format: VideoFormat,
  options: VideoHashOptions = {},
): Promise<VideoHashes> {
  const digests = fileDigests(path);
  digests.catch(() => {});
  const v = await hashVideo(path, { ...options, format });
  return {
    path,
    contentType: 'video',
    format,
    vpdq: v.frames,
    ...(await digests),
    width: v.width,
    height: v.height,
    fps: v.fps,
    ...(v.durationSeconds !== undefined ? { durationSeconds: v.durationSeconds } : {}),
    ...(v.truncated ? { truncated: v.truncated } : {}),
    ...(v.damaged ? { damaged: v.damaged } : {}),
  };
}

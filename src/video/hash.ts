/**
 * @module video/hash
 * vPDQ hashing with ffmpeg, as Meta's reference does it (ThreatExchange `vpdq/cpp`):
 *
 * - the first video stream, frames numbered from 0 in the order the decoder outputs them;
 * - frame n is hashed iff n % max(1, trunc(S × fps)) == 0 (S seconds per hash; 0: every frame),
 *   fps being the stream's average frame rate (its r_frame_rate when unknown); its time is
 *   n / fps computed in float32, as the reference does;
 * - each sampled frame is converted to RGB24 by libswscale with area scaling and the BT.601 matrix
 *   the reference gets by default, at the native size or N×N, without the display rotation;
 * - then the PDQ core on those pixels (signals/pdq/hash: no 512-pixel pre-resize).
 *
 * ffmpeg selects the frames itself (the `select` filter), so unsampled frames are decoded but
 * never converted or piped; sampled frames arrive as raw RGB24 on a pipe and are hashed while
 * ffmpeg decodes the next ones. Nothing is written to disk.
 */
import { open } from 'node:fs/promises';
import { invalidParameter, WardError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { pdqFromPixels } from '../signals/pdq/hash.js';
import { moovFirst } from './faststart.js';
import { ffmpegBinary, ffmpegFeatures, runTool, summariseStderr } from './ffmpeg.js';
import { inputArgs, probeVideo, type VideoInfo, type VideoSource } from './probe.js';
import { sniffVideo, type VideoFormat } from './sniff.js';
import type { VpdqFrame } from './vpdq.js';

/**
 * libswscale's filter for the RGB24 conversion: `area` as the reference does since July 2023;
 * `lanczos` as it did before (the published sample hashes were made with it).
 */
export type VpdqScaler = 'area' | 'lanczos';
export const VPDQ_SCALERS: readonly VpdqScaler[] = ['area', 'lanczos'];

export interface VideoHashOptions {
  /** One frame per this many seconds (default 1, as python-threatexchange and HMA); 0: every frame. */
  secondsPerHash?: number;
  /** Hash frames scaled to N×N (the reference's downsample option); default: native size. */
  downsample?: number;
  /** Default `area`. */
  scaler?: VpdqScaler;
  /** Hash at most this many frames (default 3600); the result is then `truncated`. */
  maxFrames?: number;
  /** Wall-clock seconds for the whole video (default 600); the result is then `truncated`. */
  maxSeconds?: number;
  /** Largest frame, in pixels (default: the image limit, 100,000,000). */
  maxPixels?: number;
  /** The container, when already sniffed; otherwise sniffed from the first bytes. */
  format?: VideoFormat;
  /** Aborting kills ffmpeg; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const DEFAULT_VIDEO_LIMITS = Object.freeze({ maxFrames: 3600, maxSeconds: 600 });

/** Frame rates outside this range are refused as implausible (WARD_ERR_VIDEO_FRAME_RATE). */
export const MIN_FPS = 1 / 3600;
export const MAX_FPS = 1000;

export interface VideoHashResult {
  frames: VpdqFrame[];
  format: VideoFormat;
  codec: string;
  /** Size of the video stream (frames are hashed at `hashedWidth` × `hashedHeight`). */
  width: number;
  height: number;
  hashedWidth: number;
  hashedHeight: number;
  fps: number;
  /** The rational fps came from ("30000/1001"). */
  frameRate: string;
  /** Every `step`-th decoded frame was hashed. */
  step: number;
  durationSeconds?: number;
  /** Why hashing stopped before the end of the stream. */
  truncated?: 'maxFrames' | 'maxSeconds';
  /** ffmpeg's first complaint, when the stream is damaged but frames were hashed. */
  damaged?: string;
}

function checkOptions(o: VideoHashOptions): Required<Omit<VideoHashOptions, 'format' | 'signal' | 'downsample'>> & {
  downsample: number | undefined;
} {
  const secondsPerHash = o.secondsPerHash ?? 1;
  if (typeof secondsPerHash !== 'number' || !Number.isFinite(secondsPerHash) || secondsPerHash < 0)
    throw invalidParameter('secondsPerHash', 'a number of seconds ≥ 0', secondsPerHash);
  const downsample = o.downsample === 0 ? undefined : o.downsample;
  if (downsample !== undefined && (!Number.isInteger(downsample) || downsample < 1 || downsample > 65535))
    throw invalidParameter('downsample', 'an integer 1-65535 (0 or absent: native size)', downsample);
  const scaler = o.scaler ?? 'area';
  if (!VPDQ_SCALERS.includes(scaler)) throw invalidParameter('scaler', 'area or lanczos', scaler);
  const maxFrames = o.maxFrames ?? DEFAULT_VIDEO_LIMITS.maxFrames;
  if (!Number.isInteger(maxFrames) || maxFrames < 1)
    throw invalidParameter('maxFrames', 'a positive integer', maxFrames);
  const maxSeconds = o.maxSeconds ?? DEFAULT_VIDEO_LIMITS.maxSeconds;
  if (typeof maxSeconds !== 'number' || !(maxSeconds > 0))
    throw invalidParameter('maxSeconds', 'a positive number', maxSeconds);
  const maxPixels = o.maxPixels ?? DEFAULT_LIMITS.maxPixels;
  if (!Number.isInteger(maxPixels) || maxPixels < 1)
    throw invalidParameter('maxPixels', 'a positive integer', maxPixels);
  return { secondsPerHash, downsample, scaler, maxFrames, maxSeconds, maxPixels };
}

async function readHead(path: string): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    if (!(await handle.stat()).isFile())
      throw new WardError('WARD_ERR_INPUT_NOT_FOUND', 'Not a regular file', { path });
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === 0) throw new WardError('WARD_ERR_INPUT_EMPTY', 'The file is empty', { path });
    return head.subarray(0, bytesRead);
  } catch (cause) {
    if (WardError.is(cause)) throw cause;
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
  } finally {
    await handle?.close();
  }
}

/** libswscale's source range for a pixel format, as a bare sws_getContext sets it. */
function inputRange(pixelFormat: string): string | undefined {
  if (pixelFormat.startsWith('yuvj') || pixelFormat.startsWith('gray') || pixelFormat.startsWith('ya')) return 'pc';
  if (/^(yuv|nv|p0|p2|p4|y2|uyv|yuyv|yvyu|uyyvyy|v30|xv|vuy|ayuv)/.test(pixelFormat)) return 'tv';
  return undefined; // RGB formats: no range
}

/** The filter chain: select the sampled frames, then convert them as the reference does. */
export function filterChain(
  step: number,
  width: number,
  height: number,
  scaler: VpdqScaler,
  pixelFormat: string,
): string {
  const range = inputRange(pixelFormat);
  // accurate_rnd: libswscale's exact C path on every CPU (its SIMD fast paths round differently).
  const scale = [
    `scale=${width}:${height}`,
    `flags=${scaler}+accurate_rnd`,
    // The reference never sets a colour matrix, so libswscale uses BT.601 whatever the stream says.
    'in_color_matrix=bt601',
    ...(range ? [`in_range=${range}`] : []),
  ].join(':');
  const select = step > 1 ? `select=not(mod(n\\,${step})),` : '';
  return `${select}${scale},format=rgb24`;
}

/**
 * vPDQ of a video file (path: ffmpeg reads it, whatever its size) or of bytes in memory (piped to
 * ffmpeg; an MP4 whose index follows its media data is reordered in memory first).
 * @throws WardError WARD_ERR_VIDEO_UNSUPPORTED (not a video container), WARD_ERR_VIDEO_NO_STREAM,
 *   WARD_ERR_VIDEO_DECODE, WARD_ERR_VIDEO_EMPTY, WARD_ERR_VIDEO_FRAME_RATE, WARD_ERR_VIDEO_TIMEOUT,
 *   WARD_ERR_LIMIT_PIXELS, WARD_ERR_INPUT_NOT_FOUND, WARD_ERR_INPUT_EMPTY, WARD_ERR_DEPENDENCY_MISSING
 * @example
 *   const v = await hashVideo('clip.mp4');
 *   v.frames[0]; // { frame: 0, quality: 100, pdq: 'dadb…', seconds: 0 }
 */
export async function hashVideo(input: string | Uint8Array, options: VideoHashOptions = {}): Promise<VideoHashResult> {
  const o = checkOptions(options);
  const deadline = Date.now() + o.maxSeconds * 1000;
  let source: VideoSource;
  let format = options.format;
  if (typeof input === 'string') {
    if (format === undefined) format = sniffVideo(await readHead(input));
    source = { path: input };
  } else if (input instanceof Uint8Array) {
    if (input.length === 0) throw new WardError('WARD_ERR_INPUT_EMPTY', 'The video is empty (0 bytes)');
    format ??= sniffVideo(input.subarray(0, 4096));
    source = { pieces: format === 'mp4' || format === 'mov' || format === '3gp' ? moovFirst(input) : [input] };
  } else {
    throw invalidParameter('input', 'a file path or a Uint8Array', input);
  }
  if (format === undefined) {
    throw new WardError('WARD_ERR_VIDEO_UNSUPPORTED', 'Not a video container Ward reads (MP4/MOV, WebM/MKV, AVI...)', {
      ...(source.path !== undefined ? { path: source.path } : {}),
    });
  }
  const features = await ffmpegFeatures();
  const info = await probeVideo(source, { format, deadline, signal: options.signal });
  checkInfo(info, o.maxPixels);
  const step = Math.max(1, Math.min(0x7fffffff, Math.trunc(o.secondsPerHash * info.fps)));
  const hashedWidth = o.downsample ?? info.width;
  const hashedHeight = o.downsample ?? info.height;
  if (hashedWidth * hashedHeight > o.maxPixels) throw pixelLimit(hashedWidth, hashedHeight, o.maxPixels);
  const args = [
    '-hide_banner',
    '-nostats',
    '-nostdin',
    '-loglevel',
    'error',
    // The reference decodes the stream as stored: no display-matrix rotation.
    '-noautorotate',
    ...inputArgs(source, format),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filterChain(step, hashedWidth, hashedHeight, o.scaler, info.pixelFormat),
    // Every selected frame exactly once: no duplicating or dropping to a constant rate.
    ...(features.fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    // One more than the cap, so a truncation can be told from a video of exactly maxFrames.
    '-frames:v',
    String(o.maxFrames + 1),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const frameBytes = hashedWidth * hashedHeight * 3;
  const buffer = Buffer.allocUnsafe(frameBytes);
  const fps32 = Math.fround(info.fps);
  const frames: VpdqFrame[] = [];
  let fill = 0;
  let truncated: VideoHashResult['truncated'];
  const onStdout = (chunk: Buffer): boolean => {
    let at = 0;
    while (at < chunk.length) {
      if (frames.length === o.maxFrames) {
        truncated = 'maxFrames';
        return true;
      }
      const n = Math.min(frameBytes - fill, chunk.length - at);
      chunk.copy(buffer, fill, at, at + n);
      fill += n;
      at += n;
      if (fill === frameBytes) {
        fill = 0;
        const index = frames.length * step;
        const pdq = pdqFromPixels({ width: hashedWidth, height: hashedHeight, channels: 3, data: buffer });
        frames.push({
          frame: index,
          quality: pdq.quality,
          pdq: pdq.hash,
          seconds: Math.fround(Math.fround(index) / fps32),
        });
      }
    }
    return false;
  };
  const r = await runTool(ffmpegBinary(), args, {
    input: source.pieces,
    deadline,
    signal: options.signal,
    onStdout,
  });
  if (r.timedOut) truncated ??= 'maxSeconds';
  const complaint =
    summariseStderr(r.stderr, source.path) ||
    (r.code === null && !r.timedOut && !r.stopped ? 'ffmpeg was killed by a signal' : '');
  if (frames.length === 0) {
    if (truncated === 'maxSeconds')
      throw new WardError('WARD_ERR_VIDEO_TIMEOUT', `No frame was decoded within ${o.maxSeconds} s`, {
        limit: o.maxSeconds,
      });
    if (r.code !== 0 || complaint)
      throw new WardError(
        'WARD_ERR_VIDEO_DECODE',
        `The video could not be decoded: ${complaint || `ffmpeg exited with status ${r.code}`}`,
        {},
      );
    throw new WardError('WARD_ERR_VIDEO_EMPTY', 'The video stream holds no frame', {});
  }
  const damaged =
    truncated === undefined && (r.code !== 0 || complaint)
      ? complaint || `ffmpeg exited with status ${r.code}`
      : undefined;
  return {
    frames,
    format,
    codec: info.codec,
    width: info.width,
    height: info.height,
    hashedWidth,
    hashedHeight,
    fps: info.fps,
    frameRate: info.frameRate,
    step,
    ...(info.durationSeconds !== undefined ? { durationSeconds: info.durationSeconds } : {}),
    ...(truncated ? { truncated } : {}),
    ...(damaged ? { damaged } : {}),
  };
}

function pixelLimit(width: number, height: number, maxPixels: number): WardError {
  return new WardError(
    'WARD_ERR_LIMIT_PIXELS',
    `Video frames of ${width}x${height} exceed the limit of ${maxPixels} pixels`,
    { limit: maxPixels, actual: width * height },
  );
}

function checkInfo(info: VideoInfo, maxPixels: number): void {
  if (!info.hasPackets) throw new WardError('WARD_ERR_VIDEO_EMPTY', 'The video stream holds no frame', {});
  if (info.width * info.height > maxPixels) throw pixelLimit(info.width, info.height, maxPixels);
  if (!(info.fps >= MIN_FPS && info.fps <= MAX_FPS)) {
    throw new WardError(
      'WARD_ERR_VIDEO_FRAME_RATE',
      info.fps > 0
        ? `The frame rate ${info.frameRate} (${info.fps.toPrecision(4)} fps) is implausible: frame times would be meaningless`
        : 'The video stream has no frame rate',
      { actual: info.frameRate },
    );
  }
}

/**
 * @module video/probe
 * What a video is, from ffprobe: its first video stream (as the reference picks it), size, pixel
 * format and frame rate. The frame rate is the stream's average frame rate, or its `r_frame_rate`
 * when the average is unknown, exactly as the reference reads them.
 */
import { WardError } from '../errors.js';
import { ffprobeBinary, runTool, summariseStderr } from './ffmpeg.js';
import { DEMUXER, type VideoFormat } from './sniff.js';

/** Where the video's bytes come from: a file ffmpeg opens itself, or bytes piped to its stdin. */
export type VideoSource = { path: string; pieces?: undefined } | { path?: undefined; pieces: readonly Uint8Array[] };

export interface VideoInfo {
  /** Index of the stream in the container. */
  streamIndex: number;
  codec: string;
  width: number;
  height: number;
  /** The decoder's pixel format (yuv420p, yuvj420p, rgb24...). */
  pixelFormat: string;
  /** Frames per second: avg_frame_rate, or r_frame_rate when that is 0/0. */
  fps: number;
  /** The rational it came from, e.g. "30000/1001". */
  frameRate: string;
  /** Duration of the stream (or the container), when the container says. */
  durationSeconds?: number;
  /** Whether the stream has a first packet (false: a zero-length stream). */
  hasPackets: boolean;
}

export interface ProbeOptions {
  format: VideoFormat;
  deadline?: number;
  signal?: AbortSignal;
}

/** ffmpeg's input arguments: the demuxer forced to the sniffed container, only file and pipe protocols. */
export function inputArgs(source: VideoSource, format: VideoFormat): string[] {
  // `file:` keeps a name such as "-x" or "http://..." from being read as an option or a URL.
  const url = source.path !== undefined ? `file:${source.path}` : 'pipe:0';
  return ['-protocol_whitelist', 'file,pipe', '-f', DEMUXER[format], '-i', url];
}

function rational(text: unknown): number {
  if (typeof text !== 'string') return 0;
  const m = /^(-?\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return 0;
  const num = Number(m[1]);
  const den = Number(m[2]);
  return num === 0 || den === 0 ? 0 : num / den;
}

function positive(text: unknown): number | undefined {
  const n = typeof text === 'string' || typeof text === 'number' ? Number(text) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Reads the first video stream's facts.
 * @throws WardError WARD_ERR_VIDEO_NO_STREAM (audio only, no video stream), WARD_ERR_VIDEO_DECODE
 *   (the container does not parse), WARD_ERR_VIDEO_TIMEOUT, WARD_ERR_DEPENDENCY_MISSING
 */
export async function probeVideo(source: VideoSource, options: ProbeOptions): Promise<VideoInfo> {
  let out = '';
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    ...inputArgs(source, options.format),
    '-select_streams',
    'v',
    // Read the first packet only: enough to tell a zero-length stream, cheap on any file.
    '-count_packets',
    '-read_intervals',
    '%+#1',
    '-show_entries',
    'stream=index,codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,duration,nb_read_packets:format=duration',
    '-of',
    'json',
  ];
  const r = await runTool(ffprobeBinary(), args, {
    input: source.pieces,
    deadline: options.deadline,
    signal: options.signal,
    onStdout: (chunk) => {
      out += chunk.toString('utf8');
      // A JSON answer of more than 1 MiB is not ffprobe describing one file.
      return out.length > 1 << 20;
    },
  });
  if (r.timedOut) {
    throw new WardError('WARD_ERR_VIDEO_TIMEOUT', 'Reading the video header took longer than the time limit', {});
  }
  let parsed: { streams?: Record<string, unknown>[]; format?: Record<string, unknown> } | undefined;
  try {
    parsed = JSON.parse(out);
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || !parsed) {
    const why = summariseStderr(r.stderr, source.path) || `ffprobe exited with status ${r.code}`;
    throw new WardError('WARD_ERR_VIDEO_DECODE', `The video container could not be read: ${why}`, {});
  }
  const stream = parsed.streams?.[0];
  if (!stream) throw new WardError('WARD_ERR_VIDEO_NO_STREAM', 'The file has no video stream (audio only?)', {});
  const width = Number(stream.width);
  const height = Number(stream.height);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new WardError('WARD_ERR_VIDEO_DECODE', 'The video stream has no frame size (width or height is 0)', {});
  }
  const avg = rational(stream.avg_frame_rate);
  const fps = avg > 0 ? avg : rational(stream.r_frame_rate);
  const durationSeconds = positive(stream.duration) ?? positive(parsed.format?.duration);
  return {
    streamIndex: Number(stream.index),
    codec: typeof stream.codec_name === 'string' ? stream.codec_name : 'unknown',
    width,
    height,
    pixelFormat: typeof stream.pix_fmt === 'string' ? stream.pix_fmt : 'unknown',
    fps,
    frameRate: String(avg > 0 ? stream.avg_frame_rate : stream.r_frame_rate),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    hasPackets: Number(stream.nb_read_packets) > 0,
  };
}

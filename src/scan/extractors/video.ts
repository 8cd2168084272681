/**
 * @module scan/extractors/video
 * Videos: vPDQ with ffmpeg (video/hash). A file on disk is read by ffmpeg itself, whatever its
 * size (`limits.maxFileBytes` does not apply), while its digests are computed from a parallel
 * read; an archive entry's bytes are piped to ffmpeg. The signal is `vpdq` in Ward's compact form
 * (`pdqhex:quality:seconds` per frame); `media` says the size, frame rate, duration and how many
 * frames were hashed. A damaged video keeps the frames decoded before the damage, with an error;
 * a video cut short by `limits.video` gets a `video.truncated` finding.
 */
import { WardError } from '../../errors.js';
import { fileDigests } from '../../signals/image.js';
import { hashVideo, type VideoHashOptions, type VideoHashResult } from '../../video/hash.js';
import { sniffVideo, type VideoFormat } from '../../video/sniff.js';
import { toCompact } from '../../video/vpdq.js';
import type { ExtractOptions, ExtractOutput, Extractor, Sniffer } from '../plugins.js';
import type { Finding } from '../types.js';

export const videoSniffer: Sniffer = {
  contentType: 'video',
  sniff: (head) => sniffVideo(head),
};

function hashOptions(options: ExtractOptions, maxPixels: number, format: string | undefined): VideoHashOptions {
  const v = options.video ?? {};
  return {
    ...(v.secondsPerHash !== undefined ? { secondsPerHash: v.secondsPerHash } : {}),
    ...(v.downsample ? { downsample: v.downsample } : {}),
    ...(v.maxFrames !== undefined ? { maxFrames: v.maxFrames } : {}),
    ...(v.maxSeconds !== undefined ? { maxSeconds: v.maxSeconds } : {}),
    maxPixels,
    ...(format ? { format: format as VideoFormat } : {}),
  };
}

function output(r: VideoHashResult): ExtractOutput {
  const findings: Finding[] = [];
  if (r.truncated) {
    findings.push({
      type: 'video.truncated',
      severity: 'info',
      message:
        r.truncated === 'maxFrames'
          ? `Only the first ${r.frames.length} sampled frames were hashed (limits.video.maxFrames)`
          : `Hashing stopped at the time limit after ${r.frames.length} frames (limits.video.maxSeconds)`,
      source: 'vpdq',
      data: { reason: r.truncated, frames: r.frames.length },
    });
  }
  return {
    signals: { vpdq: toCompact(r.frames) },
    media: {
      width: r.width,
      height: r.height,
      fps: r.fps,
      frames: r.frames.length,
      ...(r.durationSeconds !== undefined ? { durationSeconds: r.durationSeconds } : {}),
    },
    ...(findings.length > 0 ? { findings } : {}),
    // Damaged: an error, and the frames decoded before the damage still match.
    ...(r.damaged
      ? {
          error: {
            code: 'WARD_ERR_VIDEO_DECODE',
            message: `The video is truncated or corrupt (${r.frames.length} frames hashed): ${r.damaged}`,
          },
        }
      : {}),
  };
}

export const vpdqExtractor: Extractor = {
  name: 'vpdq',
  contentTypes: ['video'],
  async extract({ bytes, format, limits, options }) {
    return output(await hashVideo(bytes, hashOptions(options, limits.maxPixels, format)));
  },
  async extractFile({ path, format, limits, options, digests: wanted }) {
    // The digests read the file while ffmpeg decodes it (the page cache serves the second reader).
    const sums = wanted.length > 0 ? fileDigests(path) : undefined;
    sums?.catch(() => {});
    let out: ExtractOutput;
    try {
      out = output(await hashVideo(path, hashOptions(options, limits.maxPixels, format)));
    } catch (cause) {
      // The digests still count (an exact-hash bank catches a broken copy of a listed file).
      const d = await sums?.catch(() => undefined);
      if (!d || !WardError.is(cause)) throw cause;
      return { signals: d, error: { code: cause.code, message: cause.message } };
    }
    const d = await sums;
    return d ? { ...out, signals: { ...d, ...out.signals } } : out;
  },
};

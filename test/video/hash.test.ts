/**
 * vPDQ hashing on videos the tests generate with ffmpeg: sampling and frame times, containers,
 * files and in-memory bytes, the reference's conversion choices, and bad input (truncated,
 * corrupt, audio only, zero-length, absurd frame rates, hour-long, variable frame rate) with
 * bounded time and no ffmpeg process left behind.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pdqDistance } from '../../src/signals/pdq/distance.js';
import { moovFirst } from '../../src/video/faststart.js';
import { runningChildren } from '../../src/video/ffmpeg.js';
import { hashVideo, type VideoHashResult } from '../../src/video/hash.js';
import { sniffVideo } from '../../src/video/sniff.js';
import { formatSeconds } from '../../src/video/vpdq.js';
import { tempDir } from '../helpers/cli.js';
import { ffmpeg, ffmpegProcesses, hasFfmpeg, makeVideo, NO_FFMPEG, zombieChildren } from './videos.js';

let dir = '';
const file = (name: string): string => join(dir, name);

/** Top-level MP4 boxes, in order. */
function boxes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    out.push(Buffer.from(bytes.subarray(at + 4, at + 8)).toString('latin1'));
    at += view.getUint32(at);
  }
  return out;
}

function maxDistance(a: VideoHashResult, b: VideoHashResult): number {
  return Math.max(...a.frames.map((f, i) => pdqDistance(f.pdq, (b.frames[i] as { pdq: string }).pdq)));
}

describe.skipIf(!hasFfmpeg)(`vPDQ hashing (${hasFfmpeg ? 'ffmpeg' : NO_FFMPEG})`, () => {
  beforeAll(() => {
    dir = tempDir('ward-video-');
    makeVideo(file('30fps.mp4'), { rate: 30, duration: 5 });
    makeVideo(file('ntsc.mp4'), { rate: '30000/1001', duration: 3 });
    // An MP4 as ffmpeg writes it by default: its index (moov) after the media data (mdat).
    makeVideo(file('big-moov-end.mp4'), {
      size: '640x360',
      duration: 10,
      output: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '-faststart'],
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    // Whatever happened, every ffmpeg child has exited and been reaped.
    expect(runningChildren()).toBe(0);
    expect(ffmpegProcesses(dir)).toEqual([]);
    expect(zombieChildren()).toEqual([]);
  });

  it('hashes frame n iff n % max(1, trunc(S x fps)) == 0, at n / fps seconds', async () => {
    const every = await hashVideo(file('30fps.mp4'), { secondsPerHash: 0 });
    expect(every.frames).toHaveLength(150);
    expect(every.frames.map((f) => f.frame)).toEqual([...Array(150).keys()]);
    expect(every.frames[1]?.seconds).toBe(Math.fround(1 / Math.fround(30)));
    expect(formatSeconds(every.frames[149]?.seconds as number)).toBe('4.967');
    expect(every).toMatchObject({ fps: 30, frameRate: '30/1', step: 1, width: 160, height: 120, codec: 'h264' });
    for (const [s, step] of [
      [1, 30],
      [0.5, 15],
      [0.01, 1],
      [2.5, 75],
    ] as const) {
      const v = await hashVideo(file('30fps.mp4'), { secondsPerHash: s });
      expect(v.step).toBe(step);
      expect(v.frames.map((f) => f.frame)).toEqual(
        every.frames.filter((f) => f.frame % step === 0).map((f) => f.frame),
      );
      // ffmpeg selects the same frames the full decode numbers: identical hashes.
      expect(v.frames).toEqual(every.frames.filter((f) => f.frame % step === 0));
    }
    // Default: one frame per second.
    expect((await hashVideo(file('30fps.mp4'))).frames.map((f) => formatSeconds(f.seconds))).toEqual([
      '0.000',
      '1.000',
      '2.000',
      '3.000',
      '4.000',
    ]);
  });

  it('uses the average frame rate as is: 29.97 fps gives a step of 29 and times of n / 29.97', async () => {
    const v = await hashVideo(file('ntsc.mp4'));
    expect(v.frameRate).toBe('30000/1001');
    expect(v.step).toBe(29);
    expect(v.frames.map((f) => f.frame)).toEqual([0, 29, 58, 87]);
    expect(v.frames.map((f) => formatSeconds(f.seconds))).toEqual(['0.000', '0.968', '1.935', '2.903']);
  });

  it('downsamples to NxN on request', async () => {
    const native = await hashVideo(file('30fps.mp4'));
    const small = await hashVideo(file('30fps.mp4'), { downsample: 64 });
    expect(small).toMatchObject({ hashedWidth: 64, hashedHeight: 64, width: 160, height: 120 });
    expect(small.frames).toHaveLength(native.frames.length);
    expect(small.frames.map((f) => f.pdq)).not.toEqual(native.frames.map((f) => f.pdq));
    const lanczos = await hashVideo(file('30fps.mp4'), { downsample: 64, scaler: 'lanczos' });
    expect(lanczos.frames.map((f) => f.pdq)).not.toEqual(small.frames.map((f) => f.pdq));
    expect(maxDistance(lanczos, small)).toBeLessThanOrEqual(40);
  });

  it('reads the same frames from bytes in memory, an MP4 with its index at the end included', async () => {
    const path = file('big-moov-end.mp4');
    const bytes = readFileSync(path);
    expect(boxes(bytes).indexOf('moov')).toBeGreaterThan(boxes(bytes).indexOf('mdat'));
    expect(bytes.length).toBeGreaterThan(1 << 20); // more than ffmpeg's pipe probe buffer
    const reordered = Buffer.concat(moovFirst(bytes));
    expect(reordered.length).toBe(bytes.length);
    expect(readFileSync(path).equals(bytes)).toBe(true); // the caller's bytes are left alone
    expect(boxes(reordered).indexOf('moov')).toBeLessThan(boxes(reordered).indexOf('mdat'));
    const fromFile = await hashVideo(path, { secondsPerHash: 0.5 });
    const fromBytes = await hashVideo(bytes, { secondsPerHash: 0.5 });
    expect(fromBytes).toEqual(fromFile);
    // The reordered file is a valid MP4 with the same frames.
    writeFileSync(file('reordered.mp4'), reordered);
    expect((await hashVideo(file('reordered.mp4'), { secondsPerHash: 0.5 })).frames).toEqual(fromFile.frames);
  });

  it('reads MP4, MOV, WebM, MKV, AVI, FLV, MPEG-TS and ASF, from files and bytes alike', async () => {
    const source = await hashVideo(file('30fps.mp4'));
    const outputs: Record<string, string[]> = {
      'qt.mov': ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      'vp9.webm': ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'],
      'ffv1.mkv': ['-c:v', 'ffv1'],
      'mjpeg.avi': ['-c:v', 'mjpeg', '-q:v', '2'],
      'flv1.flv': ['-c:v', 'flv1', '-q:v', '2'],
      'mpeg2.ts': ['-c:v', 'mpeg2video', '-q:v', '2'],
      'wmv2.asf': ['-c:v', 'wmv2', '-q:v', '2'],
    };
    for (const [name, output] of Object.entries(outputs)) {
      const path = makeVideo(file(name), { rate: 30, duration: 5, output });
      const bytes = readFileSync(path);
      const format = sniffVideo(bytes.subarray(0, 4096));
      expect(format, name).toBeDefined();
      const v = await hashVideo(path);
      expect(
        v.frames.map((f) => f.frame),
        name,
      ).toEqual([0, 30, 60, 90, 120]);
      // Lossy codecs of the same pictures: near-duplicates.
      expect(maxDistance(v, source), name).toBeLessThanOrEqual(31);
      expect((await hashVideo(bytes)).frames, name).toEqual(v.frames);
    }
  });

  it('converts as the reference: no display rotation, BT.601 whatever the stream is tagged with', async () => {
    const plain = await hashVideo(file('30fps.mp4'));
    ffmpeg(['-i', file('30fps.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file('rotated.mp4')]);
    const rotated = await hashVideo(file('rotated.mp4'));
    expect(rotated.frames).toEqual(plain.frames);
    expect([rotated.width, rotated.height]).toEqual([160, 120]);
    // The same bitstream tagged BT.709: the reference's libswscale still uses BT.601.
    ffmpeg([
      ...['-i', file('30fps.mp4'), '-c', 'copy'],
      ...['-bsf:v', 'h264_metadata=matrix_coefficients=1:colour_primaries=1:transfer_characteristics=1'],
      file('bt709.mp4'),
    ]);
    expect((await hashVideo(file('bt709.mp4'))).frames).toEqual(plain.frames);
    // Full-range JPEG frames, 4:4:4, grey and RGB sources all hash.
    for (const [name, output] of [
      ['full.avi', ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '2']],
      ['444.mkv', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', '-qp', '0']],
      ['grey.mkv', ['-c:v', 'ffv1', '-pix_fmt', 'gray']],
      ['rgb.mkv', ['-c:v', 'ffv1', '-pix_fmt', 'bgr0']],
    ] as const) {
      const v = await hashVideo(makeVideo(file(name), { rate: 30, duration: 5, output: [...output] }));
      expect(v.frames, name).toHaveLength(5);
      expect(maxDistance(v, plain), name).toBeLessThanOrEqual(name === 'grey.mkv' ? 64 : 31);
    }
  });

  it('keeps the frames before the damage of a truncated video, and says so', async () => {
    const whole = readFileSync(
      makeVideo(file('faststart.mp4'), {
        size: '320x240',
        duration: 10,
        output: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
      }),
    );
    writeFileSync(file('truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
    const v = await hashVideo(file('truncated.mp4'));
    expect(v.frames.length).toBeGreaterThan(0);
    expect(v.frames.length).toBeLessThan(10);
    expect(v.damaged).toEqual(expect.any(String));
    expect(v.damaged).not.toContain(dir);
    const intact = await hashVideo(file('faststart.mp4'));
    expect(v.frames).toEqual(intact.frames.slice(0, v.frames.length));
    expect(intact.damaged).toBeUndefined();
  });

  it('gives a clear error for what cannot be hashed', async () => {
    const code = async (input: string | Uint8Array, options = {}): Promise<string> => {
      try {
        await hashVideo(input, options);
        return 'no error';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    // The index of a file cut before its end: nothing to read.
    const moovEnd = readFileSync(file('big-moov-end.mp4'));
    writeFileSync(file('cut.mp4'), moovEnd.subarray(0, moovEnd.length >> 1));
    expect(await code(file('cut.mp4'))).toBe('WARD_ERR_VIDEO_DECODE');
    // An MP4 header followed by noise.
    const noise = Buffer.alloc(20_000);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3)) & 255;
    const garbage = Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), noise]);
    writeFileSync(file('garbage.mp4'), garbage);
    expect(await code(file('garbage.mp4'))).toBe('WARD_ERR_VIDEO_DECODE');
    expect(await code(garbage)).toBe('WARD_ERR_VIDEO_DECODE');
    // Audio only.
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', file('audio.mp4')]);
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'libopus', file('audio.mkv')]);
    expect(await code(file('audio.mp4'))).toBe('WARD_ERR_VIDEO_NO_STREAM');
    expect(await code(readFileSync(file('audio.mkv')))).toBe('WARD_ERR_VIDEO_NO_STREAM');
    // A zero-length stream: a fragmented MP4 cut after its (empty) index.
    makeVideo(file('frag.mp4'), {
      output: ['-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', 'frag_keyframe+empty_moov'],
    });
    const frag = readFileSync(file('frag.mp4'));
    const moof = frag.indexOf(Buffer.from('moof')) - 4;
    writeFileSync(file('zero.mp4'), frag.subarray(0, moof));
    expect(await code(file('zero.mp4'))).toBe('WARD_ERR_VIDEO_EMPTY');
    // Absurd frame rates: 5000 fps, and 4 frames spread over 6 hours.
    makeVideo(file('fast.mp4'), { source: 'testsrc', size: '64x64', rate: 5000, duration: 0.02 });
    expect(await code(file('fast.mp4'))).toBe('WARD_ERR_VIDEO_FRAME_RATE');
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=1:duration=4', '-vf', 'setpts=N*7200/TB'],
      ...['-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', file('slow.mp4')],
    ]);
    expect(await code(file('slow.mp4'))).toBe('WARD_ERR_VIDEO_FRAME_RATE');
    // Not a video; empty; missing; frames over the pixel limit.
    expect(await code(Buffer.from('just text'))).toBe('WARD_ERR_VIDEO_UNSUPPORTED');
    expect(await code(new Uint8Array(0))).toBe('WARD_ERR_INPUT_EMPTY');
    expect(await code(file('missing.mp4'))).toBe('WARD_ERR_INPUT_NOT_FOUND');
    expect(await code(file('30fps.mp4'), { maxPixels: 160 * 119 })).toBe('WARD_ERR_LIMIT_PIXELS');
    expect(await code(file('30fps.mp4'), { secondsPerHash: -1 })).toBe('WARD_ERR_INPUT_TYPE');
  });

  it('hashes a variable-frame-rate video frame by frame, timed by the average rate as the reference', async () => {
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30:duration=4'],
      ...['-vf', "setpts='PTS+if(gte(N,60),2/TB,0)'", '-fps_mode', 'vfr'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', file('vfr.mkv')],
    ]);
    const v = await hashVideo(file('vfr.mkv'), { secondsPerHash: 0 });
    expect(v.frames).toHaveLength(120);
    expect(v.frames.map((f) => f.frame)).toEqual([...Array(120).keys()]);
    expect(v.frames[119]?.seconds).toBe(Math.fround(Math.fround(119) / Math.fround(v.fps)));
  });

  it('bounds an hour-long video by frames and by time, and kills ffmpeg when time is up', async () => {
    makeVideo(file('hour.mp4'), { source: 'testsrc', size: '64x64', rate: 2, duration: 3600 });
    const capped = await hashVideo(file('hour.mp4'), { maxFrames: 100 });
    expect(capped.frames).toHaveLength(100);
    expect(capped.truncated).toBe('maxFrames');
    expect(capped.damaged).toBeUndefined();
    // Exactly the cap: not truncated (the default cap, 3600, is an hour at one frame a second).
    const all = await hashVideo(file('hour.mp4'));
    expect(all.frames).toHaveLength(3600);
    expect(all.truncated).toBeUndefined();
    expect(formatSeconds(all.frames[3599]?.seconds as number)).toBe('3599.000');
    // Every frame (7200) within half a second cannot finish: ffmpeg is killed, frames so far kept.
    const started = Date.now();
    const timed = await hashVideo(file('hour.mp4'), { secondsPerHash: 0, maxFrames: 10_000, maxSeconds: 0.5 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(timed.truncated).toBe('maxSeconds');
    expect(timed.frames.length).toBeLessThan(7200);
  });

  it('stops and reaps ffmpeg on abort', async () => {
    const controller = new AbortController();
    const run = hashVideo(file('hour.mp4'), { secondsPerHash: 0, maxFrames: 10_000 });
    const aborted = hashVideo(readFileSync(file('hour.mp4')), { secondsPerHash: 0, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 200);
    await expect(aborted).rejects.toThrow('stop');
    expect((await run).frames).toHaveLength(7200);
  });

  it('says ffmpeg is missing when it is', async () => {
    const saved = [process.env.WARD_FFMPEG, process.env.WARD_FFPROBE];
    process.env.WARD_FFMPEG = join(dir, 'no-ffmpeg');
    process.env.WARD_FFPROBE = join(dir, 'no-ffprobe');
    try {
      await expect(hashVideo(file('30fps.mp4'))).rejects.toMatchObject({
        code: 'WARD_ERR_DEPENDENCY_MISSING',
        message: expect.stringContaining('apt-get install ffmpeg'),
      });
    } finally {
      process.env.WARD_FFMPEG = saved[0];
      process.env.WARD_FFPROBE = saved[1];
      if (saved[0] === undefined) delete process.env.WARD_FFMPEG;
      if (saved[1] === undefined) delete process.env.WARD_FFPROBE;
    }
  });
});

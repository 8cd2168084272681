// vPDQ hashing speed (issue 9): a generated 60-second 720p video hashed at one frame per second,
// against ffmpeg decoding the same file and selecting the same frames, in the same run.
//
//   npm run bench:video            (builds first)
//   node bench/video.js            (after `npx tsc -p tsconfig.build.json`)
//
// Environment: BENCH_ROUNDS (default 5), BENCH_VIDEO (another file instead of the generated one).
// The video is generated once into bench/.data/video/ (git-ignored): ffmpeg's testsrc2 pattern,
// 1280x720, 30 fps, 60 s, H.264 (libx264 veryfast, yuv420p).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashVideo } from '../dist/video/hash.js';
import { hashVideoFile } from '../dist/video/record.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (${code}): ${err}`))));
  });
}

async function video() {
  if (process.env.BENCH_VIDEO) return process.env.BENCH_VIDEO;
  const dir = join(root, 'bench', '.data', 'video');
  const file = join(dir, 'testsrc2-720p30-60s.mp4');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    console.log('generating', file, '(once; about a minute)');
    const tmp = `${file}.tmp.mp4`;
    await run('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', tmp],
    ]);
    await run('mv', [tmp, file]);
  }
  return file;
}

/** CPU seconds of this process and of its reaped children (Linux /proc; 0 elsewhere). */
function cpu() {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // Fields 16 and 17 of stat (cutime, cstime), counted from field 3 here; clock ticks of 10 ms.
    children = (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {}
  return (own.user + own.system) / 1000 + children;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (ms) => (ms / 1000).toFixed(2);

const file = await video();
// The baseline: ffmpeg decodes every frame and selects one a second (30 fps), converting nothing.
const baselineArgs = [
  ...['-hide_banner', '-nostats', '-v', 'error', '-i', file],
  ...['-map', '0:v:0', '-vf', 'select=not(mod(n\\,30))', '-fps_mode', 'passthrough', '-f', 'null', '-'],
];
console.log(`video: ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB)`);
console.log(`baseline: ffmpeg ${baselineArgs.join(' ')}`);
console.log('ward: hashVideo(file, { secondsPerHash: 1 }); ward hash: the same plus MD5/SHA-1/SHA-256');

// Warm-up (page cache, WebAssembly compile, ffmpeg feature check).
await hashVideo(file, { secondsPerHash: 1 });
const t = { baseline: [], vpdq: [], record: [] };
const c = { baseline: [], vpdq: [] };
let reference;
for (let r = 0; r < rounds; r++) {
  let s = performance.now();
  let c0 = cpu();
  await run('ffmpeg', baselineArgs);
  t.baseline.push(performance.now() - s);
  c.baseline.push(cpu() - c0);
  s = performance.now();
  c0 = cpu();
  const v = await hashVideo(file, { secondsPerHash: 1 });
  t.vpdq.push(performance.now() - s);
  c.vpdq.push(cpu() - c0);
  s = performance.now();
  const rec = await hashVideoFile(file, 'mp4', { secondsPerHash: 1 });
  t.record.push(performance.now() - s);
  const frames = JSON.stringify(v.frames);
  if (v.frames.length !== 60) throw new Error(`expected 60 frames, got ${v.frames.length}`);
  if (JSON.stringify(rec.vpdq) !== frames || (reference !== undefined && frames !== reference))
    throw new Error('hashes differ between runs');
  reference = frames;
  console.log(
    `round ${r + 1}: baseline ${seconds(t.baseline[r])} s (CPU ${seconds(c.baseline[r])} s), vPDQ ${seconds(t.vpdq[r])} s (CPU ${seconds(c.vpdq[r])} s), with digests ${seconds(t.record[r])} s`,
  );
}
const ratios = t.vpdq.map((v, i) => v / t.baseline[i]);
console.log('');
console.log('| configuration | seconds (median) | per round |');
console.log('| --- | ---: | --- |');
console.log(
  `| baseline: ffmpeg decode, 1 frame/s selected | ${seconds(median(t.baseline))} | ${t.baseline.map(seconds).join(', ')} |`,
);
console.log(`| **vPDQ, 1 frame/s (hashVideo)** | **${seconds(median(t.vpdq))}** | ${t.vpdq.map(seconds).join(', ')} |`);
console.log(
  `| vPDQ + MD5/SHA-1/SHA-256 (ward hash) | ${seconds(median(t.record))} | ${t.record.map(seconds).join(', ')} |`,
);
console.log('');
console.log(
  `vPDQ / baseline, same round: ${ratios.map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}x)`,
);
const cpuRatios = c.vpdq.map((v, i) => v / c.baseline[i]);
console.log(
  `CPU seconds: baseline ${seconds(median(c.baseline))}, vPDQ ${seconds(median(c.vpdq))} (ffmpeg, ffprobe and Node together; ratio ${median(cpuRatios).toFixed(2)}x)`,
);
console.log('60 frames, identical in every round.');

// The vPDQ index at bank scale: BENCH_VPDQ_VIDEOS videos of 60 random frames (default 100,000;
// 0 skips), queried with near-duplicates (every frame 12 bits away) and with unrelated videos.
const videos = Number(process.env.BENCH_VPDQ_VIDEOS ?? 100_000);
if (videos > 0) {
  const { VpdqIndex, matchVpdq } = await import('../dist/video/match.js');
  const { randomBytes } = await import('node:crypto');
  const FRAMES = 60;
  const pool = randomBytes(videos * FRAMES * 32).toString('hex');
  const frameAt = (v, f) => ({ pdq: pool.slice((v * FRAMES + f) * 64, (v * FRAMES + f + 1) * 64), quality: 100 });
  const bank = function* () {
    for (let v = 0; v < videos; v++) yield [v + 1, Array.from({ length: FRAMES }, (_, f) => frameAt(v, f))];
  };
  let s = performance.now();
  const index = VpdqIndex.build(bank());
  const buildMs = performance.now() - s;
  const near = (v) =>
    Array.from({ length: FRAMES }, (_, f) => {
      const b = Buffer.from(frameAt(v, f).pdq, 'hex');
      for (let i = 0; i < 12; i++) b[(i * 5) % 32] ^= 1 << (i % 8);
      return { pdq: b.toString('hex'), quality: 100 };
    });
  const queries = 200;
  const targets = Array.from({ length: queries }, (_, i) => (i * 7919) % videos);
  const nearQueries = targets.map(near);
  const unrelated = Array.from({ length: queries }, () =>
    Array.from({ length: FRAMES }, () => ({ pdq: randomBytes(32).toString('hex'), quality: 100 })),
  );
  index.query(nearQueries[0]); // warm-up
  const times = { near: [], unrelated: [] };
  for (let i = 0; i < queries; i++) {
    s = performance.now();
    const found = index.query(nearQueries[i]);
    times.near.push(performance.now() - s);
    if (found.length !== 1 || found[0].id !== targets[i] + 1 || found[0].queryMatchPercent !== 100)
      throw new Error(`query ${i}: expected video ${targets[i] + 1}, got ${JSON.stringify(found)}`);
    if (i < 5) {
      const brute = matchVpdq(
        nearQueries[i],
        Array.from({ length: FRAMES }, (_, f) => frameAt(targets[i], f)),
      );
      if (brute.queryMatchPercent !== found[0].queryMatchPercent) throw new Error('index and brute force differ');
    }
    s = performance.now();
    if (index.query(unrelated[i]).length !== 0) throw new Error('an unrelated video matched');
    times.unrelated.push(performance.now() - s);
  }
  const ms = (xs) =>
    `median ${median(xs).toFixed(1)} ms, p95 ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)].toFixed(1)} ms`;
  console.log('');
  console.log(
    `vPDQ index: ${videos} videos x ${FRAMES} frames = ${index.frames} rows, built in ${(buildMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `  ${queries} near-duplicate queries of ${FRAMES} frames: ${ms(times.near)} (each found its video, 100%)`,
  );
  console.log(`  ${queries} unrelated queries: ${ms(times.unrelated)} (nothing found)`);
}

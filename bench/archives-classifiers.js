// Benchmark for issue 21 (7z/RAR archives, the opt-in nsfw classifier). Run with
// `npm run build && node bench/archives-classifiers.js` (short: about a minute on 2 cores).
// Measures in the same run, interleaved over BENCH_ROUNDS rounds:
//   archives: reading the same entries (synthetic JPEG scenes) from a stored zip (the baseline,
//     yauzl) and from solid 7z archives, stored and LZMA2 (7-Zip in WebAssembly), with readArchive;
//   classifier: ward scan of the same images (jobs 1) without classifiers (baseline) and with
//     `classifiers: [nsfw]` (MobileNetV2Mid), `[nsfw:MobileNetV2]` and `[age]` (face-api); the model load is timed
//     apart (first image of a scan), the per-image figure is the difference over the baseline.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storedZip } from '../dist/demo/archives.js';
import { sceneImage } from '../dist/demo/images.js';
import { Matcher } from '../dist/match/matcher.js';
import { readArchive } from '../dist/media/archive.js';
import { resolveScanConfig } from '../dist/scan/config.js';
import { scan } from '../dist/scan/pipeline.js';
import { SqliteStore } from '../dist/store/sqlite.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 40);
const dir = join(tmpdir(), `ward-bench-21-${process.pid}`);
mkdirSync(join(dir, 'images'), { recursive: true });

const SevenZip = (await import('7z-wasm')).default;
async function sevenZipOf(files, method) {
  const sz = await SevenZip({ print: () => {}, printErr: () => {} });
  sz.FS.mkdir('/src');
  sz.FS.chdir('/src');
  for (const f of files) sz.FS.writeFile(`/src/${f.name}`, f.data);
  const args = ['a', '-t7z', '-bd', '-ms=on', `-m0=${method}`, '/out.7z', ...files.map((f) => f.name)];
  if (sz.callMain(args) !== 0) throw new Error('7z');
  return Buffer.from(sz.FS.readFile('/out.7z'));
}

const files = [];
for (let i = 0; i < IMAGES; i++) {
  const data = await sceneImage(100 + i, 'jpeg', 640, 480);
  files.push({ name: `img${i}.jpg`, data });
  writeFileSync(join(dir, 'images', `img${i}.jpg`), data);
}
const zip = storedZip(files.map((f) => ({ name: f.name, bytes: f.data })));
const sevenCopy = await sevenZipOf(files, 'Copy');
const seven = await sevenZipOf(files, 'LZMA2');
const totalBytes = files.reduce((n, f) => n + f.data.length, 0);

async function readAll(bytes, format) {
  let n = 0;
  for await (const e of readArchive({ bytes }, format)) if ('bytes' in e) n += e.bytes.length;
  if (n !== totalBytes) throw new Error(`${format}: read ${n} of ${totalBytes} bytes`);
}

async function scanImages(classifiers) {
  const store = SqliteStore.open(':memory:');
  const config = resolveScanConfig({ version: 1, classifiers });
  const t0 = performance.now();
  let first;
  let n = 0;
  for await (const r of scan([join(dir, 'images')], { jobs: 1, matcher: Matcher.open(store), config })) {
    if (r.contentType !== 'image') continue;
    n++;
    first ??= performance.now() - t0;
  }
  store.close();
  return { ms: performance.now() - t0, first, n };
}

const timings = { zip: [], '7z-copy': [], '7z-lzma2': [], none: [], nsfw: [], 'nsfw:MobileNetV2': [], age: [] };
const load = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, format, bytes] of [
    ['zip', 'zip', zip],
    ['7z-copy', '7z', sevenCopy],
    ['7z-lzma2', '7z', seven],
  ]) {
    const t0 = performance.now();
    await readAll(bytes, format);
    timings[label].push(performance.now() - t0);
  }
  for (const c of ['none', 'nsfw', 'nsfw:MobileNetV2', 'age']) {
    const r = await scanImages(c === 'none' ? [] : [c]);
    timings[c].push(r.ms);
    if (round === 0) load[c] = r.first;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = totalBytes / 1e6;
console.log(
  `${IMAGES} JPEG scenes 640x480, ${mb.toFixed(1)} MB; stored zip ${zip.length} B, 7z Copy ${sevenCopy.length} B, 7z LZMA2 ${seven.length} B; ${ROUNDS} rounds, medians`,
);
for (const f of ['zip', '7z-copy', '7z-lzma2']) {
  const ms = median(timings[f]);
  console.log(`read ${f.padEnd(8)} ${ms.toFixed(1)} ms  ${(mb / (ms / 1000)).toFixed(1)} MB/s`);
}
const base = median(timings.none);
console.log(`scan, no classifier (baseline): ${base.toFixed(0)} ms, ${(base / IMAGES).toFixed(1)} ms/image`);
for (const c of ['nsfw', 'nsfw:MobileNetV2', 'age']) {
  const ms = median(timings[c]);
  // Rounds after the first reuse the loaded model (same thread): the per-image cost is steady state.
  const steady = timings[c].length > 1 ? median(timings[c].slice(1)) : ms;
  console.log(
    `scan with ${c}: ${ms.toFixed(0)} ms; steady ${((steady - base) / IMAGES).toFixed(1)} ms/image over the baseline; first image of the first scan after ${load[c].toFixed(0)} ms (model load)`,
  );
}
rmSync(dir, { recursive: true, force: true });

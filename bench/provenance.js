// Benchmark for provenance (issue 5). Run with `npm run bench:provenance`.
// 1. Metadata-only inspection (no pixel decode), single worker: the image fixtures of
//    ../shared/fixtures/{genmeta,c2pa} (A1111, ComfyUI, InvokeAI, NovelAI, SwarmUI... and C2PA
//    files, whose hard binding hashes the whole file) read from disk and inspected in turn, cycled
//    to BENCH_PROV_IMAGES (default 2000) inspections; when ../shared is absent, built PNGs with
//    infotext. Baselines in the same run: reading the files alone, and reading + SHA-256 (what the
//    scan computes for every item anyway).
// 2. The invisible-watermark decode of a 1024x1024 PNG (../shared/fixtures/watermarks/
//    original_wm_sdxl.png, else a generated one): sharp decode alone (baseline), decode + dwtDct
//    decode (what `ward inspect` pays per image for the watermark), and the dwtDct math alone.
// 3. What provenance adds to a scan: per 1024x768 JPEG of the hash benchmark's corpus
//    (bench/corpus.js), the PDQ extractor (decode + PDQ, the baseline) and then the provenance
//    extractor on the same bytes (metadata, stealth, watermark on the shared decode, screening).
// Rounds are interleaved; medians reported. Fails if a configuration's results differ.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULT_LIMITS } from '../dist/limits.js';
import { decodeImage } from '../dist/media/image.js';
import { inspectMetadata } from '../dist/provenance/inspect.js';
import { decodeSdWatermark } from '../dist/provenance/watermark.js';
import { pdqExtractor } from '../dist/scan/extractors/image.js';
import { provenanceExtractor } from '../dist/scan/extractors/provenance.js';
import { ensureCorpus } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const SHARED = join(here, '..', '..', 'shared', 'fixtures');
const COUNT = Number(process.env.BENCH_PROV_IMAGES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WM_RUNS = Number(process.env.BENCH_WM_RUNS ?? 20);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function corpus() {
  const files = [];
  for (const sub of ['genmeta', 'c2pa']) {
    const dir = join(SHARED, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (/\.(png|jpe?g|webp)$/i.test(f)) files.push(join(dir, f));
  }
  if (files.length > 0) return { files, source: `${files.length} fixtures of ../shared/fixtures/{genmeta,c2pa}` };
  // Fallback: PNGs with A1111 infotext, built in memory and written to bench/.data.
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { crc32 } = await import('node:zlib');
  const dir = join(here, '.data', 'provenance');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 50; i++) {
    const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: i, g: 100, b: 200 } } })
      .png()
      .toBuffer();
    const text = Buffer.from(
      `parameters\0a test ${i}\nNegative prompt: x\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: ${i}, Size: 512x512, Model hash: 0123456789, Model: m`,
      'latin1',
    );
    const td = Buffer.concat([Buffer.from('tEXt'), text]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(text.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    const file = join(dir, `gen-${i}.png`);
    writeFileSync(file, Buffer.concat([png.subarray(0, 33), len, td, crc, png.subarray(33)]));
    files.push(file);
  }
  return { files, source: '50 generated 512x512 PNGs with infotext (../shared absent)' };
}

async function timeLoop(paths, fn) {
  const t0 = performance.now();
  let sink = 0;
  for (const p of paths) sink += fn(await readFile(p));
  const s = (performance.now() - t0) / 1000;
  return { rate: paths.length / s, sink };
}

async function metadataBench() {
  const { files, source } = await corpus();
  const paths = Array.from({ length: COUNT }, (_, i) => files[i % files.length]);
  const totalMiB = paths.reduce((n, p) => n + readFileSync(p).length, 0) / 2 ** 20;
  const configs = {
    'baseline: read the file': () => 0,
    'baseline: read + SHA-256': (b) => createHash('sha256').update(b).digest()[0],
    'inspectMetadata (read + metadata, no pixel decode)': (b) => inspectMetadata(b).evidence.length,
  };
  // Warm-up (JIT, trust anchors, text decoders).
  for (const p of files) inspectMetadata(readFileSync(p));
  const rates = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
  const sinks = Object.fromEntries(Object.keys(configs).map((k) => [k, new Set()]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(configs)) {
      const { rate, sink } = await timeLoop(paths, fn);
      rates[name].push(rate);
      sinks[name].add(sink);
    }
  }
  for (const [name, s] of Object.entries(sinks))
    if (s.size !== 1) throw new Error(`${name}: results differ between rounds`);
  console.log(
    `\nMetadata-only inspection, single worker: ${COUNT} inspections of ${source} (${(totalMiB / COUNT).toFixed(2)} MiB per file on average), ${ROUNDS} rounds`,
  );
  console.log('| configuration | images/s (median) | per round |\n| --- | ---: | --- |');
  for (const [name, xs] of Object.entries(rates))
    console.log(`| ${name} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
  return median(rates['inspectMetadata (read + metadata, no pixel decode)']);
}

async function watermarkBench() {
  const fixture = join(SHARED, 'watermarks', 'original_wm_sdxl.png');
  let bytes;
  let source;
  if (existsSync(fixture)) {
    bytes = readFileSync(fixture);
    source = 'original_wm_sdxl.png (1024x1024 RGB PNG, 2.2 MB)';
  } else {
    const raw = Buffer.alloc(1024 * 1024 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
    bytes = await sharp(raw, { raw: { width: 1024, height: 1024, channels: 3 } })
      .png()
      .toBuffer();
    source = 'a generated 1024x1024 noise PNG';
  }
  const decodeMs = [];
  const totalMs = [];
  const mathMs = [];
  let result;
  for (let i = 0; i < WM_RUNS + 3; i++) {
    const t0 = performance.now();
    const img = await decodeImage(bytes, DEFAULT_LIMITS);
    const t1 = performance.now();
    const wm = decodeSdWatermark(img);
    const t2 = performance.now();
    const t3 = performance.now();
    await decodeImage(bytes, DEFAULT_LIMITS);
    const t4 = performance.now();
    if (i < 3) continue; // warm-up
    totalMs.push(t2 - t0);
    mathMs.push(t2 - t1);
    decodeMs.push(t4 - t3);
    const key = wm.scores.map((s) => `${s.name} ${s.matched}/${s.bits}`).join(', ');
    if (result !== undefined && result !== key) throw new Error('watermark results differ between runs');
    result = key;
  }
  console.log(`\nWatermark decode of ${source}, ${WM_RUNS} runs (after 3 warm-up runs)`);
  console.log('| configuration | ms (median) | min | max |\n| --- | ---: | ---: | ---: |');
  const row = (name, xs) =>
    console.log(
      `| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`,
    );
  row('baseline: sharp decode to RGB alone', decodeMs);
  row('decode + dwtDct watermark decode', totalMs);
  row('dwtDct watermark decode alone (YUV, Haar, 16,384 blocks, 3 messages)', mathMs);
  console.log(`bits matched: ${result}`);
  return median(totalMs);
}

async function scanCostBench() {
  const n = Number(process.env.BENCH_PROV_SCAN_IMAGES ?? 200);
  const paths = await ensureCorpus(join(here, '.data', 'corpus-1024x768'), n);
  // CPU time (user + system) as well as wall time: on a shared VM the wall time of a few ms swings.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t = { pdqWall: [], provWall: [], pdqCpu: 0, provCpu: 0 };
  for (let round = 0; round < 2; round++) {
    for (const p of paths) {
      const input = {
        bytes: new Uint8Array(readFileSync(p)),
        contentType: 'image',
        format: 'jpeg',
        name: p,
        limits: DEFAULT_LIMITS,
        options: {},
      };
      const c0 = cpu();
      const t0 = performance.now();
      await pdqExtractor.extract(input);
      const t1 = performance.now();
      const c1 = cpu();
      await provenanceExtractor.extract(input);
      const t2 = performance.now();
      const c2 = cpu();
      if (round === 1) {
        t.pdqWall.push(t1 - t0);
        t.provWall.push(t2 - t1);
        t.pdqCpu += c1 - c0;
        t.provCpu += c2 - c1;
      }
    }
  }
  console.log(`\nScan extractors per 1024x768 JPEG, single worker, ${n} images (second pass)`);
  console.log('| extractor | CPU ms per image (mean) | wall ms (median) |\n| --- | ---: | ---: |');
  console.log(`| baseline: pdq (decode + PDQ) | ${(t.pdqCpu / n).toFixed(2)} | ${median(t.pdqWall).toFixed(2)} |`);
  console.log(
    `| provenance (shared decode: metadata, stealth, watermark, screening) | ${(t.provCpu / n).toFixed(2)} | ${median(t.provWall).toFixed(2)} |`,
  );
}

const rate = await metadataBench();
const ms = await watermarkBench();
await scanCostBench();
console.log(
  `\nTargets: metadata-only >= 500 images/s: ${rate >= 500 ? 'met' : 'NOT met'} (${rate.toFixed(0)}/s); watermark decode of a 1024x1024 PNG <= 50 ms: ${ms <= 50 ? 'met' : 'NOT met'} (${ms.toFixed(1)} ms)`,
);

// Benchmark for `ward scan` (issue: the scanning pipeline). Run with `npm run bench:scan`.
// Generates 10,000 mixed images (JPEG, PNG and WebP, 320-1280 px wide, in folders of 1,000) into
// bench/.data/ (git-ignored) and a bank of 100,000 PDQ + 10,000 MD5 entries (with some corpus
// images planted), then measures in the same run, interleaved:
//   baseline: hashing alone (`hashFiles`, what `ward hash` runs) with --jobs 1 and --jobs N;
//   ward scan (`scan`: walk, sniff, digests + PDQ, bank match, policy, NDJSON written to a file)
//   with --jobs 1 and --jobs N.
// Reports the scan's scaling (jobs N / jobs 1) and its overhead over hashing alone.
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sceneSvg, seededRandom } from '../dist/demo/images.js';
import { Matcher } from '../dist/match/matcher.js';
import { DEFAULT_SCAN_CONFIG } from '../dist/scan/config.js';
import { hashFiles } from '../dist/scan/hash-files.js';
import { scan } from '../dist/scan/pipeline.js';
import { SqliteStore } from '../dist/store/sqlite.js';
import { SHARED_PHOTOS } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const COUNT = Number(process.env.BENCH_SCAN_IMAGES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DIR = join(here, '.data', `scan-mixed-${COUNT}`);
const cores = availableParallelism();

async function ensureMixedCorpus() {
  const marker = `${DIR}.complete`;
  if (existsSync(marker)) return;
  rmSync(DIR, { recursive: true, force: true });
  const photos = existsSync(SHARED_PHOTOS)
    ? readdirSync(SHARED_PHOTOS)
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .map((f) => join(SHARED_PHOTOS, f))
    : [];
  const metas = await Promise.all(photos.map((p) => sharp(p).metadata()));
  const rand = seededRandom(0x5ca9);
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const sub = join(DIR, `batch-${String(Math.floor(i / 1000)).padStart(2, '0')}`);
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    const width = 320 + Math.floor(rand() * 961);
    const height = Math.round(width * (0.6 + rand() * 0.6));
    let img;
    if (photos.length > 0) {
      const m = metas[i % photos.length];
      const cw = Math.max(64, Math.floor(m.width * (0.5 + rand() * 0.5)));
      const ch = Math.max(48, Math.floor(m.height * (0.5 + rand() * 0.5)));
      img = sharp(photos[i % photos.length]).extract({
        left: Math.floor(rand() * (m.width - cw)),
        top: Math.floor(rand() * (m.height - ch)),
        width: cw,
        height: ch,
      });
    } else img = sharp(sceneSvg(i, width, height));
    img = img.resize(width, height, { fit: 'fill' });
    const kind = rand();
    const [ext, out] =
      kind < 0.6
        ? ['jpg', img.jpeg({ quality: 70 + Math.floor(rand() * 25) })]
        : kind < 0.85
          ? ['png', img.png({ compressionLevel: 6 })]
          : ['webp', img.webp({ quality: 80 })];
    writeFileSync(join(sub, `img-${String(i).padStart(5, '0')}.${ext}`), await out.toBuffer());
  }
  writeFileSync(marker, '');
  console.error(`corpus: ${COUNT} mixed images generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** A bank of random PDQ and MD5 entries plus the hashes of every 100th corpus image. */
async function ensureBank(planted) {
  const dbPath = join(here, '.data', `scan-bank-${COUNT}.db`);
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.index`, { recursive: true, force: true });
  const store = SqliteStore.open(dbPath);
  store.createBank('bench-known');
  const rand = seededRandom(0xba4c);
  const hex = (n) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
    return s;
  };
  async function* entries() {
    let line = 0;
    for (let i = 0; i < 100_000; i++) yield { signal: 'pdq', value: hex(64), labels: ['bench'], line: ++line };
    for (let i = 0; i < 10_000; i++) yield { signal: 'md5', value: hex(32), labels: ['bench'], line: ++line };
    for (const r of planted) yield { signal: 'pdq', value: r.pdq, labels: ['planted'], line: ++line };
  }
  await store.importEntries('bench-known', entries());
  return store;
}

async function collect(iter) {
  const out = [];
  for await (const r of iter) out.push(r);
  return out;
}

async function timed(name, fn) {
  const start = performance.now();
  const out = await fn();
  const seconds = (performance.now() - start) / 1000;
  console.error(`${name}: ${(COUNT / seconds).toFixed(1)} images/s (${COUNT} in ${seconds.toFixed(1)} s)`);
  return { rate: COUNT / seconds, seconds, out };
}

/** The scan as `ward scan --format ndjson --out FILE` runs it (minus argument parsing). */
async function scanToFile(matcher, jobs, config) {
  const out = createWriteStream(join(here, '.data', 'scan-report.ndjson'));
  const reports = [];
  for await (const r of scan([DIR], { matcher, jobs, config })) {
    if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise((ok) => out.once('drain', ok));
    reports.push(r);
  }
  await new Promise((ok) => out.end(ok));
  return reports;
}

await ensureMixedCorpus();
// Warm-up, and the planted hashes (every 100th image).
const warm = await collect(hashFiles([DIR], { jobs: cores }));
const store = await ensureBank(warm.filter((_, i) => i % 100 === 0));
const matcher = Matcher.open(store);

// The pipeline's own overhead is measured with the extractors that do work beyond hashing
// (provenance's pixel checks) turned off; the default configuration is measured as well.
const LEAN = { ...DEFAULT_SCAN_CONFIG, extract: { ...DEFAULT_SCAN_CONFIG.extract, provenancePixels: false } };
const rounds = [];
let lastScan;
let lastHash;
for (let round = 0; round < ROUNDS; round++) {
  const hash1 = await timed('hashing alone, --jobs 1', () => collect(hashFiles([DIR], { jobs: 1 })));
  const scan1 = await timed('ward scan, --jobs 1', () => scanToFile(matcher, 1, LEAN));
  const hashN = await timed(`hashing alone, --jobs ${cores}`, () => collect(hashFiles([DIR], { jobs: cores })));
  const scanN = await timed(`ward scan, --jobs ${cores}`, () => scanToFile(matcher, cores, LEAN));
  const fullN = await timed(`ward scan, default configuration, --jobs ${cores}`, () =>
    scanToFile(matcher, cores, DEFAULT_SCAN_CONFIG),
  );
  rounds.push({ hash1: hash1.rate, scan1: scan1.rate, hashN: hashN.rate, scanN: scanN.rate, fullN: fullN.rate });
  lastScan = scanN.out;
  lastHash = hashN.out;
}
store.close();

// The scan must agree with hashing alone, item for item, and find the planted images.
const bad = lastScan.filter((r) => r.verdict === 'error').length;
if (bad > 0) throw new Error(`${bad} benchmark images failed`);
lastScan.forEach((r, i) => {
  if (r.signals.pdq !== lastHash[i].pdq || r.signals.md5 !== lastHash[i].md5)
    throw new Error(`scan differs from hash on ${r.path}`);
});
const matched = lastScan.filter((r) => r.verdict === 'match').length;

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const m = Object.fromEntries(
  ['hash1', 'scan1', 'hashN', 'scanN', 'fullN'].map((k) => [k, median(rounds.map((r) => r[k]))]),
);
const per = (k) => rounds.map((r) => r[k].toFixed(1)).join(', ');
console.log(`\nMachine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}`);
console.log(
  `Corpus: ${COUNT} mixed images (60% JPEG, 25% PNG, 15% WebP; 320-1280 px wide); bank: 100,000 PDQ + 10,000 MD5 + ${Math.ceil(COUNT / 100)} planted; ${ROUNDS} round(s)\n`,
);
console.log('| configuration | images/s | per round |');
console.log('| --- | ---: | --- |');
console.log(`| baseline: hashing alone, --jobs 1 | ${m.hash1.toFixed(1)} | ${per('hash1')} |`);
console.log(`| ward scan, --jobs 1 | ${m.scan1.toFixed(1)} | ${per('scan1')} |`);
console.log(`| baseline: hashing alone, --jobs ${cores} | ${m.hashN.toFixed(1)} | ${per('hashN')} |`);
console.log(`| ward scan, --jobs ${cores} | ${m.scanN.toFixed(1)} | ${per('scanN')} |`);
console.log(
  `| ward scan, default configuration (+ provenance pixel checks), --jobs ${cores} | ${m.fullN.toFixed(1)} | ${per('fullN')} |`,
);
const overhead = (h, s) => ((h / s - 1) * 100).toFixed(1);
console.log(
  `\nScan scaling, --jobs ${cores} / --jobs 1: ${rounds.map((r) => (r.scanN / r.scan1).toFixed(2)).join(', ')} (median ${(m.scanN / m.scan1).toFixed(2)}x; target >= 1.8x)`,
);
console.log(
  `Pipeline overhead over hashing alone (time): --jobs 1 ${rounds.map((r) => overhead(r.hash1, r.scan1)).join(', ')}%, --jobs ${cores} ${rounds.map((r) => overhead(r.hashN, r.scanN)).join(', ')}% (target <= 10%)`,
);
console.log(`Matches found: ${matched} (planted: ${Math.ceil(COUNT / 100)}); scan and hash agree on every item: yes`);

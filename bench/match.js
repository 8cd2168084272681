// Benchmark for the PDQ match index and bank imports (issue 3). Run with `npm run bench:match`
// (or `node bench/match.js [sizes...]`, e.g. `node --expose-gc bench/match.js 1000000`).
// For each bank size (default 1M and 10M PDQ hashes): builds a synthetic bank (uniform random
// hashes, clustered near-duplicate families, and hashes of perturbed real images), then measures
// in the same run: index build, snapshot load, resident memory, query latency one query at a
// time at distance 31 (10,000 queries: half planted at distances 0-31, half random), recall, and
// Ward's own linear scan as the baseline. Then imports a CSV of the same size into SQLite.
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readBankFile } from '../dist/banks/formats/read.js';
import { readBankFileBatchesInWorker } from '../dist/banks/formats/read-worker.js';
import { seededRandom } from '../dist/demo/images.js';
import { LinearPdqIndex } from '../dist/match/linear.js';
import { loadPdqIndexFile, PdqIndex } from '../dist/match/pdq-index.js';
import { PdqSegment } from '../dist/match/pdq-segment.js';
import { hashImage } from '../dist/signals/image.js';
import { SqliteStore } from '../dist/store/sqlite.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '.data', 'match');
const PHOTOS = join(here, '..', '..', 'shared', 'fixtures', 'photos');
const SIZES = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 10_000);
const TRUTH_QUERIES = Number(process.env.BENCH_TRUTH_QUERIES ?? 1_000);
const RADIUS = 31;
mkdirSync(DATA, { recursive: true });

const gc = globalThis.gc ?? (() => {});
const rss = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};
const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const log = (...a) => console.error(...a);

/** Flips exactly d distinct bits of a 32-byte hash (in place in `out`). */
function flip(src, d, rand, out) {
  out.set(src);
  const used = new Set();
  while (used.size < d) used.add(Math.floor(rand() * 256));
  for (const b of used) out[b >> 3] ^= 1 << (b & 7);
  return out;
}

/** PDQ hashes of perturbed real (benign) photos: crops, scales, rotations, brightness, re-encodes. */
async function realImageHashes(count) {
  const cache = join(DATA, `real-${count}.bin`);
  if (existsSync(cache)) return new Uint8Array(readFileSync(cache));
  const sources = existsSync(PHOTOS)
    ? readdirSync(PHOTOS)
        .filter((f) => /\.(jpe?g|png)$/.test(f))
        .map((f) => join(PHOTOS, f))
    : [];
  const rand = seededRandom(7);
  const out = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) {
    let img;
    if (sources.length > 0) {
      const src = sources[i % sources.length];
      const m = await sharp(src).metadata();
      const w = Math.floor(m.width * (0.6 + rand() * 0.4));
      const h = Math.floor(m.height * (0.6 + rand() * 0.4));
      img = sharp(src)
        .extract({
          left: Math.floor(rand() * (m.width - w)),
          top: Math.floor(rand() * (m.height - h)),
          width: w,
          height: h,
        })
        .resize(Math.max(64, Math.floor(w * (0.3 + rand() * 0.7))))
        .rotate(Math.floor(rand() * 4) * 90)
        .modulate({ brightness: 0.7 + rand() * 0.6 });
    } else {
      const { sceneImage } = await import('../dist/demo/images.js');
      img = sharp(await sceneImage(i)).modulate({ brightness: 0.7 + rand() * 0.6 });
    }
    const h = await hashImage(await img.jpeg({ quality: 50 + Math.floor(rand() * 45) }).toBuffer());
    out.set(Buffer.from(h.pdq, 'hex'), i * 32);
  }
  writeFileSync(cache, out);
  return out;
}

/** n hashes: real-image hashes, then families of near-duplicates, then uniform random. */
async function makeBank(n) {
  const rand = seededRandom(n);
  const hashes = Buffer.alloc(n * 32);
  const real = await realImageHashes(Math.min(600, Math.floor(n / 100)));
  hashes.set(real, 0);
  let at = real.length / 32;
  // Families: 1% of the bank in groups of 20 within 16 bits of a centre (re-encodes, resizes).
  const families = Math.floor(n / 100 / 20);
  const centre = new Uint8Array(32);
  const tmp = new Uint8Array(32);
  for (let f = 0; f < families; f++) {
    for (let k = 0; k < 32; k++) centre[k] = Math.floor(rand() * 256);
    for (let j = 0; j < 20 && at < n; j++) hashes.set(flip(centre, Math.floor(rand() * 17), rand, tmp), 32 * at++);
  }
  for (let i = at * 32; i < n * 32; i += 4) hashes.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
  const ids = Uint32Array.from({ length: n }, (_, i) => i + 1);
  return { hashes, ids, real: real.length / 32, families };
}

function makeQueries(bank, n, count) {
  const rand = seededRandom(n + 1);
  const queries = [];
  for (let i = 0; i < count; i++) {
    const q = new Uint8Array(32);
    if (i % 2 === 0) {
      // Planted: an entry (a third of them from the real and family part) at distance 0-31.
      const j = i % 6 === 0 ? Math.floor(rand() * Math.max(1, n / 50)) : Math.floor(rand() * n);
      flip(bank.hashes.subarray(j * 32, j * 32 + 32), Math.floor(rand() * 32), rand, q);
      queries.push({ q, planted: j + 1 });
    } else {
      for (let k = 0; k < 32; k++) q[k] = Math.floor(rand() * 256);
      queries.push({ q, planted: 0 });
    }
  }
  return queries;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function benchSize(n) {
  log(`\n== ${n.toLocaleString('en')} PDQ hashes`);
  let bank = await makeBank(n);
  const raw = n * 32;
  log(`bank: ${bank.real} real-image hashes, ${bank.families} families of 20, rest uniform (${mb(raw)} raw)`);

  let t = performance.now();
  let index = PdqIndex.build(bank.hashes, bank.ids);
  const buildS = (performance.now() - t) / 1000;
  const snapshotFile = join(DATA, `bank-${n}.pdq`);
  writeFileSync(snapshotFile, index.serialize());
  const queries = makeQueries(bank, n, QUERIES);
  // The linear baseline keeps its own copy of the hashes; the ground truth comes from it.
  const truthCount = Math.min(TRUTH_QUERIES, QUERIES);
  // Evenly spread over the queries, alternating planted (even) and random (odd) ones.
  const truthIdx = Array.from({ length: truthCount }, (_, i) =>
    Math.min(QUERIES - 1, 2 * Math.floor((i * QUERIES) / (2 * truthCount)) + (i % 2)),
  );
  bank = null;
  index = null;
  const rBefore = rss();
  t = performance.now();
  index = loadPdqIndexFile(snapshotFile);
  const loadS = (performance.now() - t) / 1000;
  const rAfter = rss();
  // Resident growth across the load, with the generated bank already freed.
  const indexBytes = rAfter - rBefore;
  const wasmBytes = index.stats().bytes;
  log(
    `build ${buildS.toFixed(1)} s; snapshot ${mb(statSync(snapshotFile).size)} loads in ${loadS.toFixed(1)} s; resident +${mb(indexBytes)} (${(indexBytes / raw).toFixed(2)}x raw), WebAssembly memory ${mb(wasmBytes)}`,
  );
  log(`segments: ${JSON.stringify(index.stats().segments.map((s) => ({ entries: s.entries, chunks: s.chunks })))}`);

  // Warm up, then one query at a time.
  for (let i = 0; i < 200; i++) index.queryInto(queries[i].q, RADIUS);
  const heapBefore = process.memoryUsage().heapUsed;
  const lat = new Float64Array(queries.length);
  const counts = new Uint32Array(queries.length);
  let plantedFound = 0;
  let planted = 0;
  for (let i = 0; i < queries.length; i++) {
    const s = performance.now();
    const found = index.queryInto(queries[i].q, RADIUS);
    lat[i] = performance.now() - s;
    counts[i] = found;
    if (queries[i].planted) {
      planted++;
      const ids = index.resultIds();
      for (let k = 0; k < found; k++) if (ids[k] === queries[i].planted) plantedFound++;
    }
  }
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const sorted = Float64Array.from(lat).sort();
  const p50 = pct(sorted, 0.5);
  const p99 = pct(sorted, 0.99);

  // Baseline: Ward's linear scan (WebAssembly, 4 x 64-bit popcount per entry), on the ground-truth subset.
  const snap = readFileSync(snapshotFile);
  const linear = PdqSegment.from(
    snap.subarray(24, 24 + raw),
    new Uint32Array(new Uint8Array(snap.subarray(24 + raw)).buffer),
    0,
  );
  const ids = new Uint32Array(1 << 16);
  const dist = new Uint16Array(1 << 16);
  const linLat = [];
  let exact = 0;
  for (const i of truthIdx) {
    const s = performance.now();
    const m = linear.search(queries[i].q, RADIUS, ids, dist, 0);
    linLat.push(performance.now() - s);
    const truth = Array.from(ids.subarray(0, m), (id, k) => `${id}:${dist[k]}`)
      .sort()
      .join();
    const got = index
      .query(queries[i].q, RADIUS)
      .map((r) => `${r.id}:${r.distance}`)
      .sort()
      .join();
    if (truth === got) exact++;
  }
  linLat.sort((a, b) => a - b);
  const linP50 = pct(linLat, 0.5);
  // The TypeScript reference (match/linear.ts) on a few queries: it is the brute force every index
  // is tested against.
  const reference = new LinearPdqIndex();
  const snapIds = new Uint32Array(new Uint8Array(snap.subarray(24 + raw)).buffer);
  for (let i = 0; i < n; i++) reference.add(snap.subarray(24 + i * 32, 24 + i * 32 + 32), snapIds[i]);
  const refLat = [];
  for (const i of truthIdx.slice(0, Number(process.env.BENCH_REFERENCE_QUERIES ?? 20))) {
    const s = performance.now();
    reference.query(queries[i].q, RADIUS);
    refLat.push(performance.now() - s);
  }
  refLat.sort((a, b) => a - b);
  const refP50 = pct(refLat, 0.5);
  const result = {
    n,
    buildS,
    loadS,
    indexMiB: indexBytes / 2 ** 20,
    wasmMiB: wasmBytes / 2 ** 20,
    ratio: indexBytes / raw,
    p50,
    p90: pct(sorted, 0.9),
    p99,
    max: sorted[sorted.length - 1],
    meanMatches: counts.reduce((a, b) => a + b, 0) / counts.length,
    plantedRecall: plantedFound / planted,
    truthExact: `${exact}/${truthIdx.length}`,
    linearP50: linP50,
    speedup: linP50 / p50,
    referenceP50: refP50,
    referenceSpeedup: refP50 / p50,
    heapGrowthKiB: heapGrowth / 1024,
  };
  log(JSON.stringify(result));
  index = null;
  return result;
}

/** A CSV of n PDQ lines (value, labels, id), then an import into a fresh SQLite bank. */
async function benchImport(n) {
  const file = join(DATA, `import-${n}.csv`);
  if (!existsSync(file)) {
    const rand = seededRandom(99);
    const fh = await open(file, 'w');
    await fh.write('signal,value,labels,id\n');
    let buf = '';
    for (let i = 0; i < n; i++) {
      let hex = '';
      for (let k = 0; k < 8; k++)
        hex += Math.floor(rand() * 2 ** 32)
          .toString(16)
          .padStart(8, '0');
      buf += `pdq,${hex},stand-in;category-${i % 7},src-${i}\n`;
      if (buf.length > 1 << 20) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
    await fh.close();
  }
  // Baseline: reading and parsing the file alone.
  let t = performance.now();
  let parsed = 0;
  for await (const e of readBankFile(createReadStream(file))) if (!('code' in e)) parsed++;
  const parseS = (performance.now() - t) / 1000;
  const db = join(DATA, `import-${n}.db`);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const store = SqliteStore.open(db);
  store.createBank('bench');
  t = performance.now();
  // As `ward bank import` does it: parsing on a worker thread, writes on this one.
  const report = await store.importEntries('bench', readBankFileBatchesInWorker(file), { source: 'bench.csv' });
  const importS = (performance.now() - t) / 1000;
  store.close();
  const out = { n, fileMiB: statSync(file).size / 2 ** 20, parseS, importS, added: report.added, parsed };
  log(JSON.stringify(out));
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  return out;
}

const sizes = SIZES.length > 0 ? SIZES : [1_000_000, 10_000_000];
const results = [];
if (process.env.BENCH_SKIP_INDEX !== '1') for (const n of sizes) results.push(await benchSize(n));
const imports = [];
if (process.env.BENCH_SKIP_IMPORT !== '1') for (const n of sizes) imports.push(await benchImport(n));

console.log(`\nMachine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}`);
if (results.length > 0) {
  console.log(
    `Queries: ${QUERIES} one at a time at distance ${RADIUS} (half planted at 0-31, half random); ground truth from the linear scan on ${TRUTH_QUERIES}\n`,
  );
  console.log(
    '| entries | build | snapshot load | resident (x raw) | p50 | p90 | p99 | max | WASM scan p50 (x) | TS reference scan p50 (x) | planted recall | exact vs scan | heap growth |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.buildS.toFixed(1)} s | ${r.loadS.toFixed(1)} s | ${r.indexMiB.toFixed(0)} MiB (${r.ratio.toFixed(2)}x) | ${r.p50.toFixed(3)} ms | ${r.p90.toFixed(3)} ms | ${r.p99.toFixed(3)} ms | ${r.max.toFixed(1)} ms | ${r.linearP50.toFixed(1)} ms (${r.speedup.toFixed(0)}x) | ${r.referenceP50.toFixed(0)} ms (${r.referenceSpeedup.toFixed(0)}x) | ${(r.plantedRecall * 100).toFixed(2)}% | ${r.truthExact} | ${r.heapGrowthKiB.toFixed(0)} KiB |`,
    );
  }
}
if (imports.length > 0) {
  console.log('\n| CSV lines | file | parse only (baseline) | import into SQLite |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const r of imports)
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.fileMiB.toFixed(0)} MiB | ${r.parseS.toFixed(1)} s | ${r.importS.toFixed(1)} s |`,
    );
}

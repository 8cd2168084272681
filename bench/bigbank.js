// Benchmark for banks of 100 million entries on one machine (issue 17). Run with
// `npm run bench:bigbank` (or `node --expose-gc bench/bigbank.js`), after `npm run build`.
// Env: BENCH_PDQ_SIZES (default "10000000,110000000": the 10M bank is the baseline of the same
// run), BENCH_SHA_SIZES (default "10000000,100000000"), BENCH_QUERIES (10,000 per bank),
// BENCH_TRUTH_QUERIES (1,000), BENCH_ROUNDS (10), BENCH_SKIP_PDQ=1, BENCH_SKIP_SHA=1.
//
// PDQ banks: n/11 of the entries in families of 20 near-duplicates within 16 bits of a centre
// (110M = 100M uniform random + 10M clustered), the rest uniform random; generated once into
// bench/.data/bigbank/ (git-ignored) and reused. Per bank: build (PdqIndex.fromParts, reading the
// raw file segment by segment), image snapshot write, image load into a fresh index (time and
// resident growth, the raw data not held), then query latency one query at a time at distance 31
// in interleaved rounds across the banks (half planted at 0-31 bits from an entry, a third of
// those from the clustered part; half random), and the ground truth: Ward's WebAssembly linear
// scan streamed over the raw file in 2^24-entry pieces, compared entry for entry on 1,000 queries.
// SHA-256 banks: random 64-hex values as their stored key words (CompactExactIndex.fromKeys),
// snapshot write and streamed load, resident growth, lookup latency (half present, half absent).
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactExactIndex } from '../dist/match/compact-exact-index.js';
import { loadPdqIndexFile, PdqIndex } from '../dist/match/pdq-index.js';
import { PdqSegment } from '../dist/match/pdq-segment.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '.data', 'bigbank');
mkdirSync(DATA, { recursive: true });
const list = (v, d) =>
  (v ?? d)
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
const PDQ_SIZES = list(process.env.BENCH_PDQ_SIZES, '10000000,110000000');
const SHA_SIZES = list(process.env.BENCH_SHA_SIZES, '10000000,100000000');
const QUERIES = Number(process.env.BENCH_QUERIES ?? 10_000);
const TRUTH = Number(process.env.BENCH_TRUTH_QUERIES ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const RADIUS = 31;
const PIECE = 1 << 24;

const gc = globalThis.gc ?? (() => {});
const rss = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);
const gib = (b) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** xorshift128+ on two u32 halves, seeded: fast enough for billions of words. */
function rng(seed) {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x243f6a88;
  let d = 0xb7e15162;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}

function flip(src, bits, next, out) {
  out.set(src);
  const used = new Set();
  while (used.size < bits) used.add(next() & 255);
  for (const b of used) out[b >> 3] ^= 1 << (b & 7);
  return out;
}

/** The raw bank file (n x 32 bytes; entry i has id i + 1), generated once. */
function bankFile(n) {
  const file = join(DATA, `pdq-${n}.bin`);
  if (existsSync(file) && statSync(file).size === n * 32) return file;
  log(`generating ${n.toLocaleString('en')} PDQ hashes into ${file}`);
  const next = rng(n);
  const clustered = Math.floor(n / 11);
  const fd = openSync(`${file}.tmp`, 'w');
  const block = new Uint8Array(32 * (1 << 20));
  const words = new Uint32Array(block.buffer);
  const centre = new Uint8Array(32);
  const tmp = new Uint8Array(32);
  for (let start = 0; start < n; start += 1 << 20) {
    const count = Math.min(1 << 20, n - start);
    for (let i = 0; i < count; i++) {
      const at = start + i;
      if (at < clustered) {
        if (at % 20 === 0) for (let k = 0; k < 32; k++) centre[k] = next() & 255;
        block.set(flip(centre, next() % 17, next, tmp), i * 32);
      } else for (let k = 0; k < 8; k++) words[i * 8 + k] = next();
    }
    writeSync(fd, block, 0, count * 32);
  }
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
  return file;
}

function readRange(fd, from, to, hashes, ids) {
  for (let done = 0; done < (to - from) * 32; ) {
    const r = readSync(fd, hashes, done, Math.min(1 << 24, (to - from) * 32 - done), from * 32 + done);
    if (r <= 0) throw new Error('short read');
    done += r;
  }
  for (let i = 0; i < to - from; i++) ids[i] = from + i + 1;
}

function makeQueries(fd, n, count) {
  const next = rng(n + 1);
  const clustered = Math.floor(n / 11);
  const out = [];
  const src = new Uint8Array(32);
  for (let i = 0; i < count; i++) {
    const q = new Uint8Array(32);
    if (i % 2 === 0) {
      const j = i % 6 === 0 ? next() % clustered : next() % n;
      readSync(fd, src, 0, 32, j * 32);
      flip(src, next() % 32, next, q);
      out.push({ q, planted: j + 1 });
    } else {
      for (let k = 0; k < 32; k++) q[k] = next() & 255;
      out.push({ q, planted: 0 });
    }
  }
  return out;
}

async function pdqBench() {
  const banks = [];
  for (const n of PDQ_SIZES) {
    const file = bankFile(n);
    const fd = openSync(file, 'r');
    const queries = makeQueries(fd, n, QUERIES);
    log(`== PDQ ${n.toLocaleString('en')}: build`);
    let t = performance.now();
    let index = PdqIndex.fromParts(n, (from, to, hashes, ids) => readRange(fd, from, to, hashes, ids));
    const buildS = (performance.now() - t) / 1000;
    const image = join(DATA, `pdq-${n}.pdqi`);
    t = performance.now();
    index.writeImage(image);
    const writeS = (performance.now() - t) / 1000;
    const segments = index.stats().segments.map((s) => [s.entries, s.chunks]);
    index = null;
    const before = rss();
    t = performance.now();
    index = loadPdqIndexFile(image);
    const loadS = (performance.now() - t) / 1000;
    const grown = rss() - before;
    const r = {
      n,
      buildS,
      writeS,
      imageGiB: statSync(image).size / 2 ** 30,
      loadS,
      residentGiB: grown / 2 ** 30,
      ratio: grown / (n * 32),
      wasmGiB: index.stats().bytes / 2 ** 30,
      segments,
    };
    log(JSON.stringify(r));
    banks.push({ n, fd, index, queries, r, lat: [] });
  }
  // Warm-up, then interleaved rounds: every bank answers a slice of its queries per round.
  for (const b of banks) for (let i = 0; i < 200; i++) b.index.queryInto(b.queries[i].q, RADIUS);
  const per = Math.ceil(QUERIES / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const b of banks) {
      for (let i = round * per; i < Math.min(QUERIES, (round + 1) * per); i++) {
        const s = performance.now();
        const found = b.index.queryInto(b.queries[i].q, RADIUS);
        b.lat.push(performance.now() - s);
        if (b.queries[i].planted) {
          b.planted = (b.planted ?? 0) + 1;
          const ids = b.index.resultIds();
          for (let k = 0; k < found; k++)
            if (ids[k] === b.queries[i].planted) b.plantedFound = (b.plantedFound ?? 0) + 1;
        }
      }
    }
    log(`round ${round + 1}/${ROUNDS}`);
  }
  // Ground truth: the linear scan over the raw file, piece by piece, for TRUTH queries each.
  const linear = new PdqSegment(PIECE, 0);
  const ids = new Uint32Array(1 << 20);
  const dist = new Uint16Array(1 << 20);
  for (const b of banks) {
    const pick = Array.from({ length: Math.min(TRUTH, QUERIES) }, (_, i) => Math.floor((i * QUERIES) / TRUTH));
    const truth = pick.map(() => []);
    let scanMs = 0;
    for (let start = 0; start < b.n; start += PIECE) {
      const stop = Math.min(b.n, start + PIECE);
      readRange(b.fd, start, stop, linear.hashes(), linear.ids());
      linear.setCount(stop - start);
      for (const [k, i] of pick.entries()) {
        const s = performance.now();
        const m = linear.search(b.queries[i].q, RADIUS, ids, dist, 0);
        scanMs += performance.now() - s;
        for (let j = 0; j < m; j++) truth[k].push(`${ids[j]}:${dist[j]}`);
      }
    }
    let exact = 0;
    for (const [k, i] of pick.entries()) {
      const got = b.index
        .query(b.queries[i].q, RADIUS)
        .map((x) => `${x.id}:${x.distance}`)
        .sort()
        .join();
      if (got === truth[k].sort().join()) exact++;
    }
    b.r.truthExact = `${exact}/${pick.length}`;
    b.r.scanMs = scanMs / pick.length;
    const sorted = Float64Array.from(b.lat).sort();
    Object.assign(b.r, {
      p50: pct(sorted, 0.5),
      p90: pct(sorted, 0.9),
      p99: pct(sorted, 0.99),
      max: sorted[sorted.length - 1],
      plantedRecall: (b.plantedFound ?? 0) / (b.planted ?? 1),
    });
    log(JSON.stringify(b.r));
    closeSync(b.fd);
  }
  const out = banks.map((b) => b.r);
  for (const b of banks) b.index = null;
  return out;
}

function shaBench() {
  const out = [];
  for (const n of SHA_SIZES) {
    log(`== SHA-256 ${n.toLocaleString('en')}`);
    const next = rng(n + 7);
    let keys = new Uint32Array(n * 5);
    for (let i = 0; i < keys.length; i++) keys[i] = next();
    let ids = Uint32Array.from({ length: n }, (_, i) => i + 1);
    // Sample queries: present values (their 40 stored hex plus any 24: the matcher confirms by id) and absent ones.
    const present = [];
    const absent = [];
    for (let k = 0; k < 100_000; k++) {
      const i = next() % n;
      let hex = '';
      for (let w = 0; w < 5; w++) hex += keys[i * 5 + w].toString(16).padStart(8, '0');
      present.push([`${hex}${'0'.repeat(24)}`, i + 1]);
      let r = '';
      for (let w = 0; w < 8; w++) r += next().toString(16).padStart(8, '0');
      absent.push(r);
    }
    let t = performance.now();
    let index = CompactExactIndex.fromKeys(64, keys, ids);
    const buildS = (performance.now() - t) / 1000;
    keys = null;
    ids = null;
    const file = join(DATA, `sha256-${n}.exact`);
    t = performance.now();
    index.writeFile(file);
    const writeS = (performance.now() - t) / 1000;
    index = null;
    const before = rss();
    t = performance.now();
    index = CompactExactIndex.loadFile(file);
    const loadS = (performance.now() - t) / 1000;
    const grown = rss() - before;
    // Lookups in batches of 1,000 (a timer call costs about as much as a lookup), alternating present and absent.
    const perLookup = [];
    let wrong = 0;
    for (let round = 0; round < 3; round++) {
      for (let b = 0; b < present.length; b += 1000) {
        let s = performance.now();
        for (let k = b; k < b + 1000; k++) {
          let hit = 0;
          index.search(present[k][0], 0, (id) => {
            hit = id;
          });
          if (hit !== present[k][1]) wrong++;
        }
        perLookup.push(((performance.now() - s) * 1000) / 1000);
        s = performance.now();
        for (let k = b; k < b + 1000; k++) {
          index.search(absent[k], 0, () => {
            wrong++;
          });
        }
        perLookup.push(((performance.now() - s) * 1000) / 1000);
      }
    }
    perLookup.sort((a, b) => a - b);
    const r = {
      n,
      buildS,
      writeS,
      snapshotGiB: statSync(file).size / 2 ** 30,
      loadS,
      residentGiB: grown / 2 ** 30,
      bytesPerEntry: grown / n,
      lookupUsP50: pct(perLookup, 0.5),
      lookupUsP99: pct(perLookup, 0.99),
      wrong,
    };
    log(JSON.stringify(r));
    out.push(r);
    index = null;
  }
  return out;
}

log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const pdq = process.env.BENCH_SKIP_PDQ === '1' ? [] : await pdqBench();
const sha = process.env.BENCH_SKIP_SHA === '1' ? [] : shaBench();
console.log(
  `\nMachine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}; load average at end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
if (pdq.length > 0) {
  console.log(
    `PDQ: ${QUERIES} queries per bank one at a time at distance ${RADIUS}, ${ROUNDS} interleaved rounds; truth from the linear scan on ${TRUTH}\n`,
  );
  console.log(
    '| entries | segments | build | image write | image | image load | resident (x raw) | p50 | p90 | p99 | max | WASM scan (mean) | planted recall | exact vs scan |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of pdq)
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.segments.length} | ${r.buildS.toFixed(1)} s | ${r.writeS.toFixed(1)} s | ${r.imageGiB.toFixed(2)} GiB | ${r.loadS.toFixed(1)} s | ${r.residentGiB.toFixed(2)} GiB (${r.ratio.toFixed(2)}x) | ${r.p50.toFixed(3)} ms | ${r.p90.toFixed(3)} ms | ${r.p99.toFixed(3)} ms | ${r.max.toFixed(1)} ms | ${r.scanMs.toFixed(0)} ms | ${(r.plantedRecall * 100).toFixed(2)}% | ${r.truthExact} |`,
    );
}
if (sha.length > 0) {
  console.log(
    '\n| SHA-256 entries | build (sort) | snapshot write | snapshot | load | resident (bytes/entry) | lookup p50 | lookup p99 | wrong |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of sha)
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.buildS.toFixed(1)} s | ${r.writeS.toFixed(1)} s | ${r.snapshotGiB.toFixed(2)} GiB | ${r.loadS.toFixed(1)} s | ${gib(r.residentGiB * 2 ** 30)} (${r.bytesPerEntry.toFixed(1)}) | ${r.lookupUsP50.toFixed(2)} µs | ${r.lookupUsP99.toFixed(2)} µs | ${r.wrong} |`,
    );
}

// Benchmark for model identity hashing (issue 6). Run with `npm run build` then
// `node bench/models.js` (or `npx tsc -p tsconfig.build.json && node bench/models.js`).
// Generates a 2 GB safetensors file into bench/.data/models/ (git-ignored; BENCH_MODEL_BYTES
// overrides the size), reads it once to warm the page cache, then measures in the same run,
// interleaved in BENCH_ROUNDS rounds (default 3):
//   baseline A: node:crypto SHA-256 alone, createReadStream (1 MiB chunks), the usual way;
//   baseline B: node:crypto SHA-256 alone, FileHandle.read into 4 MiB buffers (Ward's reader);
//   ward, two threads: hashModelFile: SHA-256 + AutoV3 (a second SHA-256 over the data section)
//     + BLAKE3 + CRC32 + AutoV1, one read, hashers split between this thread and a helper;
//   ward, one thread: the same on this thread only.
// Also the CPU time of each run (all threads) and of each hasher alone on a 256 MiB buffer, and from
// them an estimate of the ratio on two otherwise idle cores (the VM is shared: wall times drift). Reports GB/s (10^9 bytes/s), the ratio of Ward (two threads)
// to the faster baseline per round, and the median ratio. Fails if any hash differs between runs.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { blake3Implementation, createBlake3 } from '../dist/models/blake3.js';
import { crc32 } from '../dist/models/hashers.js';
import { hashModelFile } from '../dist/models/hashes.js';

const here = dirname(fileURLToPath(import.meta.url));
const SIZE = Number(process.env.BENCH_MODEL_BYTES ?? 2_000_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DIR = join(here, '.data', 'models');
const FILE = join(DIR, `model-${SIZE}.safetensors`);
const GB = 1e9;

/** A safetensors file of SIZE bytes: a ~100 KB header of 16 MiB F16 tensors and kohya metadata, then pseudo-random data. */
function ensureFile() {
  if (existsSync(FILE) && statSync(FILE).size === SIZE) return;
  mkdirSync(DIR, { recursive: true });
  const headerBytes = 100_000;
  const dataBytes = SIZE - 8 - headerBytes;
  const header = {
    __metadata__: {
      ss_network_module: 'networks.lora',
      ss_output_name: 'bench',
      ss_tag_frequency: JSON.stringify({ '10_bench': { a: 1, b: 2 } }),
    },
  };
  const tensor = 16 * 1024 * 1024;
  for (let i = 0, off = 0; off < dataBytes; i++, off += tensor) {
    const n = Math.min(tensor, dataBytes - off);
    header[`model.diffusion_model.t${i}.weight`] = { dtype: 'U8', shape: [n], data_offsets: [off, off + n] };
  }
  const json = JSON.stringify(header).padEnd(headerBytes, ' ');
  if (json.length !== headerBytes) throw new Error('header does not fit');
  const fd = openSync(`${FILE}.tmp`, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes));
  writeSync(fd, len);
  writeSync(fd, json);
  const block = Buffer.alloc(16 * 1024 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  for (let left = dataBytes, k = 0; left > 0; k++) {
    const n = Math.min(block.length, left);
    block.writeUInt32LE(k, 0); // every block differs
    writeSync(fd, block, 0, n);
    left -= n;
  }
  closeSync(fd);
  renameSync(`${FILE}.tmp`, FILE);
}

async function baselineStream() {
  const h = createHash('sha256');
  for await (const c of createReadStream(FILE, { highWaterMark: 1 << 20 })) h.update(c);
  return h.digest('hex');
}

async function baselineRead() {
  const fh = await open(FILE, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  const h = createHash('sha256');
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  await fh.close();
  return h.digest('hex');
}

/** Wall seconds, and CPU seconds of the whole process (all threads: helper, libuv reads). */
async function timed(fn) {
  const c = process.cpuUsage();
  const t = performance.now();
  const out = await fn();
  const used = process.cpuUsage(c);
  return { s: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6, out };
}

/** GB per CPU-second of each hasher alone on one thread (CPU time: other load on the machine matters less). */
function componentSpeeds() {
  const buf = Buffer.alloc(256 * 1024 * 1024);
  for (let i = 0; i < buf.length; i += 4096) buf[i] = i & 0xff;
  const speed = (fn) => {
    const c = process.cpuUsage();
    fn();
    const used = process.cpuUsage(c);
    return buf.length / GB / ((used.user + used.system) / 1e6);
  };
  const copy = Buffer.alloc(buf.length);
  return {
    sha256: speed(() => createHash('sha256').update(buf).digest()),
    blake3: speed(() => {
      const b = createBlake3();
      b.update(buf);
      b.digestHex();
    }),
    crc32: speed(() => crc32(buf)),
    crc32zlib: speed(() => zlib.crc32(buf)),
    memcpy: speed(() => buf.copy(copy)),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => x.toFixed(2);

const t0 = performance.now();
ensureFile();
const dataOffset = 8 + 100_000;
console.log(
  `file: ${FILE} (${(SIZE / GB).toFixed(2)} GB, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s); ` +
    `${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, Node ${process.versions.node}, BLAKE3 ${blake3Implementation()}`,
);
await baselineRead(); // warm the page cache

const rows = { streamA: [], readB: [], ward2: [], ward1: [], ratio: [], cpuA: [], cpuB: [], cpu2: [] };
let reference;
for (let round = 1; round <= ROUNDS; round++) {
  const a = await timed(baselineStream);
  const b = await timed(baselineRead);
  const w2 = await timed(() => hashModelFile(FILE, { dataOffset, parallel: true }));
  const w1 = await timed(() => hashModelFile(FILE, { dataOffset, parallel: false }));
  for (const h of [a.out, b.out, w2.out.sha256, w1.out.sha256]) {
    if (h !== a.out) throw new Error('SHA-256 differs between runs');
  }
  if (JSON.stringify(w1.out) !== JSON.stringify(w2.out)) throw new Error('hashes differ between one and two threads');
  reference ??= w2.out;
  if (JSON.stringify(reference) !== JSON.stringify(w2.out)) throw new Error('hashes differ between rounds');
  const speed = (x) => SIZE / GB / x.s;
  rows.streamA.push(speed(a));
  rows.readB.push(speed(b));
  rows.ward2.push(speed(w2));
  rows.ward1.push(speed(w1));
  rows.ratio.push(speed(w2) / Math.max(speed(a), speed(b)));
  rows.cpuA.push((a.cpu / SIZE) * GB);
  rows.cpuB.push((b.cpu / SIZE) * GB);
  rows.cpu2.push((w2.cpu / SIZE) * GB);
  console.log(
    `round ${round}: baseline stream ${fmt(speed(a))} GB/s, baseline read ${fmt(speed(b))}, ` +
      `ward 2 threads ${fmt(speed(w2))}, ward 1 thread ${fmt(speed(w1))}, ratio ${(rows.ratio.at(-1) * 100).toFixed(0)}%; ` +
      `CPU s/GB: baselines ${fmt(rows.cpuA.at(-1))}, ${fmt(rows.cpuB.at(-1))}, ward 2 threads ${fmt(rows.cpu2.at(-1))}`,
  );
}
console.log(
  `\nCPU seconds per GB (all threads; median): baseline stream ${fmt(median(rows.cpuA))}, baseline read ${fmt(median(rows.cpuB))}, ` +
    `ward two threads ${fmt(median(rows.cpu2))}. On two otherwise idle cores ward needs at least ${fmt(median(rows.cpu2) / 2)} s/GB ` +
    `(its CPU spread over both), the baseline at least its SHA-256 time.`,
);
const c = componentSpeeds();
// On two idle cores the baseline runs at its SHA-256 speed (its reads overlap on the other core);
// Ward must run both SHA-256 passes, BLAKE3, CRC32 and its reads: at best its CPU time split evenly.
const idleEstimate = 1 / c.sha256 / (median(rows.cpu2) / 2);
console.log(`\nhashes: ${JSON.stringify(reference)}`);
console.log('\n| configuration | GB/s (median) | per round |\n| --- | ---: | --- |');
for (const [name, key] of [
  ['baseline: SHA-256 alone, createReadStream 1 MiB', 'streamA'],
  ['baseline: SHA-256 alone, FileHandle.read 4 MiB', 'readB'],
  ['ward: all identity hashes, two threads', 'ward2'],
  ['ward: all identity hashes, one thread', 'ward1'],
]) {
  console.log(`| ${name} | ${fmt(median(rows[key]))} | ${rows[key].map(fmt).join(', ')} |`);
}
console.log(
  `\nward (two threads) / faster baseline, per round: ${rows.ratio.map((r) => `${(r * 100).toFixed(0)}%`).join(', ')}; ` +
    `median ${(median(rows.ratio) * 100).toFixed(0)}% (target 80%)`,
);
console.log(
  `one thread in memory, GB per CPU-second: SHA-256 ${fmt(c.sha256)}, BLAKE3 ${fmt(c.blake3)}, CRC32 ${fmt(c.crc32)} ` +
    `(zlib's ${fmt(c.crc32zlib)}), memcpy ${fmt(c.memcpy)}. Estimate for two idle cores: ward / SHA-256 alone = ` +
    `(1 / ${fmt(c.sha256)}) / (${fmt(median(rows.cpu2))} / 2) = ${(idleEstimate * 100).toFixed(0)}%`,
);

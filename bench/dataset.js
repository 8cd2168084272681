// Benchmark for `ward dataset audit` (issue 18). Run with `npm run bench:dataset`.
// Generates into bench/.data/ (git-ignored):
//   - a LAION-style metadata parquet (URL, TEXT, md5, punsafe; BENCH_ROWS rows, default 400,000,
//     row groups of 65,536; benign synthetic captions of LAION-like length),
//   - a bank of 1,000,000 MD5 entries in a SQLite file (some of the parquet's md5s planted),
//   - BENCH_WDS_IMAGES (default 48) 1024x768 JPEGs, as one WebDataset tar and unpacked in a folder.
// Then measures in the same run, interleaved rounds (BENCH_ROUNDS, default 3), medians, one thread:
//   metadata parquet: hyparquet alone reading the same columns (baseline); the audit without
//     caption screening; the audit with caption screening (MD5 and URL hashing and matching on);
//   images: `scan()` over the unpacked folder (baseline) vs the audit of the tar, --jobs 1 both.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import sharp from 'sharp';
import tar from 'tar-stream';
import { auditDatasets, auditShard } from '../dist/datasets/audit.js';
import { laionReader } from '../dist/datasets/laion.js';
import { openParquet, readColumns } from '../dist/datasets/parquet.js';
import { sceneSvg, seededRandom } from '../dist/demo/images.js';
import { Matcher } from '../dist/match/matcher.js';
import { createScanRunner, scan } from '../dist/scan/pipeline.js';
import { urlSha256 } from '../dist/signals/url.js';
import { SqliteStore } from '../dist/store/sqlite.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROWS = Number(process.env.BENCH_ROWS ?? 400_000);
const BANK = Number(process.env.BENCH_BANK ?? 1_000_000);
const IMAGES = Number(process.env.BENCH_WDS_IMAGES ?? 48);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY; // 'parquet' | 'images'
const DATA = join(here, '.data');
mkdirSync(DATA, { recursive: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const hex = (rand, n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
};

const WORDS =
  'photo image of the a red blue green house garden river mountain city street car dog cat bird tree flower table chair lamp window door sky cloud sunset beach road bridge painting drawing vintage modern style art print poster logo icon vector illustration wooden metal glass stone white black yellow small large old new'.split(
    ' ',
  );

function ensureParquet() {
  const path = join(DATA, `laion-${ROWS}.parquet`);
  if (existsSync(path)) return path;
  const rand = seededRandom(0x1a10);
  const urls = new Array(ROWS);
  const text = new Array(ROWS);
  const md5 = new Array(ROWS);
  const punsafe = new Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    urls[i] = `https://img${i % 97}.example-cdn.net/images/${hex(rand, 8)}/${i}.jpg?size=${Math.floor(rand() * 1000)}`;
    const n = 5 + Math.floor(rand() * 8);
    const words = [];
    for (let w = 0; w < n; w++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
    text[i] = words.join(' ');
    md5[i] = hex(rand, 32);
    punsafe[i] = rand() * 0.2;
  }
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'URL', data: urls, type: 'STRING' },
      { name: 'TEXT', data: text, type: 'STRING' },
      { name: 'md5', data: md5, type: 'STRING' },
      { name: 'punsafe', data: punsafe, type: 'DOUBLE' },
    ],
    rowGroupSize: 65_536,
  });
  writeFileSync(path, new Uint8Array(buf));
  return path;
}

async function ensureBank(plant) {
  const path = join(DATA, `dataset-bank-${BANK}.db`);
  if (existsSync(`${path}.complete`)) return path;
  rmSync(path, { force: true });
  const store = SqliteStore.open(path);
  store.createBank('known');
  const rand = seededRandom(0xba2c);
  async function* entries() {
    for (let i = 0; i < BANK; i++) {
      const value = i < plant.length ? plant[i] : hex(rand, 32);
      yield { signal: 'md5', value, labels: ['stand-in'], line: i + 1 };
    }
  }
  await store.importEntries('known', entries());
  store.close();
  writeFileSync(`${path}.complete`, '');
  return path;
}

async function ensureImages() {
  const base = join(DATA, `wds-${IMAGES}`);
  const tarPath = `${base}.tar`;
  const folder = `${base}-unpacked`;
  if (existsSync(`${base}.complete`)) return { tarPath, folder };
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const pack = tar.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  for (let i = 0; i < IMAGES; i++) {
    const jpg = await sharp(sceneSvg(5000 + i, 1024, 768))
      .jpeg({ quality: 90 })
      .toBuffer();
    const key = String(i).padStart(9, '0');
    writeFileSync(join(folder, `${key}.jpg`), jpg);
    const json = Buffer.from(JSON.stringify({ key, url: `https://example.net/${key}.jpg`, status: 'success' }));
    const txt = Buffer.from(`a synthetic scene number ${i}`);
    for (const [name, data] of [
      [`${key}.jpg`, jpg],
      [`${key}.txt`, txt],
      [`${key}.json`, json],
    ])
      await new Promise((ok, fail) => pack.entry({ name, size: data.length }, data, (e) => (e ? fail(e) : ok())));
  }
  pack.finalize();
  await done;
  writeFileSync(tarPath, Buffer.concat(chunks));
  writeFileSync(`${base}.complete`, '');
  return { tarPath, folder };
}

async function hyparquetAlone(path) {
  const pf = await openParquet(path);
  let n = 0;
  let touch = 0;
  for (const g of pf.groups) {
    const cols = await readColumns(pf, ['URL', 'TEXT', 'md5', 'punsafe'], g.rowStart, g.rowEnd);
    const url = cols.get('URL');
    const md5 = cols.get('md5');
    for (let i = 0; i < g.rowEnd - g.rowStart; i++) {
      touch += url[i].length + md5[i].length;
      n++;
    }
  }
  await pf.file.close();
  if (touch === 0) throw new Error('nothing read');
  return n;
}

/** The baseline plus url-sha256 of every URL (normalise + SHA-256): what URL hashing costs. */
async function hyparquetUrlHash(path) {
  const pf = await openParquet(path);
  let n = 0;
  for (const g of pf.groups) {
    const cols = await readColumns(pf, ['URL', 'TEXT', 'md5', 'punsafe'], g.rowStart, g.rowEnd);
    const url = cols.get('URL');
    for (let i = 0; i < g.rowEnd - g.rowStart; i++) if (urlSha256(url[i])) n++;
  }
  await pf.file.close();
  return n;
}

async function audit(path, matcher, screenCaptions) {
  let n = 0;
  let found = 0;
  for await (const r of auditShard(laionReader, { dataset: path, shard: 'b', path }, { matcher, screenCaptions })) {
    n++;
    if (r.verdict === 'match') found++;
  }
  return { n, found };
}

/** Wall-clock and CPU milliseconds (user + system: what other load on the machine distorts least). */
async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000, out };
}

console.log(
  `ward dataset audit benchmark: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, Node ${process.version}`,
);
const parquet = ensureParquet();
const planted = [];
{
  // Plant 1 in 10,000 rows' md5 in the bank.
  const pf = await openParquet(parquet);
  const g = pf.groups[0];
  const cols = await readColumns(pf, ['md5'], g.rowStart, Math.min(g.rowEnd, ROWS));
  for (let i = 0; i < cols.get('md5').length; i += 10_000) planted.push(cols.get('md5')[i]);
  await pf.file.close();
}
const bankPath = await ensureBank(planted);
const store = SqliteStore.open(bankPath);
const matcher = Matcher.open(store, { snapshotDir: null });
console.log(`bank: ${BANK} md5 entries; parquet: ${ROWS} rows; ${ROUNDS} interleaved rounds, medians`);

if (ONLY !== 'images') {
  const times = { base: [], url: [], plain: [], screened: [] };
  const cpu = { base: [], url: [], plain: [], screened: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const b = await timed(() => hyparquetAlone(parquet));
    const u = await timed(() => hyparquetUrlHash(parquet));
    const p = await timed(() => audit(parquet, matcher, false));
    const s = await timed(() => audit(parquet, matcher, true));
    if (b.out !== ROWS || p.out.n !== ROWS || s.out.n !== ROWS) throw new Error('row count mismatch');
    if (p.out.found !== planted.length) throw new Error(`expected ${planted.length} matches, got ${p.out.found}`);
    times.base.push(b.ms);
    times.url.push(u.ms);
    times.plain.push(p.ms);
    times.screened.push(s.ms);
    cpu.base.push(b.cpu);
    cpu.url.push(u.cpu);
    cpu.plain.push(p.cpu);
    cpu.screened.push(s.cpu);
    console.log(
      `  round ${r + 1}: hyparquet ${Math.round(ROWS / (b.ms / 1000))} rows/s, +url-sha256 ${Math.round(ROWS / (u.ms / 1000))}, audit ${Math.round(ROWS / (p.ms / 1000))}, audit+captions ${Math.round(ROWS / (s.ms / 1000))}`,
    );
  }
  const rate = (k) =>
    `${Math.round(ROWS / (median(times[k]) / 1000))} rows/s wall, ${Math.round(ROWS / (median(cpu[k]) / 1000))} rows per CPU-second`;
  console.log(`metadata parquet, one thread (medians):`);
  console.log(`  hyparquet alone (URL, TEXT, md5, punsafe columns): ${rate('base')}`);
  console.log(`  hyparquet + url-sha256 of every URL (no matching): ${rate('url')}`);
  console.log(`  audit, md5 + URL hashing and matching, no caption screening: ${rate('plain')}`);
  console.log(`  audit, with caption screening: ${rate('screened')}`);
}

if (ONLY !== 'parquet') {
  const { tarPath, folder } = await ensureImages();
  const runner = createScanRunner(undefined, 1);
  const times = { scan: [], audit: [] };
  const cpu = { scan: [], audit: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const a = await timed(async () => {
      let n = 0;
      for await (const x of scan([folder], { jobs: 1, matcher })) if (x.signals.pdq) n++;
      return n;
    });
    const b = await timed(async () => {
      let n = 0;
      for await (const x of auditDatasets([tarPath], { matcher, runner, knnRadius: 31 }))
        if (x.kind === 'row' && x.signals.pdq) n++;
      return n;
    });
    if (a.out !== IMAGES || b.out !== IMAGES) throw new Error(`image count mismatch ${a.out} ${b.out}`);
    times.scan.push(a.ms);
    times.audit.push(b.ms);
    cpu.scan.push(a.cpu);
    cpu.audit.push(b.cpu);
    console.log(
      `  round ${r + 1}: scan ${(IMAGES / (a.ms / 1000)).toFixed(1)} images/s, audit ${(IMAGES / (b.ms / 1000)).toFixed(1)}`,
    );
  }
  await runner.close();
  const s = median(times.scan);
  const a = median(times.audit);
  console.log(`WebDataset shard of ${IMAGES} 1024x768 JPEGs, --jobs 1 (images/s, median):`);
  console.log(`  ward scan on the unpacked folder: ${(IMAGES / (s / 1000)).toFixed(1)}`);
  console.log(
    `  dataset audit of the tar: ${(IMAGES / (a / 1000)).toFixed(1)} (${((a / s - 1) * 100).toFixed(1)}% time vs scan)`,
  );
  const cs = median(cpu.scan);
  const ca = median(cpu.audit);
  console.log(
    `  per CPU-second: scan ${(IMAGES / (cs / 1000)).toFixed(1)}, audit ${(IMAGES / (ca / 1000)).toFixed(1)} (${((ca / cs - 1) * 100).toFixed(1)}% CPU vs scan)`,
  );
}
store.close();

// `ward hash` and `ward scan` on 1 and 2 jobs, end to end (the CLI in a child process, as users
// run it), and the per-process fixed cost (`ward hash` on one small image). Interleaved rounds,
// medians and the spread (min-max). Run with `npm run bench:scaling` (builds first).
//   BENCH_IMAGES (default 120) 1024x768 JPEGs from bench/corpus.js; BENCH_ROUNDS (default 5);
//   BENCH_STARTUP_ROUNDS (default 15).
// It checks that `ward hash --jobs 1` and `--jobs 2` print identical records before timing.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sceneImage } from '../dist/demo/images.js';
import { ensureCorpus } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const WARD = join(here, '..', 'bin', 'ward.js');
const COUNT = Number(process.env.BENCH_IMAGES ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STARTUP_ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 15);

const paths = await ensureCorpus(join(here, '.data', 'jpeg-1024x768'), COUNT);
const dir = dirname(paths[0]);
const list = join(tmpdir(), `ward-bench-scaling-${process.pid}.txt`);
writeFileSync(list, `${paths.join('\n')}\n`);
const small = join(tmpdir(), `ward-bench-small-${process.pid}.jpg`);
// A scratch bank database with one empty bank, never the user's (`ward scan` never creates one).
const db = join(tmpdir(), `ward-bench-scaling-${process.pid}.db`);
writeFileSync(small, await sceneImage(7, 'jpeg', 320, 240));

function run(args) {
  const start = performance.now();
  const r = spawnSync(process.execPath, [WARD, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`ward ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

run(['bank', 'create', 'bench', '--db', db]);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;

console.error(`${COUNT} JPEGs 1024x768, ${ROUNDS} interleaved rounds; ${availableParallelism()} cores`);
console.error(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

// Same records on one job and two (the figures below compare equal work).
const one = run(['hash', '--format', 'ndjson', '--jobs', '1', ...paths.slice(0, 20)]).stdout;
const two = run(['hash', '--format', 'ndjson', '--jobs', '2', ...paths.slice(0, 20)]).stdout;
if (one !== two) throw new Error('ward hash --jobs 1 and --jobs 2 disagree');

const configs = {
  'hash --jobs 1': ['hash', '--format', 'ndjson', '--jobs', '1', dir],
  'hash --jobs 2': ['hash', '--format', 'ndjson', '--jobs', '2', dir],
  'scan --jobs 1': ['scan', '--db', db, '--format', 'ndjson', '--jobs', '1', dir],
  'scan --jobs 2': ['scan', '--db', db, '--format', 'ndjson', '--jobs', '2', dir],
};
const times = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order so neither job count always runs first in a round.
  const keys = Object.keys(configs);
  for (const k of round % 2 ? keys.reverse() : keys) times[k].push(run(configs[k]).ms);
}
const rate = (k) => COUNT / (median(times[k]) / 1000);
for (const k of Object.keys(configs))
  console.log(
    `${k.padEnd(14)} ${rate(k).toFixed(1).padStart(6)} images/s  median ${median(times[k]).toFixed(0)} ms (${spread(times[k])})`,
  );
for (const cmd of ['hash', 'scan']) {
  // Per round, so load that moves between rounds cancels as far as it can.
  const ratios = times[`${cmd} --jobs 1`].map((t, i) => t / times[`${cmd} --jobs 2`][i]);
  console.log(
    `${cmd}: 2 jobs / 1 job = ${(rate(`${cmd} --jobs 2`) / rate(`${cmd} --jobs 1`)).toFixed(2)}x (per-round ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
}

// Fixed cost: a bare Node process, loading sharp alone, and `ward hash` on one small image.
const startup = {
  'node -e 0': ['-e', '0'],
  "node -e import('sharp')": ['-e', "import('sharp')"],
  'ward --version': [WARD, '--version'],
  'ward hash small.jpg': [WARD, 'hash', '--format', 'ndjson', small],
};
const st = Object.fromEntries(Object.keys(startup).map((k) => [k, []]));
for (let round = 0; round < STARTUP_ROUNDS; round++)
  for (const [k, args] of Object.entries(startup)) {
    const start = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: join(here, '..') });
    if (r.status !== 0) throw new Error(`${k} failed: ${r.stderr}`);
    st[k].push(performance.now() - start);
  }
for (const k of Object.keys(startup))
  console.log(`${k.padEnd(24)} median ${median(st[k]).toFixed(0)} ms (${spread(st[k])})`);
for (const f of [list, small, db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
console.error(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

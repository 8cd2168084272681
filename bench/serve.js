// Benchmark for the service (issue 8): POST /v1/match against a 1M-entry PDQ bank, under a load
// generator in a separate process on loopback (wrk when installed, else autocannon), with
// baselines in the same run: GET /healthz (no auth, no work) and GET /v1/me (auth + rate limit,
// no matching). Run with `npm run bench:serve` (or `node bench/serve.js` after the build).
// Environment: BENCH_DURATION (seconds of the match run, default 300), BENCH_BASELINE_DURATION
// (default 20), BENCH_ENTRIES (default 1000000), BENCH_CONNECTIONS (default 16), BENCH_WORKERS
// (server processes, `ward serve --workers`, default 2), BENCH_SEGMENT (seconds per segment of the
// match run, default 30). The resident memory of the server's
// processes is sampled every 5 s during the match run.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../dist/demo/images.js';
import { createKey } from '../dist/server/auth.js';
import { SqliteServiceStore } from '../dist/store/sqlite-service.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '.data', 'serve');
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 300);
const BASELINE = Number(process.env.BENCH_BASELINE_DURATION ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 30);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const DB = join(DATA, `bank-${ENTRIES}.db`);
mkdirSync(DATA, { recursive: true });

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const rand = seededRandom(8);
const randomHash = () => {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = Math.floor(rand() * 256);
  return b;
};

// ---------------------------------------------------------------------------------------------
// The bank: ENTRIES uniform random PDQ hashes (kept between runs).

const planted = [];
if (!existsSync(DB) || !existsSync(`${DB}.queries.json`)) {
  rmSync(DB, { force: true });
  rmSync(`${DB}-wal`, { force: true });
  const store = SqliteServiceStore.open(DB);
  await store.createBank('bench');
  const t0 = Date.now();
  async function* entries() {
    for (let i = 0; i < ENTRIES; i++) {
      const h = randomHash();
      // Every 1000th entry is remembered, to query near it.
      if (i % 1000 === 0 && planted.length < 500) planted.push(h);
      yield { signal: 'pdq', value: hex(h), labels: i % 7 === 0 ? ['stand-in'] : [], line: i + 1 };
    }
  }
  const report = await store.importEntries('bench', entries());
  console.log(`bank: imported ${report.added} PDQ hashes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Queries: half within distance 1-31 of a bank entry (a match, so an entry lookup), half random.
  const queries = [];
  for (let i = 0; i < 1000; i++) {
    if (i % 2 === 0) {
      const h = Uint8Array.from(planted[(i / 2) % planted.length]);
      const flips = 1 + Math.floor(rand() * 31);
      for (let f = 0; f < flips; f++) {
        const bit = Math.floor(rand() * 256);
        h[bit >> 3] ^= 1 << (bit & 7);
      }
      queries.push(hex(h));
    } else queries.push(hex(randomHash()));
  }
  writeFileSync(`${DB}.queries.json`, JSON.stringify(queries));
  await store.close();
}
const queries = JSON.parse(readFileSync(`${DB}.queries.json`, 'utf8'));

// A fresh key each run (unlimited rate: the benchmark measures the service, not the limiter).
const keyStore = SqliteServiceStore.open(DB);
const { key } = await createKey(keyStore, 'submitter', 'bench', { rate: 0 });
await keyStore.close();

// ---------------------------------------------------------------------------------------------
// The server, in its own process.

const port = 18_000 + Math.floor(Math.random() * 1000);
const t0 = Date.now();
const server = spawn(
  process.execPath,
  [join(here, '..', 'bin', 'ward.js'), 'serve', '--port', String(port), '--db', DB, '--workers', String(WORKERS)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DATABASE_URL: '', WARD_BANK_POLL_MS: '2000' },
  },
);
await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => {
    if (String(d).includes('http://')) resolve();
  });
  server.on('exit', (code) => reject(new Error(`ward serve exited (${code})`)));
});
const startup = (Date.now() - t0) / 1000;
const base = `http://127.0.0.1:${port}`;
console.log(
  `server: pid ${server.pid}, ${WORKERS} process(es), listening after ${startup.toFixed(1)} s (1 bank, ${ENTRIES} entries loaded in each)`,
);

const rssOne = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};
/** CPU seconds (user + system) of one process, from /proc (clock ticks of 1/100 s). */
const cpuOne = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
const childrenOf = (pid) =>
  readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
/** CPU seconds used by the server: its process and its worker processes. */
const cpuOf = (pid) => cpuOne(pid) + childrenOf(pid).reduce((n, c) => n + cpuOne(c), 0);
/** Resident memory of the server: its process and the worker processes it forked. */
const rssOf = (pid) => {
  let total = rssOne(pid);
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)) {
      total += rssOne(Number(child));
    }
  }
  return total;
};
const mib = (b) => (b / 2 ** 20).toFixed(0);

// Sanity: the planted queries match.
{
  const res = await fetch(`${base}/v1/match`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hashes: queries.slice(0, 10) }),
  });
  const body = await res.json();
  const hits = body.data.results.filter((r) => r.matches.length > 0).length;
  if (hits < 5) throw new Error(`expected the 5 planted queries to match, got ${hits}`);
}

// ---------------------------------------------------------------------------------------------
// Load generators.

const haveWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.status === 1; // wrk --version exits 1 after printing
  }
})();

function luaScript(path, method, bodies) {
  const file = join(DATA, `${path.replace(/\W/g, '_')}.lua`);
  const lines = [
    `wrk.method = "${method}"`,
    `wrk.headers["authorization"] = "Bearer ${key}"`,
    'wrk.headers["content-type"] = "application/json"',
  ];
  if (bodies) {
    lines.push('local bodies = {');
    for (const b of bodies) lines.push(`  [[${b}]],`);
    lines.push(
      '}',
      'local i = 0',
      'request = function()',
      '  i = i % #bodies + 1',
      `  return wrk.format(nil, "${path}", nil, bodies[i])`,
      'end',
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function runWrk(path, seconds, method = 'GET', bodies) {
  const script = luaScript(path, method, bodies);
  // Latency distribution printed with --latency; a done() hook prints exact percentiles as JSON.
  writeFileSync(
    script,
    `${readFileSync(script, 'utf8')}done = function(summary, latency, requests)\n  io.write(string.format("JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,\\"p50\\":%d,\\"p90\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n", summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))\nend\n`,
  );
  return new Promise((resolve, reject) => {
    const serverCpu = cpuOf(server.pid);
    // /usr/bin/time reports wrk's own CPU time (on stderr).
    const child = spawn(
      '/usr/bin/time',
      [
        '-f',
        'WRKCPU %U %S',
        'wrk',
        '-t1',
        `-c${CONNECTIONS}`,
        `-d${seconds}s`,
        '--timeout',
        '5s',
        '-s',
        script,
        `${base}${path}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const m = /^JSON (.*)$/m.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed: ${out}${err}`));
      const r = JSON.parse(m[1]);
      const t = /WRKCPU ([\d.]+) ([\d.]+)/.exec(err);
      resolve({
        serverCpuMs: ((cpuOf(server.pid) - serverCpu) * 1000) / r.requests,
        wrkCpuMs: t ? ((Number(t[1]) + Number(t[2])) * 1000) / r.requests : Number.NaN,
        rps: r.requests / (r.duration_us / 1e6),
        p50: r.p50 / 1000,
        p90: r.p90 / 1000,
        p99: r.p99 / 1000,
        max: r.max / 1000,
        requests: r.requests,
        errors: r.errors + r.non2xx,
      });
    });
    child.on('error', reject);
  });
}

async function runAutocannon(path, seconds, method = 'GET', bodies) {
  let autocannon;
  try {
    ({ default: autocannon } = await import('autocannon'));
  } catch {
    throw new Error('No load generator: install wrk (apt-get install wrk) or autocannon (npm install autocannon)');
  }
  let i = 0;
  const result = await autocannon({
    url: `${base}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(bodies ? { requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }] } : {}),
  });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    requests: result.requests.total,
    errors: result.errors + result.non2xx,
  };
}

const load = haveWrk ? runWrk : runAutocannon;
console.log(
  `load generator: ${haveWrk ? 'wrk (1 thread)' : 'autocannon'}, ${CONNECTIONS} connections, loopback, ${cpus().length} cores shared`,
);

const bodies = queries.map((q) => JSON.stringify({ hashes: [q] }));
/** What 2 cores could carry if the server and the load generator had them to themselves. */
const capacity = (r) => (r.serverCpuMs ? Math.round(2000 / (r.serverCpuMs + (r.wrkCpuMs || 0))) : Number.NaN);
const row = (name, r) =>
  `| ${name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.errors} | ${r.serverCpuMs?.toFixed(3) ?? '–'} | ${r.wrkCpuMs?.toFixed(3) ?? '–'} | ${Number.isNaN(capacity(r)) ? '–' : capacity(r).toLocaleString('en-US')} |`;

try {
  // Warm-up (JIT, caches), not reported.
  await load('/v1/match', 5, 'POST', bodies);
  const healthz = await load('/healthz', BASELINE);
  const me = await load('/v1/me', BASELINE);
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: (Date.now() - started) / 1000, rss: rssOf(server.pid) }), 5000);
  const started = Date.now();
  const rssStart = rssOf(server.pid);
  // The match run is cut into segments (BENCH_SEGMENT seconds): a burst of other work on the
  // shared cores then shows as one bad segment instead of hiding in one aggregate.
  const segments = [];
  for (let left = DURATION; left > 0; left -= SEGMENT) {
    const r = await load('/v1/match', Math.min(SEGMENT, left), 'POST', bodies);
    segments.push({ ...r, rss: rssOf(server.pid), load: loadavg()[0] });
  }
  clearInterval(sampler);
  const rssEnd = rssOf(server.pid);
  const total = segments.reduce((n, r) => n + r.requests, 0);
  const match = {
    rps: total / DURATION,
    p50: median(segments.map((r) => r.p50)),
    p90: median(segments.map((r) => r.p90)),
    p99: median(segments.map((r) => r.p99)),
    max: Math.max(...segments.map((r) => r.max)),
    requests: total,
    errors: segments.reduce((n, r) => n + r.errors, 0),
    serverCpuMs: segments.reduce((n, r) => n + r.serverCpuMs * r.requests, 0) / total,
    wrkCpuMs: segments.reduce((n, r) => n + r.wrkCpuMs * r.requests, 0) / total,
  };

  console.log(
    '\n| route | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU ms/request | wrk CPU ms/request | requests/s 2 cores can carry |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(row(`baseline: GET /healthz (${BASELINE} s)`, healthz));
  console.log(row(`baseline: GET /v1/me, auth only (${BASELINE} s)`, me));
  console.log(
    row(
      `**POST /v1/match**, 1 PDQ hash, ${ENTRIES.toLocaleString('en-US')}-entry bank (${DURATION} s; latencies: median of ${segments.length} segments)`,
      match,
    ),
  );
  console.log('\n| segment | requests/s | p50 ms | p99 ms | max ms | server RSS MiB | load average |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  segments.forEach((r, i) => {
    console.log(
      `| ${i + 1} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${mib(r.rss)} | ${r.load.toFixed(1)} |`,
    );
  });
  const early = samples.find((s) => s.t >= Math.min(30, DURATION / 3)) ?? samples[0] ?? { rss: rssStart };
  const peak = Math.max(rssStart, rssEnd, ...samples.map((s) => s.rss));
  console.log(
    `\nserver RSS: ${mib(rssStart)} MiB at the start of the match run, ${mib(early.rss)} MiB after ${Math.round(early.t ?? 0)} s, ` +
      `${mib(rssEnd)} MiB at the end, peak ${mib(peak)} MiB (${samples.length} samples every 5 s)`,
  );
  console.log(`match / healthz throughput: ${(match.rps / healthz.rps).toFixed(2)}`);
  const good = segments.filter((r) => r.p99 <= 20).length;
  const pass = match.rps >= 5000 && match.p99 <= 20 && match.errors === 0;
  console.log(
    `target (>= 5,000 requests/s with p99 <= 20 ms, no errors): ${pass ? 'met' : 'NOT met'} ` +
      `(p99 <= 20 ms in ${good} of ${segments.length} segments)`,
  );
  writeFileSync(
    join(DATA, 'last-run.json'),
    JSON.stringify({ healthz, me, match, segments, rssStart, rssEnd, samples, startup }, null, 2),
  );
  process.exitCode = pass ? 0 : 1;
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
}

// The hash of this script's queries, so runs can be compared.
console.log(`queries: ${createHash('sha256').update(JSON.stringify(queries)).digest('hex').slice(0, 12)}`);

// Benchmark matrix for the service (issue 14): POST /v1/match (1 PDQ hash) against the 1M-entry
// bank of bench/serve.js (built by it, or here when missing), for four configurations in one run,
// interleaved: `ward serve` single-process and `--workers 2`, each without and with a subscribed
// `match` webhook (a local receiver in this process, allow-listed by WARD_EGRESS_ALLOW). Each
// segment starts a fresh server (the bank loads from its index snapshot), so the webhook is
// subscribed before the first request in every process. Load: wrk, 1 thread, loopback.
// Environment: BENCH_SEGMENT (seconds, default 10), BENCH_ROUNDS (default 2), BENCH_CONNECTIONS
// (default 16), BENCH_ENTRIES (default 1000000). Run with `npm run bench:serve:matrix`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKey } from '../dist/server/auth.js';
import { SqliteServiceStore } from '../dist/store/sqlite-service.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '.data', 'serve');
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DB = join(DATA, `bank-${ENTRIES}.db`);

if (!existsSync(DB) || !existsSync(`${DB}.queries.json`)) {
  // serve.js builds the bank and its queries; a 1 s run of it is enough for that.
  execFileSync(process.execPath, [join(here, 'serve.js')], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_DURATION: '1', BENCH_BASELINE_DURATION: '1', BENCH_SEGMENT: '1' },
  });
}
const queries = JSON.parse(readFileSync(`${DB}.queries.json`, 'utf8'));
const bodies = queries.map((q) => JSON.stringify({ hashes: [q] }));

const keyStore = SqliteServiceStore.open(DB);
const { key } = await createKey(keyStore, 'submitter', 'bench', { rate: 0 });
const { key: admin } = await createKey(keyStore, 'admin', 'bench admin', { rate: 0 });
for (const h of await keyStore.listWebhooks()) await keyStore.deleteWebhook(h.id);
await keyStore.close();

// The webhook receiver: answers 200 at once, counts deliveries.
let delivered = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    delivered++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

async function startServer(workers) {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const server = spawn(
    process.execPath,
    [join(here, '..', 'bin', 'ward.js'), 'serve', '--port', String(port), '--db', DB, '--workers', String(workers)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, DATABASE_URL: '', WARD_BANK_POLL_MS: '2000', WARD_EGRESS_ALLOW: '127.0.0.1' },
    },
  );
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      if (String(d).includes('http://')) resolve();
    });
    server.on('exit', (code) => reject(new Error(`ward serve exited (${code})`)));
  });
  return { server, base: `http://127.0.0.1:${port}` };
}
async function stopServer(server) {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
}

function runWrk(base, seconds) {
  const script = join(DATA, 'matrix.lua');
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.headers["authorization"] = "Bearer ${key}"`,
      'wrk.headers["content-type"] = "application/json"',
      'local bodies = {',
      ...bodies.map((b) => `  [[${b}]],`),
      '}',
      'local i = 0',
      'request = function()',
      '  i = i % #bodies + 1',
      '  return wrk.format(nil, "/v1/match", nil, bodies[i])',
      'end',
      'done = function(summary, latency, requests)',
      '  io.write(string.format("JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n", summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(99), latency.max))',
      'end',
      '',
    ].join('\n'),
  );
  const out = execFileSync(
    'wrk',
    ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, `${base}/v1/match`],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(/^JSON (.*)$/m.exec(out)[1]);
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    max: r.max / 1000,
    requests: r.requests,
    errors: r.errors + r.non2xx,
  };
}

const configs = [
  { workers: 1, webhook: false },
  { workers: 1, webhook: true },
  { workers: 2, webhook: false },
  { workers: 2, webhook: true },
];
const results = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Interleaved: every configuration once per round, the order rotated each round.
  const order = configs.map((_, i) => configs[(i + round - 1) % configs.length]);
  for (const c of order) {
    const { server, base } = await startServer(c.workers);
    try {
      if (c.webhook) {
        const res = await fetch(`${base}/v1/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: hookUrl, events: ['match'] }),
        });
        if (res.status !== 201) throw new Error(`webhook: ${res.status} ${await res.text()}`);
      }
      runWrk(base, 2); // warm-up, not reported
      const before = delivered;
      const r = runWrk(base, SEGMENT);
      // Deliveries still in flight are counted for 2 s more.
      await new Promise((res) => setTimeout(res, 2000));
      results.push({ ...c, round, ...r, delivered: delivered - before, load: loadavg()[0] });
      console.log(
        `round ${round}, workers ${c.workers}, webhook ${c.webhook ? 'yes' : 'no'}: ${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, errors ${r.errors}, deliveries ${delivered - before}, load ${loadavg()[0].toFixed(1)}`,
      );
    } finally {
      if (c.webhook) {
        const s = SqliteServiceStore.open(DB);
        for (const h of await s.listWebhooks()) await s.deleteWebhook(h.id);
        await s.close();
      }
      await stopServer(server);
    }
  }
}
receiver.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(
  `\n| configuration | requests/s (mean of ${ROUNDS} × ${SEGMENT} s) | p50 ms (median) | p99 ms (median) | p99 ms (worst) | errors | webhook deliveries/s |`,
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const summary = {};
for (const c of configs) {
  const rs = results.filter((r) => r.workers === c.workers && r.webhook === c.webhook);
  const rps = rs.reduce((n, r) => n + r.rps, 0) / rs.length;
  summary[`${c.workers}-${c.webhook}`] = rps;
  console.log(
    `| ${c.workers === 1 ? 'single process' : '--workers 2'}, ${c.webhook ? 'with' : 'without'} a match webhook | ${Math.round(rps).toLocaleString('en-US')} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${Math.max(...rs.map((r) => r.p99)).toFixed(2)} | ${rs.reduce((n, r) => n + r.errors, 0)} | ${Math.round(rs.reduce((n, r) => n + r.delivered, 0) / (rs.length * SEGMENT)).toLocaleString('en-US')} |`,
  );
}
const two = summary['2-false'];
const twoHook = summary['2-true'];
const p99Two = median(results.filter((r) => r.workers === 2 && !r.webhook).map((r) => r.p99));
console.log(
  `\ntargets: --workers 2 >= 8,000 req/s: ${two >= 8000 ? 'met' : 'NOT met'} (${Math.round(two)}); p99 <= 10 ms: ${p99Two <= 10 ? 'met' : 'NOT met'} (${p99Two.toFixed(2)}); with a webhook >= 80% of without: ${twoHook >= 0.8 * two ? 'met' : 'NOT met'} (${((100 * twoHook) / two).toFixed(0)}%)`,
);
writeFileSync(join(DATA, 'last-matrix.json'), JSON.stringify(results, null, 2));

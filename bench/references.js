// Benchmark for issue 21 (generic provenance pass, references in text). Run with
// `npm run build && node bench/references.js`. Single thread, rounds interleaved, medians.
//
// 1. Metadata-only provenance on the genmeta and c2pa fixtures (WARD_SHARED or ../shared beside
//    the project), BENCH_PROV_IMAGES (default 2000) inspections cycled: this checkout's
//    inspectMetadata against BENCH_BEFORE_DIST's (default: none; e.g. /work/main/dist, the
//    checkout before the generic pass), in the same run.
// 2. Prompts: BENCH_TEXT_PROMPTS (default 20,000) benign prompts of ~200 characters, a tenth
//    carrying a link, a lora tag or a hash: screenText alone, and screenText + referencesOf (what
//    the text extractor now does per text).
// 3. A 10 MB post (benign words with a link, a tag and a hash every ~120 characters) and a 10 MB
//    adversarial text (trigger strings repeated): referencesOf, whole and in 1 MiB pieces.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspectMetadata } from '../dist/provenance/inspect.js';
import { findReferences, ReferenceScanner, referencesOf } from '../dist/references/index.js';
import { screenText } from '../dist/text/screen.js';

const here = dirname(fileURLToPath(import.meta.url));
const SHARED = process.env.WARD_SHARED ? resolve(process.env.WARD_SHARED) : join(here, '..', '..', 'shared');
const COUNT = Number(process.env.BENCH_PROV_IMAGES ?? 2000);
const PROMPTS = Number(process.env.BENCH_TEXT_PROMPTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BEFORE = process.env.BENCH_BEFORE_DIST;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(fn) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = fn();
  const cpu = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, r };
}

// 1. Provenance, metadata only.
const files = [];
for (const sub of ['genmeta', 'c2pa']) {
  const dir = join(SHARED, 'fixtures', sub);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) if (/\.(png|jpe?g|webp)$/i.test(f)) files.push(readFileSync(join(dir, f)));
}
if (files.length > 0) {
  const before = BEFORE
    ? (await import(pathToFileURL(join(BEFORE, 'provenance', 'inspect.js')).href)).inspectMetadata
    : undefined;
  const images = Array.from({ length: COUNT }, (_, i) => files[i % files.length]);
  const rates = { after: [], before: [], afterCpu: [], beforeCpu: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of [['after', inspectMetadata], ...(before ? [['before', before]] : [])]) {
      const t = time(() => {
        let n = 0;
        for (const b of images) n += fn(b).resources.length;
        return n;
      });
      rates[name].push(COUNT / (t.ms / 1000));
      rates[`${name}Cpu`].push(COUNT / (t.cpuMs / 1000));
    }
  }
  console.log(`provenance metadata-only, ${files.length} fixtures cycled to ${COUNT} (images/s, median of ${ROUNDS}):`);
  console.log(
    `  this checkout: ${Math.round(median(rates.after))} wall, ${Math.round(median(rates.afterCpu))} per CPU-s`,
  );
  if (before)
    console.log(
      `  ${BEFORE}: ${Math.round(median(rates.before))} wall, ${Math.round(median(rates.beforeCpu))} per CPU-s`,
    );
} else console.log(`provenance: no fixtures at ${SHARED}/fixtures (set WARD_SHARED); skipped`);

// 2. Prompts.
const words = [
  'a',
  'quiet',
  'harbour',
  'at',
  'dawn',
  'watercolour',
  'soft light',
  'boats',
  'gulls',
  'castle',
  'fog',
  'masterpiece',
  'detailed',
  'landscape',
  'oil painting',
];
let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const extras = [
  ' https://example.org/gallery/123',
  ' <lora:example_style:0.7>',
  ` sha256 ${'ab12'.repeat(16)}`,
  ' Model hash: 45a21ea00a',
];
const prompts = Array.from({ length: PROMPTS }, (_, i) => {
  let p = '';
  while (p.length < 200) p += `${words[Math.floor(rnd() * words.length)]}, `;
  return i % 10 === 0 ? p.slice(0, 160) + extras[i % extras.length] : p.slice(0, 200);
});
const screen = { alone: [], withRefs: [], refsOnly: [] };
let refCount = 0;
for (let round = 0; round < ROUNDS; round++) {
  screen.alone.push(
    time(() => {
      for (const p of prompts) screenText(p, { context: 'prompt', redact: true });
    }).ms,
  );
  screen.withRefs.push(
    time(() => {
      for (const p of prompts) {
        screenText(p, { context: 'prompt', redact: true });
        referencesOf(p, 'text');
      }
    }).ms,
  );
  screen.refsOnly.push(
    time(() => {
      refCount = 0;
      for (const p of prompts) refCount += findReferences(p).length;
    }).ms,
  );
}
const ps = (ms) => Math.round(PROMPTS / (median(ms) / 1000));
console.log(`prompts (${PROMPTS}, ~200 chars, a tenth with a reference; prompts/s, median of ${ROUNDS}):`);
console.log(`  screenText alone: ${ps(screen.alone)}`);
console.log(`  screenText + referencesOf: ${ps(screen.withRefs)}`);
console.log(`  findReferences alone: ${ps(screen.refsOnly)} (${refCount} references)`);

// 3. 10 MB texts.
const unit =
  'a quiet harbour at dawn, boats and gulls https://example.org/p/1 <lora:x:1> sha256 ' + 'ab12'.repeat(16) + '. ';
const post = unit.repeat(Math.ceil(10_000_000 / unit.length)).slice(0, 10_000_000);
const adversarial = ['://', 'www.', '<lora:', '.safetensors', 'urn:air:', 'a'.repeat(5000), '="//', 'hash ']
  .map((u) => u.repeat(Math.ceil(1_250_000 / u.length)))
  .join('');
for (const [name, text] of [
  ['post', post],
  ['adversarial', adversarial],
]) {
  const whole = [];
  const pieces = [];
  for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
    whole.push(time(() => findReferences(text)).ms);
    pieces.push(
      time(() => {
        const s = new ReferenceScanner();
        for (let at = 0; at < text.length; at += 1 << 20) s.push(text.slice(at, at + (1 << 20)));
        return s.end();
      }).ms,
    );
  }
  console.log(`10 MB ${name}: whole ${Math.round(median(whole))} ms, 1 MiB pieces ${Math.round(median(pieces))} ms`);
}

// Benchmark for text screening (issue 7). Run with `npm run bench:text` (builds first).
//
// Generates BENCH_TEXT_PROMPTS (default 20,000) prompts of 200 characters, deterministically:
// comma-separated benign prompt phrases, with lexicon terms (adult, sexual, minor, look-alike)
// mixed into some of them, taken from data/lexicons at run time (no term is written here). Then
// measures, single thread, interleaved over BENCH_ROUNDS (default 5) rounds:
//   baseline: a naive word-list scan, one case-insensitive regular expression alternating every
//     lexicon term with word boundaries (what a plain word filter does: no normalization);
//   ward: screenText(prompt) (normalization in both modes, automaton, rules, verdict);
//   previous (when BENCH_TEXT_PREVIOUS is the path of an earlier build's dist/text/screen.js, with
//     its own data/lexicons beside it): the same prompts through that screener, in the same
//     rounds (docs/benchmarks.md gives the commands that build the issue-7 normalizer).
// Reports prompts/s (median), the ratio, and verdict counts (never the texts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../dist/demo/images.js';
import { screenText } from '../dist/text/screen.js';

const here = dirname(fileURLToPath(import.meta.url));
const COUNT = Number(process.env.BENCH_TEXT_PROMPTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LENGTH = Number(process.env.BENCH_TEXT_LENGTH ?? 200);
const lexDir = join(here, '..', 'data', 'lexicons');
const manifest = JSON.parse(readFileSync(join(lexDir, 'manifest.json'), 'utf8'));

/** Every term of the lexicons, by category, plain strings (stem markers removed). */
function lexiconTerms() {
  const byCat = { minor: [], sexual: [], adult: [], lookalike: [], all: [] };
  for (const lang of manifest.languages) {
    const lex = JSON.parse(readFileSync(join(lexDir, `${lang}.json`), 'utf8'));
    for (const [cat, byStrength] of Object.entries(lex.terms))
      for (const groups of Object.values(byStrength))
        for (const items of Object.values(groups))
          for (const item of items) {
            const t = (typeof item === 'string' ? item : item.term).replace(/\*$/, '');
            byCat[cat]?.push(t);
            byCat.all.push(t);
          }
    for (const items of Object.values(lex.lookalikes ?? {}))
      for (const item of items) {
        const t = (typeof item === 'string' ? item : item.term).replace(/\*$/, '');
        byCat.lookalike.push(t);
        byCat.all.push(t);
      }
  }
  return byCat;
}

const BENIGN = [
  'masterpiece',
  'best quality',
  'highly detailed',
  'portrait',
  'landscape',
  'sunset over the sea',
  'mountain lake',
  'city street at night',
  'cinematic lighting',
  'soft focus',
  'watercolor',
  'oil painting',
  'studio photo',
  'bokeh',
  '8k',
  'sharp focus',
  'golden hour',
  'forest path',
  'old library',
  'red car',
  'smiling',
  'looking at viewer',
  'wide angle',
  'film grain',
  'volumetric fog',
  '(detailed face:1.2)',
  'rainy window',
  'coffee cup',
  'snowy village',
  'vintage poster',
  'dramatic sky',
  'anime style',
  'digital art',
  'trending on artstation',
];

function makePrompts(terms) {
  const rand = seededRandom(0x7e57);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const prompts = [];
  for (let i = 0; i < COUNT; i++) {
    const parts = [];
    let len = 0;
    while (len < LENGTH + 20) {
      const r = rand();
      const part =
        r < 0.04
          ? pick(terms.sexual)
          : r < 0.07
            ? pick(terms.adult)
            : r < 0.09
              ? pick(terms.minor)
              : r < 0.1
                ? pick(terms.lookalike)
                : pick(BENIGN);
      parts.push(part);
      len += part.length + 2;
    }
    prompts.push(parts.join(', ').slice(0, LENGTH));
  }
  return prompts;
}

function baselineRegex(terms) {
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const alts = [...new Set(terms.all.map((t) => t.toLowerCase()))].sort((a, b) => b.length - a.length).map(esc);
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
}

/** Wall-clock and CPU time (user + system) of fn; CPU time is what a busy shared VM distorts least. */
function timeIt(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, result };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const previous = process.env.BENCH_TEXT_PREVIOUS
  ? (await import(new URL(`file://${process.env.BENCH_TEXT_PREVIOUS}`).href)).screenText
  : undefined;
const terms = lexiconTerms();
const prompts = makePrompts(terms);
const regex = baselineRegex(terms);
const chars = prompts.reduce((n, p) => n + p.length, 0);
console.log(
  `text screening: ${COUNT} prompts of ${LENGTH} characters (${(chars / 1e6).toFixed(2)} M chars), ${terms.all.length} lexicon terms, ${ROUNDS} rounds, single thread, Node ${process.versions.node}`,
);

// Warm-up (lexicon load and JIT), not timed.
const tLoad = timeIt(() => screenText('warm up'));
for (let i = 0; i < 2000; i++) screenText(prompts[i % prompts.length]);
for (let i = 0; i < 2000; i++) prompts[i % prompts.length].toLowerCase().match(regex);
if (previous) for (let i = 0; i < 2000; i++) previous(prompts[i % prompts.length]);

const rates = { baseline: [], ward: [], baselineCpu: [], wardCpu: [], previous: [], previousCpu: [] };
let previousCounts;
let counts;
for (let round = 0; round < ROUNDS; round++) {
  const base = timeIt(() => {
    let hits = 0;
    for (const p of prompts) hits += p.toLowerCase().match(regex)?.length ?? 0;
    return hits;
  });
  const ward = timeIt(() => {
    const c = { block: 0, review: 0, allow: 0 };
    for (const p of prompts) c[screenText(p).verdict]++;
    return c;
  });
  counts = ward.result;
  if (previous) {
    const prev = timeIt(() => {
      const c = { block: 0, review: 0, allow: 0 };
      for (const p of prompts) c[previous(p).verdict]++;
      return c;
    });
    previousCounts = prev.result;
    rates.previous.push(COUNT / (prev.ms / 1000));
    rates.previousCpu.push(COUNT / (prev.cpuMs / 1000));
    console.log(
      `round ${round + 1}: previous ${Math.round(COUNT / (prev.ms / 1000))} prompts/s (${Math.round(COUNT / (prev.cpuMs / 1000))} per CPU-s)`,
    );
  }
  rates.baseline.push(COUNT / (base.ms / 1000));
  rates.ward.push(COUNT / (ward.ms / 1000));
  rates.baselineCpu.push(COUNT / (base.cpuMs / 1000));
  rates.wardCpu.push(COUNT / (ward.cpuMs / 1000));
  console.log(
    `round ${round + 1}: baseline ${Math.round(COUNT / (base.ms / 1000))} prompts/s (${Math.round(COUNT / (base.cpuMs / 1000))} per CPU-s, ${base.result} word hits), ward ${Math.round(COUNT / (ward.ms / 1000))} prompts/s (${Math.round(COUNT / (ward.cpuMs / 1000))} per CPU-s)`,
  );
}
const b = median(rates.baseline);
const w = median(rates.ward);
const bc = median(rates.baselineCpu);
const wc = median(rates.wardCpu);
const best = Math.max(...rates.ward);
const round = (xs) => xs.map(Math.round).join(', ');
console.log(`\nfirst call (lexicon load and compile): ${tLoad.ms.toFixed(0)} ms`);
console.log('| configuration | prompts/s (median, wall clock) | per round | prompts per CPU-second (median) |');
console.log('| --- | ---: | --- | ---: |');
console.log(
  `| baseline: naive regex word list (no normalization) | ${Math.round(b)} | ${round(rates.baseline)} | ${Math.round(bc)} |`,
);
if (previous)
  console.log(
    `| previous build's screenText (BENCH_TEXT_PREVIOUS) | ${Math.round(median(rates.previous))} | ${round(rates.previous)} | ${Math.round(median(rates.previousCpu))} |`,
  );
console.log(`| **ward screenText** | **${Math.round(w)}** | ${round(rates.ward)} | **${Math.round(wc)}** |`);
if (previous)
  console.log(
    `ward / previous (same rounds): ${(w / median(rates.previous)).toFixed(2)}x wall clock, ${(wc / median(rates.previousCpu)).toFixed(2)}x CPU; previous verdicts: ${JSON.stringify(previousCounts)}`,
  );
console.log(
  `ward / baseline (same rounds): ${(w / b).toFixed(2)}x wall clock, ${(wc / bc).toFixed(2)}x CPU; verdicts: ${JSON.stringify(counts)}`,
);
const met = Math.max(w, wc) >= 20_000;
console.log(
  `target >= 20,000 prompts/s single thread: ${met ? 'met' : 'NOT met'} (median wall ${Math.round(w)}, median CPU ${Math.round(wc)}, best round ${Math.round(best)})`,
);
if (!met) process.exitCode = 1;

// Evaluation of text screening (issue 7). Run with `npm run eval:text` (builds first).
//
// Labeled sets:
//   eval/data/lookalike.json        benign look-alikes (expected: not block)
//   eval/data/adult-sexual.json     adult sexual content, clinical phrasing (expected: not block)
//   eval/data/minor-nonsexual.json  minors in non-sexual contexts (expected: not block)
//   minor-sexual                    GENERATED here, at run time, from the lexicon files: pairs of a
//                                   strong minor indicator (or a stated age under 18) and a strong
//                                   sexual term of the same language, put in neutral templates, each
//                                   with obfuscated variants (leet, spacing, homoglyphs, fullwidth,
//                                   zero-width, repeated letters, diacritics, emoji, case). Nothing
//                                   of this set is written to the repository (expected: block).
//   negative-steering               GENERATED: a sexual prompt with adult terms in its negative
//                                   prompt (expected: block).
// Every text is screened in the contexts prompt, caption, title, post and tags (the tags context
// gets the text split on commas and spaces into a tag map). Reports, per set and context: block,
// review and allow counts, block recall (generated sets) or block false-positive rate (benign
// sets), and block precision over all sets. Never prints texts (EVAL_SHOW_MISSES=1 prints the
// generated texts that were missed, for lexicon work).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../dist/demo/images.js';
import { textEngine } from '../dist/text/engine.js';
import { screenPromptPair, screenTags, screenText } from '../dist/text/screen.js';
import { evaluate, loadSets, report } from './obfuscation.js';

const here = dirname(fileURLToPath(import.meta.url));
const lexDir = join(here, '..', 'data', 'lexicons');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const manifest = readJson(join(lexDir, 'manifest.json'));
const PAIRS_PER_LANGUAGE = Number(process.env.EVAL_PAIRS ?? 40);
const CONTEXTS = ['prompt', 'caption', 'title', 'post', 'tags'];
const rand = seededRandom(0xe7a1);
const pick = (list) => list[Math.floor(rand() * list.length)];
const termOf = (item) => (typeof item === 'string' ? item : item.term).replace(/\*$/, '');

// ---------------------------------------------------------------------------------------------
// Lexicon terms (strong minor indicators, strong sexual terms, adult terms, number words, units).
const lex = {};
for (const lang of manifest.languages) {
  const f = readJson(join(lexDir, `${lang}.json`));
  const list = (cat, strength) =>
    Object.values(f.terms[cat]?.[strength] ?? {})
      .flat()
      .filter((i) => typeof i === 'string' || !i.confirm)
      .map(termOf);
  lex[lang] = {
    minor: list('minor', 'strong'),
    sexual: list('sexual', 'strong'),
    adult: list('adult', 'strong'),
    numbers: Object.entries(f.numbers ?? {}).filter(([, v]) => v >= 1 && v <= 17),
    units: Object.entries(f.ageUnits ?? {})
      .filter(([, k]) => k === 'years')
      .map(([t]) => t),
  };
}

// Homoglyphs from the generated confusables data: folded letter -> characters that fold to it.
const confusables = readJson(join(lexDir, manifest.shared.confusables)).map;
const homoglyphs = new Map();
for (const [src, target] of Object.entries(confusables)) {
  if ([...target].length !== 1 || !/\p{L}/u.test(src)) continue;
  if (!homoglyphs.has(target)) homoglyphs.set(target, []);
  homoglyphs.get(target).push(src);
}
const emojiWords = readJson(join(lexDir, manifest.shared.emoji)).words;
const emojiFor = new Map(Object.entries(emojiWords).map(([e, w]) => [w, e]));

// ---------------------------------------------------------------------------------------------
// Obfuscations. Each returns undefined when it does not apply to the term.
const LATIN = /^[a-zà-ÿ' -]+$/u;
const WORDY = /^[\p{Script=Latin}\p{Script=Cyrillic}' -]+$/u;
const ALL_CJK = /^[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}]+$/u;
const LEET = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7', b: '8', g: '9' };
const OBFUSCATIONS = {
  plain: (t) => t,
  case: (t) => (WORDY.test(t) ? [...t].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('') : undefined),
  leet: (t) => {
    if (!LATIN.test(t)) return undefined;
    const out = [...t].map((c) => LEET[c] ?? c).join('');
    return out === t ? undefined : out;
  },
  spacing: (t) => (WORDY.test(t) && !t.includes(' ') ? [...t].join(pick(['.', ' ', '-', '_', ' . '])) : undefined),
  cjkSpacing: (t) => (ALL_CJK.test(t) && [...t].length > 1 ? [...t].join(' ') : undefined),
  homoglyph: (t) => {
    if (!WORDY.test(t)) return undefined;
    let changed = false;
    const out = [...t]
      .map((c) => {
        // For Cyrillic letters the Latin look-alike is the folded target itself.
        const folded = confusables[c];
        if (folded && [...folded].length === 1 && /\p{Script=Latin}/u.test(folded)) {
          changed = true;
          return folded;
        }
        const alts = (homoglyphs.get(c) ?? []).filter((s) => !/[\p{Script=Latin}]/u.test(s) || s > '\u024f');
        if (alts.length === 0) return c;
        changed = true;
        return alts[Math.floor(rand() * alts.length)];
      })
      .join('');
    return changed ? out : undefined;
  },
  fullwidth: (t) =>
    /[a-z]/.test(t) ? t.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x61 + 0xff41)) : undefined,
  zeroWidth: (t) =>
    [...t].length > 1 ? [...t].join(pick(['\u200b', '\u200c', '\u200d', '\u2060', '\u00ad'])) : undefined,
  repeated: (t) => (WORDY.test(t) ? t.replace(/[aeiouаеиоуыэюя]/u, (v) => v.repeat(4)) : undefined),
  diacritics: (t) => (LATIN.test(t) ? [...t].map((c) => (/[a-z]/.test(c) ? `${c}\u0301` : c)).join('') : undefined),
  emoji: (t) => emojiFor.get(t),
};

// ---------------------------------------------------------------------------------------------
// Templates (neutral). Each is one text; `tags` is built from the two terms.
const TEMPLATES = [
  (a, b) => `${a} ${b}`,
  (a, b) => `${b}, ${a}`,
  (a, b) => `photo of ${a}, ${b}`,
  (a, b) => `${a}, ${b}, masterpiece`,
];

function generateMinorSexual() {
  const cases = [];
  for (const lang of manifest.languages) {
    const { minor, sexual } = lex[lang];
    for (let i = 0; i < PAIRS_PER_LANGUAGE; i++) {
      const a = minor[i % minor.length];
      const b = pick(sexual);
      for (const [kind, fn] of Object.entries(OBFUSCATIONS)) {
        // Obfuscate one side (alternating), or both for the plain variant.
        const side = i % 2 === 0 ? 'a' : 'b';
        const oa = side === 'a' ? fn(a) : a;
        const ob = side === 'b' ? fn(b) : b;
        if (oa === undefined || ob === undefined || (kind !== 'plain' && oa === a && ob === b)) continue;
        cases.push({ set: 'minor-sexual', lang, kind, a: oa, b: ob, template: TEMPLATES[i % TEMPLATES.length] });
      }
    }
    // Stated ages under 18: digits with each unit, and number words with the first unit.
    const { numbers, units } = lex[lang];
    for (let i = 0; i < Math.min(10, Math.max(units.length, 1) * 3); i++) {
      const age = 1 + Math.floor(rand() * 17);
      const unit = units[i % units.length];
      if (!unit) break;
      const spaced = /^[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}]/u.test(unit) ? '' : ' ';
      cases.push({
        set: 'minor-sexual',
        lang,
        kind: 'age',
        a: `${age}${spaced}${unit}`,
        b: pick(lex[lang].sexual),
        template: TEMPLATES[i % 4],
      });
      if (numbers.length > 0) {
        const [word] = pick(numbers);
        cases.push({
          set: 'minor-sexual',
          lang,
          kind: 'age-words',
          a: `${word} ${unit}`,
          b: pick(lex[lang].sexual),
          template: TEMPLATES[(i + 1) % 4],
        });
      }
    }
  }
  // English age forms of the issue: 15yo, y/o, age: 15.
  for (let age = 1; age < 18; age++) {
    for (const form of [`${age}yo`, `${age} y/o`, `age: ${age}`, `${age}-year-old`, `aged ${age}`])
      cases.push({
        set: 'minor-sexual',
        lang: 'en',
        kind: 'age',
        a: form,
        b: pick(lex.en.sexual),
        template: TEMPLATES[age % 4],
      });
  }
  return cases;
}

function generateSteering() {
  const cases = [];
  for (const lang of manifest.languages) {
    for (let i = 0; i < 10; i++)
      cases.push({
        set: 'negative-steering',
        lang,
        kind: 'pair',
        prompt: pick(lex[lang].sexual),
        negative: pick(lex[lang].adult),
      });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
function tagsOf(text) {
  const tags = {};
  for (const t of text.split(/,\s*/u)) if (t.trim()) tags[t.trim()] = 1 + (t.length % 5);
  return tags;
}

function screen(text, context) {
  if (context === 'tags') return screenTags(tagsOf(text)).verdict;
  return screenText(text, { context }).verdict;
}

const results = []; // {set, context, lang, kind, verdict}
const misses = [];
const benignSets = ['lookalike', 'adult-sexual', 'minor-nonsexual'];
for (const set of benignSets) {
  for (const item of readJson(join(here, 'data', `${set}.json`)).items)
    for (const context of CONTEXTS)
      results.push({ set, context, lang: item.lang, kind: 'written', verdict: screen(item.text, context) });
}
const generated = generateMinorSexual();
for (const c of generated) {
  for (const context of CONTEXTS) {
    const text = context === 'tags' ? `${c.a}, ${c.b}` : c.template(c.a, c.b);
    const verdict = screen(text, context);
    results.push({ set: c.set, context, lang: c.lang, kind: c.kind, verdict });
    if (verdict !== 'block') misses.push({ context, kind: c.kind, lang: c.lang, text });
  }
}
for (const c of generateSteering()) {
  const verdict = screenPromptPair({ prompt: c.prompt, negativePrompt: c.negative }).verdict;
  results.push({ set: c.set, context: 'pair', lang: c.lang, kind: c.kind, verdict });
  if (verdict !== 'block')
    misses.push({ context: 'pair', kind: c.kind, lang: c.lang, text: `${c.prompt} | ${c.negative}` });
}

// ---------------------------------------------------------------------------------------------
const positive = (set) => set === 'minor-sexual' || set === 'negative-steering';
function row(label, rs) {
  const n = rs.length;
  const block = rs.filter((r) => r.verdict === 'block').length;
  const review = rs.filter((r) => r.verdict === 'review').length;
  const pos = rs.length > 0 && positive(rs[0].set);
  const rate = n === 0 ? 0 : block / n;
  return { label, n, block, review, allow: n - block - review, rate, pos };
}
const fmt = (x) => x.toFixed(4);
function table(title, rows) {
  console.log(`\n### ${title}\n`);
  console.log('| set | context | n | block | review | allow | block recall | block FPR |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.label[0]} | ${r.label[1]} | ${r.n} | ${r.block} | ${r.review} | ${r.allow} | ${r.pos ? fmt(r.rate) : ''} | ${r.pos ? '' : fmt(r.rate)} |`,
    );
}
const sets = [...new Set(results.map((r) => r.set))];
const byContext = [];
for (const set of sets) {
  const rs = results.filter((r) => r.set === set);
  for (const context of [...new Set(rs.map((r) => r.context))])
    byContext.push(
      row(
        [set, context],
        rs.filter((r) => r.context === context),
      ),
    );
  byContext.push(row([set, '**all**'], rs));
}
console.log(
  `## Text screening evaluation (lexicon ${manifest.version}, ${generated.length} generated minor-sexual texts, ${results.length} screenings)`,
);
table('Per set and context', byContext);
const ms = results.filter((r) => r.set === 'minor-sexual');
table(
  'minor-sexual by obfuscation',
  [...new Set(ms.map((r) => r.kind))].map((k) =>
    row(
      ['minor-sexual', k],
      ms.filter((r) => r.kind === k),
    ),
  ),
);
table(
  'minor-sexual by language',
  manifest.languages.map((l) =>
    row(
      ['minor-sexual', l],
      ms.filter((r) => r.lang === l),
    ),
  ),
);
const benign = results.filter((r) => !positive(r.set));
table(
  'benign sets by language',
  manifest.languages.map((l) =>
    row(
      ['benign', l],
      benign.filter((r) => r.lang === l),
    ),
  ),
);

console.log('\n### Block precision, recall and false-positive rate per context (all sets)\n');
console.log('| context | TP | FP | FN | TN | precision | recall | FPR |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const context of [...CONTEXTS, 'pair']) {
  const rs = results.filter((r) => r.context === context);
  const TP = rs.filter((r) => positive(r.set) && r.verdict === 'block').length;
  const FP = rs.filter((r) => !positive(r.set) && r.verdict === 'block').length;
  const FN = rs.filter((r) => positive(r.set) && r.verdict !== 'block').length;
  const TN = rs.filter((r) => !positive(r.set) && r.verdict !== 'block').length;
  const div = (a, b) => (b === 0 ? '—' : fmt(a / b));
  console.log(
    `| ${context} | ${TP} | ${FP} | ${FN} | ${TN} | ${div(TP, TP + FP)} | ${div(TP, TP + FN)} | ${div(FP, FP + TN)} |`,
  );
}
const tp = results.filter((r) => positive(r.set) && r.verdict === 'block').length;
const fp = results.filter((r) => !positive(r.set) && r.verdict === 'block').length;
const recall = tp / results.filter((r) => positive(r.set)).length;
const precision = tp / (tp + fp);
console.log(`\nblock precision (all sets): ${fmt(precision)}; block recall (generated sets): ${fmt(recall)}`);
const msRecall = ms.filter((r) => r.verdict === 'block').length / ms.length;
const fprs = benignSets.map((s) => {
  const rs = results.filter((r) => r.set === s);
  return [s, rs.filter((r) => r.verdict === 'block').length / rs.length];
});
const ok = msRecall >= 0.98 && fprs.every(([, f]) => f <= 0.01);
console.log(
  `targets: block recall on minor-sexual >= 0.98: ${fmt(msRecall)}; block FPR <= 0.01: ${fprs.map(([s, f]) => `${s} ${fmt(f)}`).join(', ')} -> ${ok ? 'met' : 'NOT met'}`,
);
// ---------------------------------------------------------------------------------------------
// Issue 21: the obfuscation corpus and the I2P hard negatives, tuning half and held-apart half
// (eval/build-corpus.mjs; eval/heldout/README.md). A change that improves the tuning half and
// lowers the held-apart half is not merged. Held-apart texts and misses are never printed.
const halves = loadSets();
const verdictOf = (t) => screenText(t, { context: 'prompt' }).verdict;
const showMisses = process.env.EVAL_SHOW_MISSES === '1';
const minorOf = (t) => {
  let m = false;
  textEngine().scan(t, (h) => {
    if (h.category === 'minor' || h.category === 'age') m = true;
  });
  return m;
};
const tune21 = evaluate(verdictOf, halves.tune, { keepMisses: showMisses, minorOf });
const held21 = evaluate(verdictOf, halves.heldout, { minorOf });
console.log('\n## Issue 21: obfuscation classes and real-prompt hard negatives (prompt context)\n');
console.log(report(tune21, held21));
const floors = { recall: 0.9, precision: 0.99, i2pFpr: 0.002 };
const ok21 = held21.recall >= floors.recall && held21.precision >= floors.precision && held21.fprI2p <= floors.i2pFpr;
console.log(
  `\nheld-apart floors (test/text/heldout.test.ts): recall >= ${floors.recall}: ${fmt(held21.recall)}; precision >= ${floors.precision}: ${fmt(held21.precision)}; I2P block FPR <= ${floors.i2pFpr}: ${fmt(held21.fprI2p)} -> ${ok21 ? 'met' : 'NOT met'}`,
);
if (!ok21) process.exitCode = 1;
if (showMisses) for (const m of tune21.misses) console.log(JSON.stringify({ set: 'issue21-tune', ...m }));
if (process.env.EVAL_SHOW_MISSES === '1') for (const m of misses) console.log(JSON.stringify(m));
else if (misses.length > 0)
  console.log(`(${misses.length} generated texts not blocked; EVAL_SHOW_MISSES=1 lists them)`);
if (process.env.EVAL_SHOW_FP === '1')
  for (const set of benignSets)
    for (const item of readJson(join(here, 'data', `${set}.json`)).items)
      for (const context of CONTEXTS)
        if (screen(item.text, context) === 'block') console.log(JSON.stringify({ set, context, text: item.text }));
if (!ok) process.exitCode = 1;

// Builds the obfuscation corpus of issue 21 ONCE and splits it into a tuning half and a held-apart
// half, before any normalizer rule for these classes was written. The output is checked in:
//   eval/data/obfuscation-tune.json      tuning half: misses may be looked at (EVAL_SHOW_MISSES=1)
//   eval/heldout/obfuscation.json        held-apart half: only aggregate figures are ever printed
// and the real-prompt hard negatives (I2P, see eval/heldout/README.md) the same way:
//   eval/data/i2p-tune.json, eval/heldout/i2p.json
//
// Usage (only to rebuild from scratch; a rebuild must be a separate commit that says so):
//   node eval/build-corpus.mjs [path/to/i2p_benchmark.csv]
//
// Records hold components, never composed prompts: an obfuscated minor indicator (or stated age),
// an obfuscated sexual term, filler words, an order; eval/text.js composes them at run time.
// The obfuscations here are written independently of src/text (their own separator sets, leet
// tables, homoglyph picks, transliteration schemes), from the lexicon files as they were when the
// corpus was built (lexicon 1.1.0: the ten languages, no transliterations or readings).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const lexDir = join(here, '..', 'data', 'lexicons');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const manifest = readJson(join(lexDir, 'manifest.json'));

// mulberry32: deterministic, independent of dist/.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(0x21_2026);
const pick = (l) => l[Math.floor(rand() * l.length)];
const chance = (p) => rand() < p;
const termOf = (i) => (typeof i === 'string' ? i : i.term).replace(/\*$/, '');

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
    numbers: Object.entries(f.numbers ?? {}),
    units: Object.entries(f.ageUnits ?? {})
      .filter(([, k]) => k === 'years')
      .map(([t]) => t),
  };
}

// ---------------------------------------------------------------------------------------------
// Obfuscation classes (issue 21). Each takes a term and returns an obfuscated form or undefined.
const LATINISH = /^[\p{Script=Latin}' -]+$/u;
const WORDY = /^[\p{Script=Latin}\p{Script=Cyrillic}]+$/u; // one word, alphabetic script
const SEPS = ['.', '-', '_', ' ', '\u200b', '\u200c', '\u2060', '*', '~', '•', '/', '|', '+', "'", '\u00ad', '·', '\u3000'];
function sepRun() {
  const n = 1 + Math.floor(rand() * 4);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(SEPS);
  return s;
}
const LEETS = {
  a: ['4', '@'],
  e: ['3'],
  i: ['1', '!', '|'],
  o: ['0'],
  s: ['5', '$'],
  t: ['7', '+'],
  b: ['8'],
  g: ['9', '6'],
  l: ['1', '|'],
  z: ['2'],
};
const HOMO = {
  a: ['а', 'ɑ', 'α'],
  c: ['с', 'ϲ'],
  e: ['е', 'ҽ'],
  i: ['і', 'ι', 'ı'],
  j: ['ј'],
  k: ['κ', 'к'],
  n: ['ո', 'η'],
  o: ['о', 'ο', 'օ', 'ᴏ'],
  p: ['р', 'ρ'],
  s: ['ѕ'],
  u: ['υ', 'ս'],
  v: ['ν', 'ѵ'],
  x: ['х', 'χ'],
  y: ['у', 'γ'],
  h: ['һ'],
  d: ['ԁ'],
  g: ['ɡ'],
  l: ['ӏ', 'ⅼ'],
  r: ['г'],
  t: ['т'],
  m: ['м'],
  b: ['Ь'],
};
const CYR_TO_LAT = {
  а: ['a'],
  б: ['b'],
  в: ['v', 'w'],
  г: ['g'],
  д: ['d'],
  е: ['e', 'ye'],
  ё: ['yo', 'e'],
  ж: ['zh', 'j'],
  з: ['z'],
  и: ['i'],
  й: ['y', 'j', 'i'],
  к: ['k'],
  л: ['l'],
  м: ['m'],
  н: ['n'],
  о: ['o'],
  п: ['p'],
  р: ['r'],
  с: ['s'],
  т: ['t'],
  у: ['u'],
  ф: ['f'],
  х: ['kh', 'h', 'x'],
  ц: ['ts', 'c'],
  ч: ['ch'],
  ш: ['sh'],
  щ: ['shch', 'sch'],
  ъ: [''],
  ы: ['y', 'i'],
  ь: ['', "'"],
  э: ['e'],
  ю: ['yu', 'ju', 'iu'],
  я: ['ya', 'ja', 'ia'],
};
// Hepburn-ish and Nihon-shiki-ish kana (hiragana and katakana), long vowel mark doubled or dropped.
const KANA = {};
{
  const rows =
    'a i u e o ka ki ku ke ko sa shi/si su se so ta chi/ti tsu/tu te to na ni nu ne no ha hi fu/hu he ho ma mi mu me mo ya - yu - yo ra/la ri/li ru/lu re/le ro/lo wa - - - wo ga gi gu ge go za ji/zi zu ze zo da ji/di zu/du de do ba bi bu be bo pa pi pu pe po'.split(
      ' ',
    );
  const hira = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもや-ゆ-よらりるれろわ---をがぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽ';
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] === '-' || hira[i] === '-') continue;
    const h = hira[i];
    const k = String.fromCharCode(h.charCodeAt(0) + 0x60);
    KANA[h] = KANA[k] = rows[i].split('/');
  }
  KANA.ん = KANA.ン = ['n'];
  KANA.ヴ = ['vu'];
}
const SMALL = { ゃ: 'ya', ゅ: 'yu', ょ: 'yo', ャ: 'ya', ュ: 'yu', ョ: 'yo' };
function romaji(t) {
  const cs = [...t];
  let out = '';
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    const next = cs[i + 1];
    if (c === 'ッ' || c === 'っ') {
      const r = next && KANA[next] ? KANA[next][0] : '';
      out += r.startsWith('ch') ? 't' : r[0] ?? '';
      continue;
    }
    if (c === 'ー') {
      out += chance(0.5) ? out.at(-1) ?? '' : '';
      continue;
    }
    if (c === 'ィ' && out.endsWith('e')) {
      out += 'i';
      continue;
    }
    const r = KANA[c];
    if (!r) return undefined;
    let s = pick(r);
    if (next && SMALL[next]) {
      const y = SMALL[next];
      s = s.endsWith('hi') ? `${s.slice(0, -1)}${y.slice(1)}` : s.endsWith('ji') ? `j${y.slice(1)}` : `${s.slice(0, -1)}${y}`;
      i++;
    }
    out += s;
  }
  return out;
}
// Korean: Revised Romanization with a McCune-Reischauer-ish alternative for a few vowels.
const KO_I = ['g', 'kk', 'n', 'd', 'tt', 'r', 'm', 'b', 'pp', 's', 'ss', '', 'j', 'jj', 'ch', 'k', 't', 'p', 'h'];
const KO_V = [['a'], ['ae'], ['ya'], ['yae'], ['eo', 'o', 'u'], ['e'], ['yeo', 'yo'], ['ye'], ['o'], ['wa'], ['wae'], ['oe'], ['yo'], ['u', 'oo'], ['wo'], ['we'], ['wi'], ['yu'], ['eu', 'u'], ['ui'], ['i']];
const KO_F = ['', 'k', 'k', 'k', 'n', 'n', 'n', 't', 'l', 'k', 'm', 'l', 'l', 'l', 'p', 'l', 'm', 'p', 'p', 't', 't', 'ng', 't', 't', 'k', 't', 'p', 't'];
function korean(t) {
  let out = '';
  for (const ch of t) {
    const cp = ch.codePointAt(0);
    if (ch === ' ') {
      out += ' ';
      continue;
    }
    if (cp < 0xac00 || cp > 0xd7a3) return undefined;
    const s = cp - 0xac00;
    const i = Math.floor(s / 588);
    const v = Math.floor((s % 588) / 28);
    const f = s % 28;
    let init = KO_I[i];
    if (init === 'r' && (out === '' || out.endsWith(' '))) init = chance(0.5) ? 'r' : 'l';
    out += init + pick(KO_V[v]) + KO_F[f];
  }
  return out;
}
const CLASSES = {
  plain: (t) => t,
  separators: (t) => (WORDY.test(t) && [...t].length >= 3 ? [...t].map((c, i) => (i ? sepRun() + c : c)).join('') : undefined),
  chunks: (t) => {
    if (!WORDY.test(t) || [...t].length < 4) return undefined;
    const cs = [...t];
    const parts = [];
    for (let i = 0; i < cs.length; ) {
      const n = Math.min(cs.length - i, 2 + Math.floor(rand() * 2));
      parts.push(cs.slice(i, i + n).join(''));
      i += n;
    }
    if (parts.length < 2) return undefined;
    return parts.join(pick([' ', '.', '-', '_', ' . ', '  ', '\u200b ', '/']));
  },
  repeated: (t) => (WORDY.test(t) ? [...t].map((c) => (chance(0.4) ? c.repeat(2 + Math.floor(rand() * 4)) : c)).join('') : undefined),
  dropped: (t) => {
    const cs = [...t];
    if (!WORDY.test(t) || cs.length < 6) return undefined;
    const at = 1 + Math.floor(rand() * (cs.length - 2));
    if (cs[at] === cs[at - 1] || cs[at] === cs[at + 1]) return undefined;
    cs.splice(at, 1);
    return cs.join('');
  },
  leet: (t) => {
    if (!LATINISH.test(t)) return undefined;
    let changed = false;
    const out = [...t]
      .map((c) => {
        const l = LEETS[c];
        if (!l || !chance(0.6)) return c;
        changed = true;
        return pick(l);
      })
      .join('');
    return changed ? out : undefined;
  },
  digitsOnly: (t) => {
    if (!/^[a-z]+$/.test(t)) return undefined;
    const out = [...t].map((c) => LEETS[c]?.find((x) => /\d/.test(x))).join('');
    return out.length === t.length ? out : undefined;
  },
  confusables: (t) => {
    if (!/^[a-z]+( [a-z]+)*$/.test(t)) return undefined;
    let changed = false;
    const out = [...t]
      .map((c) => {
        const h = HOMO[c];
        if (!h || !chance(0.5)) return c;
        changed = true;
        return pick(h);
      })
      .join('');
    return changed ? out : undefined;
  },
  joined: (t) => (t.includes(' ') && LATINISH.test(t) ? t.replaceAll(' ', pick(['', '', '-', '_'])) : undefined),
  translit: (t) => {
    if (/^[\p{Script=Cyrillic} ]+$/u.test(t))
      return [...t].map((c) => (c === ' ' ? ' ' : pick(CYR_TO_LAT[c] ?? [c]))).join('');
    if (/^[\p{Script=Hangul} ]+$/u.test(t)) return korean(t);
    if (/^[\p{Script=Katakana}\p{Script=Hiragana}ー]+$/u.test(t)) return romaji(t);
    return undefined;
  },
};
const MIXES = [
  ['leet', 'separators'],
  ['confusables', 'repeated'],
  ['chunks', 'leet'],
  ['translit', 'separators'],
  ['dropped', 'confusables'],
];
function obfuscate(cls, t) {
  if (cls.includes('+')) {
    let s = t;
    for (const c of cls.split('+')) {
      const o = CLASSES[c](s);
      if (o === undefined) return undefined;
      s = o;
    }
    return s;
  }
  return CLASSES[cls](t);
}

// Ages: digits, number words, "yo"-style units of the corpus's own (some not in any lexicon yet).
const AGE_FORMS_EN = [
  (n) => `${n}yo`,
  (n) => `${n} yo`,
  (n) => `${n}y.o.`,
  (n) => `${n} y.o`,
  (n) => `${n} y/o`,
  (n) => `${n}-year-old`,
  (n) => `${n} years old`,
  (n) => `${n} yrs`,
  (n) => `${n}yrs old`,
  (n) => `aged ${n}`,
  (n) => `age ${n}`,
  (n) => `${n} years`,
  (n) => `${n}`,
  (n) => `${n}th birthday`,
  (n) => `(${n})`,
  (n) => `${n}y`,
];
const ORDINALS = ['', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth'];

const FILLERS = ['photo', 'portrait', 'detailed', 'bedroom', 'outdoors', 'cinematic', 'soft light', 'high quality', 'realistic', 'standing', 'beach', 'studio', 'smiling', 'sitting', 'looking at viewer', 'sharp focus'];
const fillers = (n) => Array.from({ length: n }, () => pick(FILLERS)).join(', ');

// ---------------------------------------------------------------------------------------------
const positives = [];
const negatives = [];
const CLASS_NAMES = [...Object.keys(CLASSES), ...MIXES.map((m) => m.join('+'))];
for (const lang of manifest.languages) {
  const { minor, sexual, adult, numbers, units } = lex[lang];
  for (const cls of CLASS_NAMES) {
    for (let i = 0; i < 14; i++) {
      // Obfuscate the minor side, the sexual side or both.
      // Terms the class applies to (checked on a throwaway draw, so the choice stays random).
      const fits = (list) => list.filter((t) => CLASSES[cls.split('+')[0]](t) !== undefined);
      const fm = fits(minor);
      const fs = fits(sexual);
      const side = fm.length === 0 ? 'sexual' : fs.length === 0 ? 'minor' : pick(['minor', 'sexual', 'both']);
      const a0 = side === 'sexual' || fm.length === 0 ? pick(minor) : pick(fm);
      const b0 = side === 'minor' || fs.length === 0 ? pick(sexual) : pick(fs);
      const a = side !== 'sexual' ? obfuscate(cls, a0) : a0;
      const b = side !== 'minor' ? obfuscate(cls, b0) : b0;
      if (a === undefined || b === undefined || (cls !== 'plain' && a === a0 && b === b0)) continue;
      if (cls === 'joined' && chance(0.3)) {
        // Two terms glued into one token.
        positives.push({ lang, cls: 'glued', a: `${a0}${b0}`.replaceAll(' ', ''), b: '', gap: 0, order: 'ab' });
        continue;
      }
      positives.push({ lang, cls, a, b, gap: Math.floor(rand() * 4), order: chance(0.5) ? 'ab' : 'ba' });
    }
  }
  // Ages in the language's own units and number words, before or after the sexual term, with gaps.
  for (let i = 0; i < 16; i++) {
    const n = 5 + Math.floor(rand() * 13);
    const unit = pick(units);
    if (!unit) break;
    const cjk = /^[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}\p{scx=Hangul}]/u.test(unit);
    const words = numbers.filter(([, v]) => v === n);
    const useWord = words.length > 0 && chance(0.4);
    const num = useWord ? pick(words)[0] : String(n);
    positives.push({
      lang,
      cls: useWord ? 'age-words' : 'age-digits',
      a: `${num}${cjk ? '' : pick([' ', ' ', '-', ''])}${unit}`,
      b: pick(sexual),
      gap: Math.floor(rand() * 6),
      order: chance(0.5) ? 'ab' : 'ba',
    });
  }
  // Hard negatives of the same shapes: adult ages, counts, adult terms, obfuscated the same way.
  for (let i = 0; i < 24; i++) {
    const cls = pick(CLASS_NAMES);
    const b0 = pick(sexual);
    const b = obfuscate(cls, b0) ?? b0;
    const kind = pick(['adult-age', 'adult-term', 'count']);
    let a;
    if (kind === 'adult-age') {
      const n = 19 + Math.floor(rand() * 50);
      const unit = pick(units) ?? 'years old';
      const cjk = /^[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}\p{scx=Hangul}]/u.test(unit);
      a = `${n}${cjk ? '' : ' '}${unit}`;
    } else if (kind === 'adult-term') a = obfuscate(cls, pick(adult)) ?? pick(adult);
    else a = `${2 + Math.floor(rand() * 4)}`;
    negatives.push({ lang, cls: `neg-${kind}`, a, b, gap: Math.floor(rand() * 3), order: kind === 'count' ? 'ab' : chance(0.5) ? 'ab' : 'ba' });
  }
}
// English age forms and ordinals, in any position within a bounded window.
for (let i = 0; i < 120; i++) {
  const n = 6 + Math.floor(rand() * 12);
  const form = pick(AGE_FORMS_EN);
  positives.push({
    lang: 'en',
    cls: form(1) === '1' || form(1) === '(1)' ? 'age-bare' : 'age-digits',
    a: form(n),
    b: pick(lex.en.sexual),
    gap: form(1) === '1' || form(1) === '(1)' ? 0 : Math.floor(rand() * 8),
    order: chance(0.5) ? 'ab' : 'ba',
  });
}
for (let i = 0; i < 30; i++) {
  const n = 6 + Math.floor(rand() * 12);
  positives.push({
    lang: 'en',
    cls: 'age-ordinal',
    a: `${ORDINALS[n]} birthday`,
    b: pick(lex.en.sexual),
    gap: Math.floor(rand() * 5),
    order: chance(0.5) ? 'ab' : 'ba',
  });
}
// Counts and adult ages next to sexual terms in English (hard negatives of the bare-number rule).
for (let i = 0; i < 60; i++) {
  const adultAge = chance(0.5);
  negatives.push({
    lang: 'en',
    cls: adultAge ? 'neg-adult-age' : 'neg-count',
    a: adultAge ? pick(AGE_FORMS_EN)(19 + Math.floor(rand() * 40)) : `${2 + Math.floor(rand() * 4)}`,
    b: pick(lex.en.sexual),
    gap: 0,
    order: adultAge && chance(0.5) ? 'ba' : 'ab',
  });
}

// Deterministic split: by a hash of the record (so adding records never moves old ones).
const heldout = (r) => createHash('sha256').update(JSON.stringify(r)).digest()[0] < 128;
let id = 0;
const all = [...positives.map((r) => ({ ...r, label: 'block' })), ...negatives.map((r) => ({ ...r, label: 'allow' }))];
const tune = [];
const held = [];
for (const r of all) {
  const rec = { id: id++, ...r, fillers: fillers(r.gap) };
  (heldout(r) ? held : tune).push(rec);
}
const header = (split) => ({
  description: `Issue 21 obfuscation corpus, ${split} half. Components only (eval/text.js composes them). Built by eval/build-corpus.mjs before the normalizer rules for these classes were written; do not edit.`,
  lexiconVersion: manifest.version,
  split,
});
writeFileSync(join(here, 'data', 'obfuscation-tune.json'), `${JSON.stringify({ ...header('tune'), items: tune })}\n`);
writeFileSync(join(here, 'heldout', 'obfuscation.json'), `${JSON.stringify({ ...header('heldout'), items: held })}\n`);
console.log(`obfuscation corpus: ${tune.length} tuning, ${held.length} held-apart records`);

// ---------------------------------------------------------------------------------------------
// I2P hard negatives (MIT; see eval/heldout/README.md). Every prompt that could concern minors is
// dropped, conservatively, by the word list in eval/data/minor-filter.json (whole words, any case,
// after NFKC) and by any number from 1 to 17 next to an age word; only the prompt and its I2P
// categories are kept (no URLs, no other columns).
const csvPath = process.argv[2];
if (csvPath) {
  const filter = readJson(join(here, 'data', 'minor-filter.json'));
  const words = new Set(filter.words);
  const stems = filter.stems;
  const rows = parseCsv(readFileSync(csvPath, 'utf8'));
  const head = rows.shift();
  const pi = head.indexOf('prompt');
  const ci = head.indexOf('categories');
  const kept = [];
  let dropped = 0;
  const seen = new Set();
  for (const row of rows) {
    const prompt = (row[pi] ?? '').trim();
    if (!prompt || seen.has(prompt)) continue;
    seen.add(prompt);
    const toks = prompt.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const minorish =
      toks.some((t) => words.has(t) || stems.some((s) => t.startsWith(s))) ||
      /\b(?:[1-9]|1[0-7])\s*(?:-\s*)?(?:y|yo|yr|yrs|year|years)\b/iu.test(prompt) ||
      /[^\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]/u.test(prompt);
    if (minorish) {
      dropped++;
      continue;
    }
    kept.push({ text: prompt, categories: row[ci] ?? '' });
  }
  const itune = [];
  const iheld = [];
  for (const r of kept) (createHash('sha256').update(r.text).digest()[0] < 128 ? iheld : itune).push(r);
  const ih = (split) => ({
    description: `I2P (Inappropriate Image Prompts, Schramowski et al., CVPR 2023; MIT licence, see eval/heldout/README.md) prompts, ${split} half, after dropping every prompt that could concern minors (eval/data/minor-filter.json) or holds non-Latin script. Expected: not block.`,
    source: 'i2p_benchmark.csv (AIML-TUDA/i2p), 4,703 rows',
    dropped,
    split,
  });
  writeFileSync(join(here, 'data', 'i2p-tune.json'), `${JSON.stringify({ ...ih('tune'), items: itune }, null, 0)}\n`);
  writeFileSync(join(here, 'heldout', 'i2p.json'), `${JSON.stringify({ ...ih('heldout'), items: iheld }, null, 0)}\n`);
  console.log(`i2p: ${kept.length} kept (${itune.length} tuning, ${iheld.length} held-apart), ${dropped} dropped`);
}

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

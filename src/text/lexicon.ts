/**
 * @module text/lexicon
 * Loads the lexicons (data/lexicons/: one JSON file per language, plus the shared leet, emoji,
 * CJK numeral and confusables files), validates them, and compiles every term in both
 * normalization modes into one Aho-Corasick automaton. The format is documented in docs/text.md.
 */
import { readFileSync } from 'node:fs';
import { WardError } from '../errors.js';
import { Automaton } from './automaton.js';
import { classOf, DIGIT, Folder, LETTER } from './fold.js';
import { buildStream, CodeMap, foldUnits, type NormalizeData, Stream, Units } from './normalize.js';
import { romanize, type TranslitData } from './translit.js';
import type { Strength } from './types.js';

/** The lexicon categories a term can have (look-alikes are separate). */
export const TERM_CATEGORIES = ['minor', 'sexual', 'abuse', 'adult', 'clothing'] as const;
export type TermCategory = (typeof TERM_CATEGORIES)[number];

export type UnitKind = 'years' | 'months' | 'weeks' | 'days';
export type PrefixKind = 'any' | 'pronoun';

/** One lexicon entry. Structural kinds (numbers, units, prefixes, connectors) serve age rules. */
export type Entry = {
  id: number;
  lang: string;
  /** The term as written in the lexicon (without the stem marker). */
  term: string;
  /** Matches as a word prefix (`term*`). */
  stem: boolean;
  /** Counts only with unambiguous evidence of its language nearby (cross-language homographs). */
  confirm: boolean;
  /** Its plain form belongs to this language only (evidence for `confirm` entries). */
  exclusive: boolean;
} & (
  | { kind: 'term'; category: TermCategory; strength: Strength; group: string }
  | { kind: 'lookalike'; group: string }
  | { kind: 'number'; value: number }
  | { kind: 'ageTerm'; value: number }
  | { kind: 'unit'; unit: UnitKind }
  | { kind: 'prefix'; prefix: PrefixKind }
  | { kind: 'connector' }
);

type EntryInit = Entry extends infer E ? (E extends Entry ? Omit<E, 'id' | 'exclusive'> : never) : never;

/** A compiled pattern: one automaton string, with variants by run lengths. */
export interface Pattern {
  length: number;
  /** Class of the first and last code point: boundaries are required next to letters/digits. */
  startCls: number;
  endCls: number;
  /** Has spaces inside (a multi-word term: it does not match across phrase breaks). */
  spaced: boolean;
  /** `exact`: the text's runs must equal these (letters-dropped variants), not merely reach them. */
  variants: { runs: Int32Array | null; runKey: string; plain: number[]; leet: number[]; exact?: boolean }[];
}

export interface LexiconFile {
  lang: string;
  version: string;
  terms: Partial<Record<TermCategory, Partial<Record<Strength, Record<string, TermItem[]>>>>>;
  lookalikes?: Record<string, TermItem[]>;
  numbers?: Record<string, number>;
  ageTerms?: Record<string, number>;
  ageUnits?: Record<string, UnitKind>;
  agePrefixes?: Record<string, PrefixKind>;
  connectors?: string[];
  /** Readings of terms (kana for ja, pinyin for zh), for their romanized forms. */
  readings?: Record<string, string>;
}
type TermItem = string | { term: string; confirm?: boolean };

export interface Manifest {
  name: string;
  version: string;
  format: number;
  languages: string[];
  shared: {
    leet: string;
    emoji: string;
    numerals: string;
    confusables: string;
    translit?: string;
    functionWords?: string;
  };
}

export interface Lexicon {
  version: string;
  languages: string[];
  /** Per-language file versions. */
  fileVersions: Record<string, string>;
  entries: Entry[];
  patterns: Pattern[];
  automaton: Automaton;
  folder: Folder;
  data: NormalizeData;
  /** Longest pattern, in stream units. */
  maxLength: number;
  /** Counts per category and strength, for `ward text --help` and the docs. */
  counts: Record<string, number>;
}

/** The lexicon directory: data/lexicons beside src/ and dist/. */
export const LEXICON_DIR = new URL('../../data/lexicons/', import.meta.url);

/** Words in one term at most: lexicons hold terms, never sentences. */
export const MAX_TERM_WORDS = 5;
export const MAX_TERM_LENGTH = 48;
/** Words this long (normalized letters) or longer also match with a letter dropped. */
export const FUZZY_MIN = 6;

const STRENGTHS: readonly Strength[] = ['strong', 'weak'];
const UNIT_KINDS: readonly UnitKind[] = ['years', 'months', 'weeks', 'days'];
const PREFIX_KINDS: readonly PrefixKind[] = ['any', 'pronoun'];

function fail(file: string, message: string): never {
  throw new WardError('WARD_ERR_LEXICON', `Lexicon ${file}: ${message}`, { path: file });
}

function readJson(dir: URL, name: string): unknown {
  const url = new URL(name, dir);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (cause) {
    throw new WardError(
      'WARD_ERR_LEXICON',
      `Lexicon file ${name} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { path: name },
      cause,
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new WardError('WARD_ERR_LEXICON', `Lexicon file ${name} is not valid JSON`, { path: name }, cause);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one term's text: a short clinical term, not a sentence. Returns [text, stem]. */
export function checkTerm(file: string, where: string, raw: string): [string, boolean] {
  if (typeof raw !== 'string') fail(file, `${where}: a term must be a string`);
  const stem = raw.endsWith('*');
  const text = stem ? raw.slice(0, -1) : raw;
  if (text.trim() !== text || text.length === 0) fail(file, `${where}: empty term or surrounding spaces`);
  if (text.length > MAX_TERM_LENGTH) fail(file, `${where}: a term is at most ${MAX_TERM_LENGTH} characters`);
  if (text.split(/\s+/u).length > MAX_TERM_WORDS) fail(file, `${where}: a term is at most ${MAX_TERM_WORDS} words`);
  if (/[.!?;]\s/u.test(text)) fail(file, `${where}: terms hold no sentences`);
  if (!/^[\p{L}\p{M}\p{N}' .\-_/·]+$/u.test(text))
    fail(file, `${where}: terms hold letters, digits, spaces and ' - . _ / only`);
  return [text, stem];
}

/** Validates a language file's shape (throws WARD_ERR_LEXICON). */
export function validateLexiconFile(file: string, raw: unknown): LexiconFile {
  if (!isObject(raw)) fail(file, 'not an object');
  const allowed = new Set([
    'lang',
    'version',
    'description',
    'terms',
    'lookalikes',
    'numbers',
    'ageTerms',
    'ageUnits',
    'agePrefixes',
    'connectors',
    'readings',
  ]);
  for (const k of Object.keys(raw)) if (!allowed.has(k)) fail(file, `unknown key ${JSON.stringify(k)}`);
  if (typeof raw.lang !== 'string' || !/^[a-z]{2,3}$/.test(raw.lang)) fail(file, '`lang` must be a language code');
  if (typeof raw.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(raw.version)) fail(file, '`version` must be semver');
  if (!isObject(raw.terms)) fail(file, '`terms` must be an object');
  for (const [cat, byStrength] of Object.entries(raw.terms)) {
    if (!(TERM_CATEGORIES as readonly string[]).includes(cat)) fail(file, `unknown category ${JSON.stringify(cat)}`);
    if (!isObject(byStrength)) fail(file, `terms.${cat} must be an object`);
    for (const [strength, groups] of Object.entries(byStrength)) {
      if (!(STRENGTHS as readonly string[]).includes(strength))
        fail(file, `terms.${cat}: unknown strength ${strength}`);
      if (!isObject(groups)) fail(file, `terms.${cat}.${strength} must be an object of groups`);
      for (const [group, items] of Object.entries(groups)) checkItems(file, `terms.${cat}.${strength}.${group}`, items);
    }
  }
  if (raw.lookalikes !== undefined) {
    if (!isObject(raw.lookalikes)) fail(file, '`lookalikes` must be an object of groups');
    for (const [group, items] of Object.entries(raw.lookalikes)) checkItems(file, `lookalikes.${group}`, items);
  }
  for (const key of ['numbers', 'ageTerms'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (!isObject(v)) fail(file, `\`${key}\` must be an object`);
    for (const [t, n] of Object.entries(v)) {
      checkTerm(file, `${key}`, t);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1000) fail(file, `${key}.${t}: not a number`);
    }
  }
  const kinds = [
    ['ageUnits', UNIT_KINDS],
    ['agePrefixes', PREFIX_KINDS],
  ] as const;
  for (const [key, values] of kinds) {
    const v = raw[key];
    if (v === undefined) continue;
    if (!isObject(v)) fail(file, `\`${key}\` must be an object`);
    for (const [t, kind] of Object.entries(v)) {
      checkTerm(file, key, t);
      if (!(values as readonly string[]).includes(kind as string)) fail(file, `${key}.${t}: unknown kind`);
    }
  }
  if (raw.connectors !== undefined) {
    if (!Array.isArray(raw.connectors)) fail(file, '`connectors` must be an array');
    for (const t of raw.connectors) checkTerm(file, 'connectors', t as string);
  }
  if (raw.readings !== undefined) {
    if (!isObject(raw.readings)) fail(file, '`readings` must be an object');
    for (const [t, r] of Object.entries(raw.readings)) {
      checkTerm(file, 'readings', t);
      if (typeof r !== 'string' || !/^[\p{Script=Hiragana}\p{Script=Katakana}ーa-zü ]{1,64}$/u.test(r))
        fail(file, `readings: a reading is kana or pinyin letters`);
    }
  }
  return raw as unknown as LexiconFile;
}

function checkItems(file: string, where: string, items: unknown): void {
  if (!Array.isArray(items)) fail(file, `${where} must be an array`);
  const seen = new Set<string>();
  for (const item of items) {
    const raw = typeof item === 'string' ? item : isObject(item) ? item.term : undefined;
    if (isObject(item)) {
      for (const k of Object.keys(item)) if (k !== 'term' && k !== 'confirm') fail(file, `${where}: unknown key ${k}`);
      if (item.confirm !== undefined && typeof item.confirm !== 'boolean') fail(file, `${where}: confirm is boolean`);
    }
    checkTerm(file, where, raw as string);
    if (seen.has(raw as string)) fail(file, `${where}: duplicate term`);
    seen.add(raw as string);
  }
}

/** Loads, validates and compiles the lexicons from `dir` (default: data/lexicons). */
export function loadLexicon(dir: URL = LEXICON_DIR): Lexicon {
  const manifest = readJson(dir, 'manifest.json') as Manifest;
  if (!isObject(manifest) || manifest.format !== 1 || !Array.isArray(manifest.languages))
    fail('manifest.json', 'unknown format');
  const confusablesFile = readJson(dir, manifest.shared.confusables) as { map?: Record<string, string> };
  const emojiFile = readJson(dir, manifest.shared.emoji) as { words?: Record<string, string> };
  const leetFile = readJson(dir, manifest.shared.leet) as {
    leet?: Record<string, string>;
    merge?: Record<string, string>;
    skeleton?: Record<string, string>;
    trailing?: string;
  };
  const translitData =
    manifest.shared.translit !== undefined ? (readJson(dir, manifest.shared.translit) as TranslitData) : undefined;
  if (
    translitData !== undefined &&
    (!isObject(translitData.cyrillic) ||
      !Array.isArray(translitData.cyrillicSchemes) ||
      !isObject(translitData.kana) ||
      !isObject(translitData.kanaSmall) ||
      !isObject(translitData.hangul) ||
      !Array.isArray(translitData.hangul.initial) ||
      !Array.isArray(translitData.hangul.medial) ||
      !Array.isArray(translitData.hangul.final) ||
      !Array.isArray(translitData.hangul.finalLinked) ||
      !isObject(translitData.pinyin))
  )
    fail(
      manifest.shared.translit as string,
      'needs `cyrillic`, `cyrillicSchemes`, `kana`, `kanaSmall`, `hangul`, `pinyin`',
    );
  const numeralFile = readJson(dir, manifest.shared.numerals) as { numerals?: Record<string, number> };
  if (!isObject(confusablesFile.map)) fail(manifest.shared.confusables, 'no `map`');
  if (!isObject(emojiFile.words)) fail(manifest.shared.emoji, 'no `words`');
  if (!isObject(leetFile.leet) || !isObject(leetFile.merge)) fail(manifest.shared.leet, 'no `leet` / `merge`');
  if (!isObject(numeralFile.numerals)) fail(manifest.shared.numerals, 'no `numerals`');

  const single = (s: string) => ([...s].length === 1 ? (s.codePointAt(0) as number) : undefined);
  const confusables = new Map<number, string>();
  for (const [k, v] of Object.entries(confusablesFile.map)) {
    const cp = single(k);
    if (cp !== undefined && typeof v === 'string') confusables.set(cp, v);
  }
  const emoji = new Map<number, string>();
  for (const [k, v] of Object.entries(emojiFile.words)) {
    const cp = single(k.replace(/\uFE0F/gu, ''));
    if (cp === undefined || typeof v !== 'string' || !/^[a-z]+( [a-z]+)*$/.test(v))
      fail(manifest.shared.emoji, 'keys are single emoji, values lower-case words');
    emoji.set(cp, v);
  }
  const folder = new Folder({ confusables, emoji });
  const foldOne = (s: string): number | undefined => {
    const f = [...s].map((c) => folder.fold(c.codePointAt(0) as number)).join('');
    return single(f);
  };
  const leet = new CodeMap();
  for (const [k, v] of Object.entries(leetFile.leet)) {
    const from = foldOne(k);
    const to = single(v);
    if (from !== undefined && to !== undefined && !(from >= 0x61 && from <= 0x7a)) leet.set(from, to);
  }
  const merge = new CodeMap();
  for (const [k, v] of Object.entries(leetFile.merge)) {
    const from = single(k);
    const to = single(v);
    if (from === undefined || to === undefined) fail(manifest.shared.leet, '`merge` maps letters to letters');
    merge.set(from, to);
  }
  const numerals = new Map<number, number>();
  for (const [k, v] of Object.entries(numeralFile.numerals)) {
    const cp = foldOne(k);
    if (cp === undefined || typeof v !== 'number') fail(manifest.shared.numerals, `bad numeral ${k}`);
    numerals.set(cp, v);
  }
  const skeleton = new CodeMap();
  for (const [k, v] of Object.entries(leetFile.skeleton ?? {})) {
    const from = single(k);
    const to = single(v);
    if (from === undefined || to === undefined || to >= 0x80)
      fail(manifest.shared.leet, '`skeleton` maps letters to Latin letters');
    skeleton.set(from, to);
  }
  const trailing = new CodeMap();
  for (const c of leetFile.trailing ?? '') {
    const cp = c.codePointAt(0) as number;
    if (leet.has(cp)) trailing.set(cp, 1);
  }
  const data: NormalizeData = { leet, merge, numerals, skeleton, trailing };
  if (manifest.shared.functionWords !== undefined) {
    const fwFile = readJson(dir, manifest.shared.functionWords) as { words?: unknown };
    if (!Array.isArray(fwFile.words)) fail(manifest.shared.functionWords, 'no `words`');
    // Their leet-stream form (folded, leet, look-alikes merged), what the engine compares.
    const fw = new Set<string>();
    const u = new Units();
    const st = new Stream();
    for (const w of fwFile.words) {
      if (typeof w !== 'string' || w.length === 0 || w.length > 8)
        fail(manifest.shared.functionWords, 'words are short strings');
      u.clear();
      foldUnits(w, 0, w.length, folder, data, u);
      buildStream(u, 'leet', data, st);
      fw.add(st.text().trim());
    }
    data.functionWords = fw;
  }

  const entries: Entry[] = [];
  const fileVersions: Record<string, string> = {};
  const counts: Record<string, number> = {};
  /** Romanized entries: matched in the plain stream only (leet's `l` = `i` and look-alike
   * readings on top of a transliteration collide with ordinary words), never letters-dropped. */
  const romanizedIds = new Set<number>();
  const add = (e: EntryInit) => {
    entries.push({ ...e, id: entries.length, exclusive: false } as Entry);
  };
  /** Romanized forms of a term that pass the term checks (others are dropped, never fatal). */
  const romanized = (lang: string, term: string, reading: string | undefined): string[] => {
    if (translitData === undefined) return [];
    // Forms of fewer than three letters are left out: syllables of every language.
    return romanize(lang, term, reading, translitData).filter((f) => {
      if ([...f.replace(/[^\p{L}]/gu, '')].length < 3) return false;
      try {
        checkTerm(`${lang}.json`, 'romanized', f);
        return true;
      } catch {
        return false;
      }
    });
  };
  for (const lang of manifest.languages) {
    const file = `${lang}.json`;
    const lex = validateLexiconFile(file, readJson(dir, file));
    if (lex.lang !== lang) fail(file, `\`lang\` is ${lex.lang}, expected ${lang}`);
    fileVersions[lang] = lex.version;
    for (const cat of TERM_CATEGORIES) {
      for (const strength of STRENGTHS) {
        const groups = lex.terms[cat]?.[strength] ?? {};
        for (const [group, items] of Object.entries(groups)) {
          for (const item of items) {
            const raw = typeof item === 'string' ? item : item.term;
            const [term, stem] = checkTerm(file, `terms.${cat}`, raw);
            const confirm = typeof item === 'object' && item.confirm === true;
            add({ kind: 'term', lang, term, stem, confirm, category: cat, strength, group });
            counts[`${cat}.${strength}`] = (counts[`${cat}.${strength}`] ?? 0) + 1;
            for (const form of romanized(lang, term, lex.readings?.[term])) {
              // Short romanized forms are often words of other languages: they need evidence nearby.
              const short = [...form.replace(/[^\p{L}]/gu, '')].length <= 4;
              add({ kind: 'term', lang, term: form, stem, confirm: confirm || short, category: cat, strength, group });
              romanizedIds.add(entries.length - 1);
              counts.romanized = (counts.romanized ?? 0) + 1;
            }
          }
        }
      }
    }
    for (const [group, items] of Object.entries(lex.lookalikes ?? {})) {
      for (const item of items) {
        const raw = typeof item === 'string' ? item : item.term;
        const [term, stem] = checkTerm(file, 'lookalikes', raw);
        add({ kind: 'lookalike', lang, term, stem, confirm: false, group });
        counts.lookalike = (counts.lookalike ?? 0) + 1;
      }
    }
    for (const [raw, value] of Object.entries(lex.numbers ?? {})) {
      const [term, stem] = checkTerm(file, 'numbers', raw);
      add({ kind: 'number', lang, term, stem, confirm: false, value });
      for (const form of romanized(lang, term, undefined))
        add({ kind: 'number', lang, term: form, stem, confirm: false, value });
    }
    for (const [raw, value] of Object.entries(lex.ageTerms ?? {})) {
      const [term, stem] = checkTerm(file, 'ageTerms', raw);
      add({ kind: 'ageTerm', lang, term, stem, confirm: false, value });
    }
    for (const [raw, unit] of Object.entries(lex.ageUnits ?? {})) {
      const [term, stem] = checkTerm(file, 'ageUnits', raw);
      add({ kind: 'unit', lang, term, stem, confirm: false, unit });
      for (const form of romanized(lang, term, lex.readings?.[term]))
        if (form.length >= 3) add({ kind: 'unit', lang, term: form, stem, confirm: false, unit });
    }
    for (const [raw, value] of Object.entries(lex.ageTerms ?? {}))
      for (const form of romanized(lang, raw.replace(/\*$/, ''), undefined))
        add({ kind: 'ageTerm', lang, term: form, stem: raw.endsWith('*'), confirm: false, value });
    for (const [raw, prefix] of Object.entries(lex.agePrefixes ?? {})) {
      const [term, stem] = checkTerm(file, 'agePrefixes', raw);
      add({ kind: 'prefix', lang, term, stem, confirm: false, prefix });
    }
    for (const raw of lex.connectors ?? []) {
      const [term, stem] = checkTerm(file, 'connectors', raw);
      add({ kind: 'connector', lang, term, stem, confirm: false });
    }
  }

  // Compile every entry in both modes. Patterns are keyed by code points; variants by runs.
  const units = new Units();
  const stream = new Stream();
  const byKey = new Map<string, number>();
  const patterns: Pattern[] = [];
  const cpsOf: Int32Array[] = [];
  const plainKeyLangs = new Map<string, Set<string>>();
  const plainKeyOf: string[] = [];
  const fuzzy: [number, Int32Array, Int32Array][] = [];
  const fuzzyPids = new Set<number>();
  let maxLength = 0;
  for (const e of entries) {
    for (const mode of ['plain', 'leet'] as const) {
      if (mode === 'leet' && romanizedIds.has(e.id)) continue;
      units.clear();
      foldUnits(e.term, 0, e.term.length, folder, data, units);
      buildStream(units, mode, data, stream);
      let a = 0;
      let b = stream.n - 1;
      while (a <= b && stream.cp[a] === 0x20) a++;
      while (b >= a && stream.cp[b] === 0x20) b--;
      if (a > b) fail(`${e.lang}.json`, `a term normalizes to nothing (${e.kind} #${e.id})`);
      const cps = stream.cp.slice(a, b + 1);
      const runs = stream.run.slice(a, b + 1);
      const hasRuns = runs.some((r) => r > 1);
      const key = String.fromCodePoint(...cps);
      const runKey = hasRuns ? Array.from(runs).join(',') : '';
      let pid = byKey.get(key);
      if (pid === undefined) {
        pid = patterns.length;
        byKey.set(key, pid);
        patterns.push({
          length: cps.length,
          startCls: stream.cls[a] as number,
          endCls: stream.cls[b] as number,
          spaced: cps.includes(0x20),
          variants: [],
        });
        cpsOf.push(cps);
        maxLength = Math.max(maxLength, cps.length);
      }
      const p = patterns[pid] as Pattern;
      let v = p.variants.find((x) => x.runKey === runKey);
      if (!v) {
        v = { runs: hasRuns ? runs : null, runKey, plain: [], leet: [] };
        p.variants.push(v);
      }
      const list = mode === 'plain' ? v.plain : v.leet;
      if (!list.includes(e.id)) list.push(e.id);
      if (
        mode === 'leet' &&
        e.kind === 'term' &&
        e.strength === 'strong' &&
        (e.category === 'minor' || e.category === 'sexual' || e.category === 'abuse') &&
        !e.confirm &&
        !/[\s\-_.'/·]/u.test(e.term) &&
        cps.length >= FUZZY_MIN &&
        cps.every((c) => classOf(c) === LETTER)
      )
        fuzzy.push([e.id, cps, runs]);
      if (mode === 'plain') {
        const k = `${key}|${runKey}`;
        plainKeyOf[e.id] = k;
        let langs = plainKeyLangs.get(k);
        if (!langs) plainKeyLangs.set(k, (langs = new Set()));
        langs.add(e.lang);
      }
    }
  }
  // Letters dropped (leet mode): every strong minor, sexual or abuse word of 6+ letters also
  // matches with one inner letter left out, or a doubled letter written once. Generated from the
  // lexicon, never listed; a variant that is another pattern already is skipped.
  for (const [id, cps, runs] of fuzzy) {
    const variants: [Int32Array, Int32Array][] = [];
    // A doubled letter written once, anywhere (also at the ends: `infantil` reads `infantii`).
    for (const j of [0, cps.length - 1])
      if ((runs[j] as number) > 1) {
        const r = runs.slice();
        r[j] = 1;
        variants.push([cps, r]);
      }
    for (let j = 1; j < cps.length - 1; j++) {
      if ((runs[j] as number) > 1) {
        const r = runs.slice();
        r[j] = 1;
        variants.push([cps, r]);
      } else if (cps[j - 1] !== cps[j + 1]) {
        const c = new Int32Array(cps.length - 1);
        const r = new Int32Array(cps.length - 1);
        c.set(cps.subarray(0, j));
        c.set(cps.subarray(j + 1), j);
        r.set(runs.subarray(0, j));
        r.set(runs.subarray(j + 1), j);
        variants.push([c, r]);
      } else if (j + 2 <= cps.length - 1 || j + 1 === cps.length - 1) {
        // The letters around it meet: one run of both (`ii` in a text reads as one unit).
        const c = new Int32Array(cps.length - 2);
        const r = new Int32Array(cps.length - 2);
        c.set(cps.subarray(0, j));
        c.set(cps.subarray(j + 2), j);
        r.set(runs.subarray(0, j));
        r.set(runs.subarray(j + 2), j);
        r[j - 1] = (runs[j - 1] as number) + (runs[j + 1] as number);
        if (c.length >= 3) variants.push([c, r]);
      }
    }
    for (const [c, r] of variants) {
      const key = String.fromCodePoint(...c);
      let pid = byKey.get(key);
      if (pid !== undefined && !fuzzyPids.has(pid)) {
        // Only a different run variant of an existing pattern of the same entry is allowed.
        const p = patterns[pid] as Pattern;
        if (!p.variants.some((v) => v.leet.includes(id))) continue;
      }
      if (pid === undefined) {
        pid = patterns.length;
        byKey.set(key, pid);
        fuzzyPids.add(pid);
        patterns.push({ length: c.length, startCls: LETTER, endCls: LETTER, spaced: false, variants: [] });
        cpsOf.push(c);
      }
      const p = patterns[pid] as Pattern;
      const exactKey = `=${Array.from(r).join(',')}`;
      let v = p.variants.find((x) => x.runKey === exactKey);
      if (!v) {
        v = { runs: r, runKey: exactKey, plain: [], leet: [], exact: true };
        p.variants.push(v);
      }
      if (!v.leet.includes(id)) v.leet.push(id);
    }
  }
  for (const e of entries) {
    const langs = plainKeyLangs.get(plainKeyOf[e.id] as string);
    e.exclusive = langs !== undefined && langs.size === 1 && !e.confirm;
  }
  return {
    version: manifest.version,
    languages: [...manifest.languages],
    fileVersions,
    entries,
    patterns,
    automaton: Automaton.build(cpsOf),
    folder,
    data,
    maxLength,
    counts,
  };
}

/** Whether a boundary is needed next to a pattern edge of this class. */
export function needsBoundary(cls: number): boolean {
  return cls === LETTER || cls === DIGIT;
}

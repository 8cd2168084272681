/**
 * Lexicon terms for tests, read from data/lexicons at test time. Texts that put a minor
 * indicator together with a sexual term are built from these (never written in test files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/fixtures.js';

export const LEXICON_DIR = join(PROJECT_ROOT, 'data', 'lexicons');

type Item = string | { term: string; confirm?: boolean };
interface LangFile {
  lang: string;
  terms: Record<string, Record<string, Record<string, Item[]>>>;
  lookalikes?: Record<string, Item[]>;
  numbers?: Record<string, number>;
  ageUnits?: Record<string, string>;
}

export const manifest = JSON.parse(readFileSync(join(LEXICON_DIR, 'manifest.json'), 'utf8')) as {
  version: string;
  languages: string[];
  shared: Record<string, string>;
};

const files = new Map<string, LangFile>();
export function lexiconFile(lang: string): LangFile {
  let f = files.get(lang);
  if (!f) {
    f = JSON.parse(readFileSync(join(LEXICON_DIR, `${lang}.json`), 'utf8')) as LangFile;
    files.set(lang, f);
  }
  return f;
}

const text = (i: Item) => (typeof i === 'string' ? i : i.term).replace(/\*$/, '');

/** Terms of a category and strength (all groups, or one), without `confirm` terms. */
export function terms(
  lang: string,
  category: string,
  strength: 'strong' | 'weak' = 'strong',
  group?: string,
): string[] {
  const groups = lexiconFile(lang).terms[category]?.[strength] ?? {};
  const items = group ? (groups[group] ?? []) : Object.values(groups).flat();
  return items.filter((i) => typeof i === 'string' || !i.confirm).map(text);
}

/** The first term of a category (deterministic), e.g. term('en', 'minor') for the first youth noun. */
export function term(lang: string, category: string, strength: 'strong' | 'weak' = 'strong', index = 0): string {
  const list = terms(lang, category, strength);
  const t = list[index % list.length];
  if (t === undefined) throw new Error(`no ${category}.${strength} term for ${lang}`);
  return t;
}

/** The first single-word Latin-script term of a category (for spacing and leet obfuscations). */
export function latinWord(lang: string, category: string): string {
  const t = terms(lang, category).find((x) => /^[a-z]{4,}$/.test(x));
  if (!t) throw new Error(`no single-word Latin ${category} term for ${lang}`);
  return t;
}

export function lookalikes(lang: string): string[] {
  return Object.values(lexiconFile(lang).lookalikes ?? {})
    .flat()
    .map(text);
}

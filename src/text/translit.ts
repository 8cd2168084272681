/**
 * @module text/translit
 * Romanized forms of lexicon terms, derived by the loader (never listed by hand): Russian in
 * Latin letters (several schemes and single-letter alternatives), Korean (Revised Romanization,
 * with liaison, and common variants), Japanese romaji (from kana, or from a term's reading),
 * Chinese pinyin (from a term's reading; `ü` as `v`, `u`, `yu`). Tables: data/lexicons/translit.json.
 * Every function is bounded: at most MAX_FORMS forms per term.
 */

/** The translit.json shape. */
export interface TranslitData {
  cyrillic: Record<string, string[]>;
  cyrillicSchemes: Record<string, string>[];
  kana: Record<string, string[]>;
  kanaSmall: Record<string, string>;
  hangul: {
    initial: string[];
    initialAlt: Record<string, string[]>;
    medial: string[][];
    final: string[];
    finalLinked: string[];
  };
  pinyin: Record<string, string[]>;
}

/** Most romanized forms derived from one term. */
export const MAX_FORMS = 12;

/**
 * Forms from a sequence of slots, each a list of renderings (most common first): the primary form
 * (first of each), the forms of the given schemes (a rendering per slot), and each single-slot
 * alternative to the primary. Deduplicated, bounded.
 */
function expand(slots: string[][], schemes: ((slot: number) => string | undefined)[] = []): string[] {
  const out = new Set<string>();
  const primary = slots.map((s) => s[0] ?? '');
  out.add(primary.join(''));
  for (const scheme of schemes) out.add(slots.map((s, i) => scheme(i) ?? s[0] ?? '').join(''));
  for (let i = 0; i < slots.length && out.size < MAX_FORMS; i++) {
    const alts = slots[i] as string[];
    for (let a = 1; a < alts.length && out.size < MAX_FORMS; a++) {
      const f = primary.slice();
      f[i] = alts[a] as string;
      out.add(f.join(''));
    }
  }
  return [...out].filter((f) => /\p{L}/u.test(f)).slice(0, MAX_FORMS);
}

const CYRILLIC = /^[\p{Script=Cyrillic} '.-]+$/u;
const HANGUL = /^[\p{Script=Hangul} ]+$/u;
const KANA = /^[\p{Script=Hiragana}\p{Script=Katakana}ー ]+$/u;

function russian(term: string, d: TranslitData): string[] {
  const chars = [...term];
  const slots = chars.map((c) => d.cyrillic[c] ?? [c]);
  const schemes = d.cyrillicSchemes.map((s) => (i: number) => s[chars[i] as string]);
  return expand(slots, schemes);
}

function korean(term: string, d: TranslitData): string[] {
  const h = d.hangul;
  const slots: string[][] = [];
  const syl = [...term];
  let linked = '';
  for (let k = 0; k < syl.length; k++) {
    const ch = syl[k] as string;
    const cp = ch.codePointAt(0) as number;
    if (cp < 0xac00 || cp > 0xd7a3) {
      slots.push([ch === ' ' ? ' ' : '']);
      linked = '';
      continue;
    }
    const s = cp - 0xac00;
    const i = Math.floor(s / 588);
    const v = Math.floor((s % 588) / 28);
    const f = s % 28;
    // Liaison: a final consonant before a syllable starting with the silent ㅇ is read as its initial.
    const next = syl[k + 1]?.codePointAt(0) ?? 0;
    const nextSilent = next >= 0xac00 && next <= 0xd7a3 && Math.floor((next - 0xac00) / 588) === 11;
    let init = linked || (h.initial[i] as string);
    linked = '';
    const wordStart = k === 0 || syl[k - 1] === ' ';
    const initAlts = [init, ...(wordStart ? (h.initialAlt[init] ?? []) : [])];
    slots.push(initAlts);
    slots.push(h.medial[v] as string[]);
    if (f > 0 && nextSilent && h.finalLinked[f]) linked = h.finalLinked[f] as string;
    else slots.push([h.final[f] as string]);
    init = '';
  }
  return expand(slots);
}

/** Romaji of a kana string: Hepburn first, Nihon-shiki alternatives, long vowels doubled or not. */
function romaji(kana: string, d: TranslitData): string[] {
  const cs = [...kana];
  const slots: string[][] = [];
  const toHira = (c: string) => {
    const cp = c.codePointAt(0) as number;
    return cp >= 0x30a1 && cp <= 0x30f6 ? String.fromCodePoint(cp - 0x60) : c;
  };
  for (let i = 0; i < cs.length; i++) {
    const c = toHira(cs[i] as string);
    const next = cs[i + 1] !== undefined ? toHira(cs[i + 1] as string) : undefined;
    if (c === ' ') {
      slots.push([' ']);
      continue;
    }
    if (c === 'っ') {
      const r = next ? (d.kana[next]?.[0] ?? '') : '';
      slots.push([r.startsWith('ch') ? 't' : (r[0] ?? ''), r.startsWith('ch') ? 'c' : (r[0] ?? '')]);
      continue;
    }
    if (c === 'ー') {
      const prev = slots.at(-1)?.[0] ?? '';
      const v = prev.at(-1) ?? '';
      slots.push(['', v, v === 'o' ? 'u' : v]);
      continue;
    }
    const r = d.kana[c];
    if (!r) return [];
    const small = next ? d.kanaSmall[next] : undefined;
    if (small) {
      // きゃ kya, しゃ sha / sya, ちゃ cha / tya, じゃ ja / zya / jya.
      slots.push(
        r.map((x) =>
          x.endsWith('hi')
            ? `${x.slice(0, -1)}${small.slice(1)}`
            : x === 'ji'
              ? `j${small.slice(1)}`
              : `${x.slice(0, -1)}${small}`,
        ),
      );
      i++;
      continue;
    }
    // Long vowels: おう / ou written o, oo or ou; うう uu or u.
    if ((c === 'う' && /[ou]$/.test(slots.at(-1)?.[0] ?? '')) || (c === 'い' && /e$/.test(slots.at(-1)?.[0] ?? ''))) {
      slots.push([r[0] as string, '', slots.at(-1)?.[0]?.at(-1) ?? '']);
      continue;
    }
    slots.push(r);
  }
  return expand(slots);
}

function pinyin(reading: string, d: TranslitData): string[] {
  const slots = [...reading].map((c) => (d.pinyin[c] ? [c, ...(d.pinyin[c] as string[])] : [c]));
  return expand(slots);
}

/**
 * Romanized forms of one term (without its stem marker) of language `lang`; `reading` is the
 * term's reading (kana for ja, pinyin for zh) when the lexicon gives one. Empty when none apply.
 */
export function romanize(lang: string, term: string, reading: string | undefined, d: TranslitData): string[] {
  let forms: string[] = [];
  if (lang === 'ru' && CYRILLIC.test(term)) forms = russian(term, d);
  else if (lang === 'ko' && HANGUL.test(term)) forms = korean(term, d);
  else if (lang === 'ja') {
    const kana = reading ?? (KANA.test(term) ? term : undefined);
    if (kana !== undefined && KANA.test(kana)) forms = romaji(kana, d);
  } else if (lang === 'zh' && reading !== undefined) forms = pinyin(reading, d);
  return forms.map((f) => f.replace(/\s+/gu, ' ').trim()).filter((f) => f !== '' && f !== term);
}

/**
 * Issue 21: each obfuscation class, property-tested over random lexicon words and random
 * obfuscation parameters (fast-check). A class holds when the obfuscated word is still found with
 * its category and its span covers exactly the obfuscated characters; carve-outs (adult ages,
 * counts, look-alikes) hold under the same obfuscations. Terms come from the lexicon files
 * (test/text/terms.ts); texts pairing a minor indicator and a sexual term are built at run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Hit, textEngine } from '../../src/text/engine.js';
import { screenText } from '../../src/text/screen.js';
import { romanize, type TranslitData } from '../../src/text/translit.js';
import { LEXICON_DIR, lexiconFile, manifest, terms } from './terms.js';

const engine = textEngine();
const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 200);
const translit = JSON.parse(readFileSync(join(LEXICON_DIR, 'translit.json'), 'utf8')) as TranslitData;
const leetFile = JSON.parse(readFileSync(join(LEXICON_DIR, 'leet.json'), 'utf8')) as { leet: Record<string, string> };

function hitsOf(text: string): Hit[] {
  const hits: Hit[] = [];
  engine.scan(text, (h) => hits.push(h));
  return hits;
}

/** Whether a hit of `category` covers exactly [start, end). */
function found(text: string, category: string, start: number, end: number): boolean {
  return hitsOf(text).some(
    (h) =>
      (h.category === category || (category === 'minor' && h.category === 'age')) && h.start === start && h.end === end,
  );
}

// Single-word terms in Latin letters (strong, without `confirm`), both categories, every language.
const latinWords = (category: string) =>
  manifest.languages.flatMap((l) => terms(l, category).filter((t) => /^[a-z]{4,}$/.test(t)));
const MINOR = latinWords('minor');
const SEXUAL = latinWords('sexual');
const wordOf = fc.oneof(
  fc.constantFrom(...MINOR).map((w) => ({ w, category: 'minor' })),
  fc.constantFrom(...SEXUAL).map((w) => ({ w, category: 'sexual' })),
);
/** Spacing separators (not phrase breaks), visible or invisible, mixed and of any length. */
// (`|`, `+` and `!` are left out: they are also letters in leet, `c|o` reads as `cio`.)
const SPACING = [' ', '.', '-', '_', '*', '~', '/', '\\', "'", '·', '•', '\u3000', '\u00a0', '\u2013', '\u2014'];
const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\u00ad', '\ufeff', '\u180e'];
const separator = fc
  .array(fc.constantFrom(...SPACING, ...INVISIBLE), { minLength: 1, maxLength: 7 })
  .map((a) => a.join(''))
  // At least one visible or invisible separator; `|`, `!`, `+`-like leet letters excluded above.
  .filter((s) => s.length > 0);
const context = fc.constantFrom('photo, ', '', 'masterpiece, best quality, ', 'a ');
const after = fc.constantFrom('', ', detailed', ' at night', '.');

describe('obfuscation classes (property)', () => {
  it('separators of any kind and length between the letters', () => {
    fc.assert(
      fc.property(
        wordOf,
        fc.array(separator, { minLength: 30, maxLength: 30 }),
        context,
        after,
        ({ w, category }, seps, pre, post) => {
          const body = [...w].map((c, i) => (i === 0 ? c : `${seps[i % seps.length]}${c}`)).join('');
          const text = `${pre}${body}${post}`;
          expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('words split into chunks of any length, with any spacing between', () => {
    fc.assert(
      fc.property(
        wordOf,
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 12, maxLength: 12 }),
        fc.array(separator, { minLength: 12, maxLength: 12 }),
        context,
        after,
        ({ w, category }, sizes, seps, pre, post) => {
          const cs = [...w];
          const parts: string[] = [];
          for (let i = 0, k = 0; i < cs.length; k++) {
            const n = sizes[k % sizes.length] as number;
            parts.push(cs.slice(i, i + n).join(''));
            i += n;
          }
          const body = parts.map((p, i) => (i === 0 ? p : `${seps[i % seps.length]}${p}`)).join('');
          const text = `${pre}${body}${post}`;
          expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('letters repeated', () => {
    fc.assert(
      fc.property(
        wordOf,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 20, maxLength: 20 }),
        context,
        ({ w, category }, times, pre) => {
          const body = [...w].map((c, i) => c.repeat(times[i % times.length] as number)).join('');
          const text = `${pre}${body}`;
          expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a letter dropped (words of six letters or more)', () => {
    const long = (list: string[]) => list.filter((w) => w.length >= 7 && !/(.)\1/.test(w));
    const word = fc.oneof(
      fc.constantFrom(...long(MINOR)).map((w) => ({ w, category: 'minor' })),
      fc.constantFrom(...long(SEXUAL)).map((w) => ({ w, category: 'sexual' })),
    );
    fc.assert(
      fc.property(word, fc.nat(), context, ({ w, category }, at, pre) => {
        const cs = [...w];
        const j = 1 + (at % (cs.length - 2));
        if (cs[j - 1] === cs[j + 1]) return;
        cs.splice(j, 1);
        const body = cs.join('');
        const text = `${pre}${body}`;
        expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('digits and symbols for letters, anywhere in the word', () => {
    const byLetter = new Map<string, string[]>();
    for (const [sym, letter] of Object.entries(leetFile.leet)) {
      const l = letter === 'l' ? 'i' : letter;
      byLetter.set(l, [...(byLetter.get(l) ?? []), sym]);
    }
    byLetter.set('l', [...(byLetter.get('i') ?? [])]);
    fc.assert(
      fc.property(
        wordOf,
        fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
        context,
        ({ w, category }, picks, pre) => {
          // Replace some letters (not all: a word has at least one letter left, or is all digits).
          const cs = [...w].map((c, i) => {
            const alts = byLetter.get(c);
            const p = picks[i % picks.length] as number;
            // The last letter only by a digit or a symbol that is no punctuation there (`!`, `(`).
            const pool = i === w.length - 1 ? alts?.filter((x) => /[\d$@|+]/.test(x)) : alts;
            return pool && pool.length > 0 && p % 3 === 0 ? (pool[p % pool.length] as string) : c;
          });
          const body = cs.join('');
          const text = `${pre}${body} `;
          expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('words written only in digits', () => {
    const digitOf: Record<string, string> = {
      o: '0',
      i: '1',
      l: '1',
      z: '2',
      e: '3',
      a: '4',
      s: '5',
      t: '7',
      b: '8',
      g: '9',
    };
    const spellable = [...MINOR, ...SEXUAL].filter((w) => [...w].every((c) => digitOf[c]));
    expect(spellable.length).toBeGreaterThan(0);
    for (const w of spellable) {
      const body = [...w].map((c) => digitOf[c]).join('');
      if (/^(19|20)\d\d$/.test(body)) continue; // years stay numbers
      const category = MINOR.includes(w) ? 'minor' : 'sexual';
      expect(found(`${body}, photo`, category, 0, body.length), body).toBe(true);
    }
  });

  it('look-alike letters of other scripts, mixed in a word', () => {
    // Cyrillic, Greek, Armenian and Latin-extension look-alikes of Latin letters.
    const LOOK: Record<string, string[]> = {
      a: ['а', 'ɑ', 'α'],
      c: ['с'],
      e: ['е', 'ҽ'],
      i: ['і', 'ι', 'ı'],
      k: ['κ', 'к'],
      n: ['ո', 'η', 'п'],
      o: ['о', 'ο', 'օ', 'ᴏ'],
      p: ['р', 'ρ'],
      s: ['ѕ'],
      t: ['т', 'τ'],
      u: ['υ', 'ս'],
      v: ['ν'],
      x: ['х', 'χ'],
      y: ['у'],
      h: ['һ', 'н'],
      d: ['ԁ'],
      m: ['м'],
      r: ['г'],
      b: ['в'],
    };
    fc.assert(
      fc.property(
        wordOf,
        fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
        context,
        ({ w, category }, picks, pre) => {
          const body = [...w]
            .map((c, i) => {
              const alts = LOOK[c];
              const p = picks[i % picks.length] as number;
              return alts && p % 2 === 0 ? (alts[p % alts.length] as string) : c;
            })
            .join('');
          const text = `${pre}${body}`;
          expect(found(text, category, pre.length, pre.length + body.length), JSON.stringify(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('multi-word terms written joined, and terms glued to each other', () => {
    const multi = manifest.languages.flatMap((l) =>
      [...terms(l, 'minor'), ...terms(l, 'sexual')].filter((t) => /^[a-z]+( [a-z]+)+$/.test(t)),
    );
    fc.assert(
      fc.property(fc.constantFrom(...multi), fc.constantFrom('', '-', '_', '.'), context, (t, join, pre) => {
        const body = t.replaceAll(' ', join);
        const text = `${pre}${body}`;
        expect(
          hitsOf(text).some((h) => h.start === pre.length && h.end === pre.length + body.length),
          JSON.stringify(text),
        ).toBe(true);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.constantFrom(...MINOR), fc.constantFrom(...SEXUAL), fc.boolean(), (m, s, minorFirst) => {
        const text = minorFirst ? `${m}${s}` : `${s}${m}`;
        // Known limit: a run over the junction (`...s` + `s...`) hides where the words meet.
        if ((minorFirst ? m.at(-1) === s[0] : s.at(-1) === m[0]) === true) return;
        expect(screenText(text).verdict, text).toBe('block');
      }),
      { numRuns: RUNS },
    );
  });

  it('romanized forms: Russian (each scheme), Korean, Japanese and Chinese readings', () => {
    const ru = terms('ru', 'minor').filter((t) => /^[а-я]{4,}$/.test(t));
    fc.assert(
      fc.property(fc.constantFrom(...ru), fc.nat(), (t, k) => {
        // Forms of four letters or fewer need evidence of the language nearby (`confirm`).
        const forms = romanize('ru', t, undefined, translit).filter((f) => f.length > 4);
        if (forms.length === 0) return;
        const f = forms[k % forms.length] as string;
        expect(found(`${f}, photo`, 'minor', 0, f.length), f).toBe(true);
      }),
      { numRuns: RUNS },
    );
    for (const lang of ['ko', 'ja', 'zh']) {
      const readings = (lexiconFile(lang) as { readings?: Record<string, string> }).readings ?? {};
      for (const t of terms(lang, 'sexual')) {
        const forms = romanize(lang, t, readings[t], translit).filter((f) => f.replace(/[^a-z]/g, '').length > 4);
        for (const f of forms.slice(0, 3)) {
          const hit = hitsOf(`${f}, photo`).find((h) => h.category === 'sexual');
          expect(hit, `${lang} ${f}`).toBeDefined();
        }
      }
    }
  });
});

describe('stated ages in any position (property)', () => {
  const S = SEXUAL.filter((w) => terms('en', 'sexual').includes(w));
  const FORMS = [
    (n: number) => `${n}yo`,
    (n: number) => `${n} yo`,
    (n: number) => `${n}y.o.`,
    (n: number) => `${n} y/o`,
    (n: number) => `${n}-year-old`,
    (n: number) => `${n} years old`,
    (n: number) => `${n} yrs old`,
    (n: number) => `aged ${n}`,
    (n: number) => `age: ${n}`,
    (n: number) => `${n}th birthday`,
  ];
  const WORDS = Object.entries(lexiconFile('en').numbers ?? {});
  const filler = fc.array(fc.constantFrom('photo', 'detailed', 'soft light', 'outdoors', 'studio'), { maxLength: 20 });

  it('under 18: digits, number words or ordinals with a unit, before or after the sexual term, within the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 17 }),
        fc.nat(FORMS.length - 1),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(...S),
        filler,
        (n, f, words, ageFirst, s, fill) => {
          let age = (FORMS[f] as (n: number) => string)(n);
          if (words) {
            const word = WORDS.find(([w, v]) => v === n && !/(st|nd|rd|th)$/.test(w))?.[0];
            const ord = WORDS.find(([w, v]) => v === n && /(st|nd|rd|th)$/.test(w))?.[0];
            // A number word is followed by a space (`eight y.o.`: glued, `eighty.o.` reads as eighty).
            age = f === FORMS.length - 1 ? `${ord} birthday` : age.replace(String(n), `${word} `).replace('  ', ' ');
          }
          const parts = ageFirst ? [age, ...fill, s] : [s, ...fill, age];
          const text = parts.join(', ');
          expect(screenText(text).verdict, text).toBe('block');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a bare number next to the sexual term: 10-17 block, counts before it do not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 17 }), fc.constantFrom(...S), fc.constantFrom(0, 1, 2), (n, s, shape) => {
        const text = shape === 0 ? `${n}, ${s}` : shape === 1 ? `${s}, ${n}` : `(${n}) ${s}`;
        expect(screenText(text).verdict, text).toBe('block');
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 9 }),
        fc.constantFrom(...S),
        fc.constantFrom('women', 'men', 'models'),
        (n, s, noun) => {
          const text = `${n} ${s} ${noun}`;
          expect(screenText(text).verdict, text).toBe('allow');
        },
      ),
      { numRuns: RUNS },
    );
    for (const v of ['(nude:1.2)', 'seed 15', 'page 15', 'step 12', '15 minutes', '12:30', '1,200', '15%', '512x512'])
      for (const s of S.slice(0, 5)) expect(screenText(`${v.replace('nude', s)}, ${s}`).verdict, v).toBe('allow');
  });

  it('18 and over is adult, whatever the form or position', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 18, max: 99 }),
        fc.nat(FORMS.length - 2),
        fc.boolean(),
        fc.constantFrom(...S),
        filler,
        (n, f, ageFirst, s, fill) => {
          const age = (FORMS[f] as (n: number) => string)(n);
          const parts = ageFirst ? [age, ...fill, s] : [s, ...fill, age];
          const text = parts.join(', ');
          expect(screenText(text).verdict, text).not.toBe('block');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('carve-outs hold under the new classes', () => {
  const S = terms('en', 'sexual').filter((t) => /^[a-z]+$/.test(t));
  it('adult ages, look-alikes and compound words that merely contain a term', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'teen titans',
          'baby doll dress',
          'school bus',
          'kid gloves',
          '25 yo',
          'aged 30',
          'canteen',
          'kidney',
        ),
        fc.constantFrom(' ', '-', '_', ''),
        fc.constantFrom(...S),
        (c, sep, s) => {
          const text = `${c.replaceAll(' ', sep === '' && /\d/.test(c) ? ' ' : sep)}, ${s}`;
          expect(screenText(text).verdict, text).not.toBe('block');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('chunked reading only joins whole tokens: a term inside a longer word is not found', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MINOR), fc.stringMatching(/^[b-df-hj-np-tv-z]{2,4}$/), (w, extra) => {
        // The term with consonants glued before it (not a lexicon entry): no hit at the term.
        if (hitsOf(extra).length > 0) return; // the consonants are an entry themselves (`rlb` reads `r18`)
        const text = `${extra}${w}`;
        const hit = hitsOf(text).find(
          (h) => h.start === extra.length && h.end === text.length && h.category === 'minor',
        );
        expect(hit, text).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });
});

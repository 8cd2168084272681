/**
 * Normalization and matching: every obfuscation kind, the offset map back to the original text
 * (property-tested), segments of long texts (the same hits as one pass), linear time on 1 MB and
 * 10 MB inputs, and arbitrary Unicode. Terms come from the lexicon files (test/text/terms.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Hit, textEngine } from '../../src/text/engine.js';
import { screenText } from '../../src/text/screen.js';
import { TEXT_CONTEXTS } from '../../src/text/types.js';
import { latinWord, manifest, term, terms } from './terms.js';

const engine = textEngine();
const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 200);

function hitsOf(text: string, segment?: number): Hit[] {
  const hits: Hit[] = [];
  engine.scan(text, (h) => hits.push(h), segment);
  return hits;
}

/** The hit of `category` whose span is exactly [start, end), if any. */
function hitAt(text: string, category: string, start: number, end: number): Hit | undefined {
  return hitsOf(text).find((h) => h.category === category && h.start === start && h.end === end);
}

const minorWord = latinWord('en', 'minor');
const sexualWord = latinWord('en', 'sexual');

/** Obfuscations of a lower-case Latin word, each a function of the word. */
const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };
const OBFUSCATIONS: Record<string, (w: string) => string> = {
  plain: (w) => w,
  upper: (w) => w.toUpperCase(),
  mixedCase: (w) => [...w].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''),
  leet: (w) => [...w].map((c) => LEET[c] ?? c).join(''),
  dotted: (w) => [...w].join('.'),
  spaced: (w) => [...w].join(' '),
  dashed: (w) => [...w].join('-'),
  underscored: (w) => [...w].join('_'),
  spacedDots: (w) => [...w].join(' . '),
  zeroWidthSpace: (w) => [...w].join('\u200b'),
  zeroWidthJoiner: (w) => [...w].join('\u200d'),
  softHyphen: (w) => [...w].join('\u00ad'),
  wordJoiner: (w) => [...w].join('\u2060'),
  variationSelector: (w) => [...w].join('\ufe0f'),
  repeated: (w) => w.replace(/[aeiou]/, (v) => v.repeat(5)),
  repeatedAll: (w) => [...w].map((c) => c.repeat(3)).join(''),
  fullwidth: (w) => w.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x61 + 0xff41)),
  mathBold: (w) => [...w].map((c) => String.fromCodePoint(0x1d41a + c.charCodeAt(0) - 0x61)).join(''),
  circled: (w) => [...w].map((c) => String.fromCodePoint(0x24d0 + c.charCodeAt(0) - 0x61)).join(''),
  diacritics: (w) => [...w].map((c) => `${c}\u0301`).join(''),
  zalgo: (w) => [...w].map((c) => `${c}\u0336\u0315\u0489`).join(''),
  precomposed: (w) => w.replace(/e/g, 'é').replace(/a/g, 'à').replace(/i/g, 'ï').replace(/o/g, 'ö').replace(/u/g, 'ü'),
  cyrillicHomoglyphs: (w) =>
    w.replace(/[aceopxy]/g, (c) => ({ a: 'а', c: 'с', e: 'е', o: 'о', p: 'р', x: 'х', y: 'у' })[c] as string),
  greekHomoglyphs: (w) => w.replace(/[o]/g, 'ο').replace(/[a]/g, 'α'),
  regionalIndicators: (w) => [...w].map((c) => String.fromCodePoint(0x1f1e6 + c.charCodeAt(0) - 0x61)).join(' '),
  parenthesized: (w) => [...w].map((c) => String.fromCodePoint(0x249c + c.charCodeAt(0) - 0x61)).join(''),
};

describe('normalization', () => {
  it('folds compatibility forms, case, diacritics and homoglyphs; drops zero-width characters', () => {
    expect(engine.normalize('ＦＵＬＬ ｗｉｄｔｈ').text).toBe('full width');
    expect(engine.normalize('Ĉàfé Ünïcödé').text).toBe('cafe unicode');
    expect(engine.normalize('Straße').text).toBe('strasse');
    expect(engine.normalize('раураl').text).toBe('paypal'); // Cyrillic р а у
    expect(engine.normalize('he\u200bl\u200clo\u2060').text).toBe('hello');
    expect(engine.normalize('𝐛𝐨𝐥𝐝 ⓒⓘⓡⓒⓛⓔ').text).toBe('bold circle');
    expect(engine.normalize('ＡＢＣ１２３').text).toBe('abc123');
  });

  it('joins spaced-out letters, collapses repeats (keeping run lengths) and separator runs', () => {
    expect(engine.normalize('s.p.a.c.e.d out').text).toBe('spaced out');
    expect(engine.normalize('s p a c e d, out').text).toBe('spaced out');
    expect(engine.normalize('a b').text).toBe('a b'); // two singles are words, not a spaced word
    expect(engine.normalize('x, y, z').text).toBe('x y z'); // commas split phrases
    expect(engine.normalize('cooool!!!   yes').text).toBe('cooool yes');
    expect(engine.normalize('line one\n\nline two').text).toBe('line one line two');
  });

  it('reads emoji as words and digits or symbols inside words as letters in leet mode', () => {
    expect(engine.normalize('🧒🏽 at the 🏫').text).toBe(' child at the school ');
    expect(engine.normalize('h3ll0 w0r1d', 'leet').text).toBe('heiio worid');
    expect(engine.normalize('h3ll0 w0r1d').text).toBe('h3ll0 w0r1d');
    expect(engine.normalize('$ale 2024', 'leet').text).toBe('saie 2024'); // a number stays a number
    expect(engine.normalize('5 a l e', 'leet').text).toBe('saie');
  });

  it('maps every normalized character back to its source in the original text', () => {
    const text = 'Ｈé\u200bl\u200blo, 🧒 w.o.r.l.d — ﬁne ⑮';
    const { text: norm, starts, ends } = engine.normalize(text);
    expect(starts).toHaveLength(norm.length);
    for (let i = 0; i < norm.length; i++) {
      expect(starts[i]).toBeGreaterThanOrEqual(0);
      expect(ends[i]).toBeGreaterThan(starts[i] as number);
      expect(ends[i]).toBeLessThanOrEqual(text.length);
    }
    const at = (c: string) => norm.indexOf(c);
    expect(text.slice(starts[at('h')], ends[at('h')])).toBe('Ｈ');
    expect(text.slice(starts[at('w')], ends[at('w')])).toBe('w');
    expect(text.slice(starts[at('f')], ends[at('f')])).toBe('ﬁ'); // a ligature folds to two letters
    expect(text.slice(starts[at('1')], ends[at('1')])).toBe('⑮');
    expect(text.slice(starts[at('c')], ends[at('c')])).toBe('🧒');
  });
});

describe('obfuscations', () => {
  for (const [kind, fn] of Object.entries(OBFUSCATIONS)) {
    it(`finds a term written ${kind}, with its span in the original text`, () => {
      for (const [word, category] of [
        [minorWord, 'minor'],
        [sexualWord, 'sexual'],
      ] as const) {
        const obfuscated = fn(word);
        const text = `one, ${obfuscated}, two`;
        const start = 5;
        const end = start + obfuscated.length;
        const hit = hitAt(text, category, start, end);
        expect(hit, `${kind}: span [${start}, ${end}) of the ${category} term`).toBeDefined();
      }
    });
  }

  it('reads emoji used as words, in every position', () => {
    const child = Object.entries(JSON.parse('{"🧒":"child","🚸":"children"}')) as [string, string][];
    for (const [emoji] of child) {
      const text = `${emoji} ${sexualWord}`;
      expect(screenText(text).verdict).toBe('block');
      expect(hitAt(text, 'minor', 0, emoji.length)).toBeDefined();
    }
  });

  it('joins CJK characters split by spacing', () => {
    const ja = term('ja', 'minor');
    const spaced = [...ja].join(' ');
    expect(hitAt(`${spaced}、`, 'minor', 0, spaced.length)).toBeDefined();
    expect(hitAt([...ja].join('・'), 'minor', 0, 2 * ja.length - 1)).toBeDefined();
  });

  it('does not join letters across phrase breaks or line breaks', () => {
    const w = minorWord;
    expect(hitsOf([...w].join(', ')).some((h) => h.category === 'minor')).toBe(false);
    expect(hitsOf([...w].join('\n')).some((h) => h.category === 'minor')).toBe(false);
  });

  it('needs word boundaries for alphabetic terms, not for CJK', () => {
    expect(hitsOf(`x${sexualWord}x`).some((h) => h.category === 'sexual')).toBe(false);
    expect(hitsOf(`1${sexualWord}2`).some((h) => h.category === 'sexual')).toBe(true); // digits are boundaries
    const zh = term('zh', 'sexual');
    expect(hitsOf(`之前${zh}之后`).some((h) => h.category === 'sexual')).toBe(true);
  });

  it('keeps repeated-letter runs honest: a term with a double letter needs it in the text', () => {
    const double = terms('en', 'minor').find((t) => /^[a-z]+$/.test(t) && /(.)\1/.test(t)) as string;
    const single = double.replace(/(.)\1/, '$1');
    expect(hitsOf(double).some((h) => h.term === double)).toBe(true);
    expect(hitsOf(single).some((h) => h.term === double)).toBe(false);
    expect(hitsOf(double.replace(/(.)\1/, '$1$1$1$1')).some((h) => h.term === double)).toBe(true);
  });
});

describe('offset map (property)', () => {
  const words = [
    ...terms('en', 'minor').filter((t) => /^[a-z]{4,}$/.test(t)),
    ...terms('en', 'sexual').filter((t) => /^[a-z]{4,}$/.test(t)),
  ];
  const kinds = Object.keys(OBFUSCATIONS).filter((k) => k !== 'regionalIndicators');
  it('every span lies in the original text and covers exactly the source characters of the term', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom(...words),
        fc.constantFrom(...kinds),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (prefix, word, kind, suffix) => {
          const obfuscated = (OBFUSCATIONS[kind] as (w: string) => string)(word);
          const head = `${prefix}, `;
          const text = `${head}${obfuscated}, ${suffix}`;
          const hits = hitsOf(text);
          for (const h of hits) {
            expect(h.start).toBeGreaterThanOrEqual(0);
            expect(h.end).toBeLessThanOrEqual(text.length);
            expect(h.end).toBeGreaterThan(h.start);
          }
          const mine = hits.find((h) => h.start === head.length && h.end === head.length + obfuscated.length);
          expect(mine, `${kind} ${JSON.stringify(text)}`).toBeDefined();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('long texts', () => {
  const filler = 'a walk in the old town with friends and a red umbrella';
  const pieces = [
    filler,
    minorWord,
    sexualWord,
    [...minorWord].join('.'),
    '\u200b'.repeat(50),
    'e'.repeat(40),
    ', , , , , , , ,',
    '15 years old',
    'kid gloves',
    '🧒',
    term('ja', 'minor'),
    term('ru', 'sexual'),
  ];

  it('segments give the same hits as one pass', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 800, maxLength: 2500 }), (parts) => {
        const text = parts.join(' ');
        const whole = hitsOf(text, Number.POSITIVE_INFINITY);
        const segmented = hitsOf(text, 1);
        expect(segmented).toEqual(whole);
      }),
      { numRuns: 12, endOnFailure: true },
    );
  });

  it('1 MB and 10 MB texts are processed fully, in time growing about linearly', () => {
    for (const unit of [
      `${filler}, ${sexualWord}. `,
      'a b c d e f g h ',
      'e'.repeat(1000),
      '\u200b'.repeat(97) + 'x',
    ]) {
      const small = unit.repeat(Math.ceil(1e6 / unit.length));
      const large = unit.repeat(Math.ceil(1e7 / unit.length));
      screenText(small.slice(0, 10_000)); // warm up
      const time = (s: string) => {
        const t0 = performance.now();
        screenText(s, { context: 'post' });
        return performance.now() - t0;
      };
      const t1 = Math.min(time(small), time(small));
      const t10 = time(large);
      // Linear: about 10x. Allow a wide margin (shared machines, GC): far below quadratic (100x).
      expect(t10 / Math.max(t1, 1)).toBeLessThan(40);
    }
    // A term at the very end of a 10 MB text is found.
    const text = `${filler} `.repeat(Math.ceil(1e7 / (filler.length + 1)));
    const end = `${text}${minorWord} ${sexualWord}`;
    expect(screenText(end, { context: 'caption' }).verdict).toBe('block');
    const padded = `${minorWord}${'\u200b'.repeat(3_000_000)} ${sexualWord}`;
    expect(screenText(padded).verdict).toBe('block');
  }, 120_000);
});

describe('arbitrary input', () => {
  it('never throws, in any context, on arbitrary UTF-16 (lone surrogates included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom(...TEXT_CONTEXTS), (text, context) => {
        const v = screenText(text, { context });
        expect(['block', 'review', 'allow']).toContain(v.verdict);
        for (const r of v.reasons)
          for (const s of r.spans)
            if (s.tag === undefined) {
              expect(s.start).toBeGreaterThanOrEqual(0);
              expect(s.end).toBeLessThanOrEqual(text.length);
            }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('never throws on texts mixing lexicon terms, digits and symbols of every language', () => {
    const alphabet = manifest.languages.flatMap((l) => [term(l, 'minor'), term(l, 'sexual'), term(l, 'adult')]);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...alphabet), fc.string({ unit: 'grapheme', maxLength: 6 })), {
          maxLength: 40,
        }),
        (parts) => {
          expect(() => screenText(parts.join(''))).not.toThrow();
          expect(() => screenText(parts.join(' '), { context: 'tags' })).not.toThrow();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

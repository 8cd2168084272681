/**
 * Screening rules: every language, stated ages in every written form, negative-prompt semantics,
 * look-alike carve-outs, windows per context, tag maps, abuse terms, cross-language homographs,
 * redaction (no text ever in redacted output) and the API's input checks. Texts that combine a
 * minor indicator with a sexual term are built from the lexicon files at test time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import {
  flattenTags,
  lexiconVersion,
  screenFindings,
  screenPromptPair,
  screenTags,
  screenText,
} from '../../src/text/screen.js';
import { TEXT_CONTEXTS, type TextVerdict } from '../../src/text/types.js';
import { latinWord, lexiconFile, lookalikes, manifest, term, terms } from './terms.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 200);
const rules = (v: TextVerdict) => v.reasons.map((r) => r.rule);
const M = latinWord('en', 'minor');
const S = latinWord('en', 'sexual');

describe('languages', () => {
  for (const lang of manifest.languages) {
    it(`${lang}: a strong minor indicator with a strong sexual term blocks; either alone is allowed`, () => {
      const minors = terms(lang, 'minor');
      const sexual = terms(lang, 'sexual');
      for (let i = 0; i < Math.min(minors.length, 12); i++) {
        const a = minors[(i * 7) % minors.length] as string;
        const b = sexual[(i * 5) % sexual.length] as string;
        for (const text of [`${a} ${b}`, `${b}, ${a}`]) {
          const v = screenText(text);
          expect(v.verdict, `${lang} #${i}`).toBe('block');
          expect(rules(v)).toContain('minor-sexual');
          expect(v.categories).toEqual(expect.arrayContaining(['minor', 'sexual']));
        }
        expect(screenText(a).verdict).toBe('allow');
        expect(screenText(b).verdict).toBe('allow');
      }
    });
  }

  it('CJK terms are found inside running text (no spaces)', () => {
    for (const lang of ['ja', 'zh']) {
      const text = `今日は${term(lang, 'minor')}と${term(lang, 'sexual')}の話`;
      expect(screenText(text).verdict).toBe('block');
    }
  });

  it('every lexicon term of every category is found on its own', () => {
    for (const lang of manifest.languages) {
      for (const category of ['minor', 'sexual', 'abuse', 'adult', 'clothing']) {
        for (const strength of ['strong', 'weak'] as const) {
          for (const t of terms(lang, category, strength)) {
            const v = screenFindings(t, 'prompt', 'test'); // exercises the findings path too
            expect(Array.isArray(v)).toBe(true);
            const found = screenText(`${t}`, { context: 'negativePrompt' });
            expect(found.verdict === 'allow' || found.verdict === 'review').toBe(true);
          }
        }
      }
    }
  });
});

describe('stated ages', () => {
  const forms = (n: number, word: string) => [
    `${n}yo`,
    `${n} yo`,
    `${n}y/o`,
    `${n} y/o`,
    `${n} y.o.`,
    `${n} years old`,
    `${n}-year-old`,
    `${n} year old`,
    `${n} yrs old`,
    `age: ${n}`,
    `age ${n}`,
    `aged ${n}`,
    `(age ${n})`,
    `${word} years old`,
    `${word}-year-old`,
    `she is ${n}.`,
    `i'm ${n},`,
  ];
  it('every written form of an age under 18 is a minor indicator', () => {
    for (const v of forms(15, 'fifteen')) {
      const verdict = screenText(`${v} ${S}`);
      expect(verdict.verdict, v).toBe('block');
      const span = verdict.reasons[0]?.spans.find((s) => s.category === 'age');
      expect(span?.age, v).toBe(15);
    }
    expect(screenText(`8 months old ${S}`).verdict).toBe('block');
  });

  it('ages of 18 and over are adult, not minor', () => {
    for (const v of [...forms(25, 'twenty five'), '18yo', 'eighteen years old', 'thirty years old']) {
      const verdict = screenText(`${v} ${S}`);
      expect(verdict.verdict, v).toBe('allow');
    }
  });

  it('numbers that are not ages are not minor indicators', () => {
    for (const v of ['1girl', '2girls', '8k', 'she is 15 minutes late', '15 cm', 'page 15', 'seed 15']) {
      expect(screenText(`${v}, ${S}`).verdict, v).toBe('allow');
    }
  });

  it('ages in every language: digits, number words, compounds, CJK numerals', () => {
    const sex = (lang: string) => term(lang, 'sexual');
    const cases: [string, string][] = [
      ['es', '15 años'],
      ['es', 'quince años'],
      ['pt', '15 anos'],
      ['pt', 'quinze anos'],
      ['fr', '15 ans'],
      ['fr', 'dix sept ans'],
      ['fr', 'âgée de 15'],
      ['de', '15 Jahre alt'],
      ['de', '15-jährige'],
      ['de', 'fünfzehnjährige'],
      ['ru', '15 лет'],
      ['ru', 'пятнадцать лет'],
      ['ru', 'пятнадцатилетняя'],
      ['ja', '15歳'],
      ['ja', '十五歳'],
      ['ja', '１５才'],
      ['zh', '15岁'],
      ['zh', '十五岁'],
      ['zh', '十二歲'],
    ];
    for (const [lang, age] of cases) {
      const v = screenText(`${age} ${sex(lang)}`);
      expect(v.verdict, `${lang} ${age}`).toBe('block');
    }
    for (const [lang, age] of [
      ['zh', '二十五岁'],
      ['ja', '三十歳'],
      ['es', 'veinticinco años'],
      ['fr', 'vingt cinq ans'],
      ['de', 'zwanzigjährige'],
      ['ru', 'двадцать пять лет'],
    ] as const)
      expect(screenText(`${age} ${sex(lang)}`).verdict, `${lang} ${age}`).toBe('allow');
  });
});

describe('negative prompts', () => {
  const adult = term('en', 'adult');
  const old = term('en', 'adult', 'weak');
  it('alone: adult or mature terms are a review signal; minor and abuse terms steer away and are allowed', () => {
    expect(screenText(`${adult}, blurry`, { context: 'negativePrompt' })).toMatchObject({
      verdict: 'review',
      reasons: [{ rule: 'negative-adult' }],
    });
    expect(screenText(`${M}, ${term('en', 'abuse')}, ${S}`, { context: 'negativePrompt' }).verdict).toBe('allow');
    expect(screenText(`${old}, blurry`, { context: 'negativePrompt' }).verdict).toBe('allow');
  });

  it('with a sexual prompt, adult terms in the negative prompt steer younger: block', () => {
    const v = screenPromptPair({ prompt: `1girl, ${S}`, negativePrompt: `${adult}, lowres` });
    expect(v.verdict).toBe('block');
    expect(rules(v)).toEqual(['negative-steering']);
    expect(v.reasons[0]?.spans.map((s) => s.field)).toEqual(['prompt', 'negativePrompt']);
    expect(v.reasons[0]?.spans[1]).toMatchObject({ start: 0, end: adult.length, category: 'adult' });
    // A stated adult age in the negative prompt is an adult term too.
    expect(screenPromptPair({ prompt: S, negativePrompt: '25 years old' }).verdict).toBe('block');
    // Weak adult terms (old, wrinkles) only ask for review.
    expect(screenPromptPair({ prompt: S, negativePrompt: old }).verdict).toBe('review');
  });

  it('a prompt with a minor indicator and clothing in the negative prompt steers towards nudity: block', () => {
    const clothes = term('en', 'clothing');
    expect(screenPromptPair({ prompt: `${M} at the beach`, negativePrompt: clothes }).verdict).toBe('block');
    expect(screenPromptPair({ prompt: 'a landscape', negativePrompt: clothes }).verdict).toBe('allow');
  });

  it('a non-sexual prompt with adult terms in the negative prompt is allowed; the prompt rules still apply', () => {
    expect(screenPromptPair({ prompt: 'a castle at dawn', negativePrompt: adult }).verdict).toBe('allow');
    expect(screenPromptPair({ prompt: `${M} ${S}`, negativePrompt: 'blurry' }).verdict).toBe('block');
    expect(screenPromptPair({ prompt: `${M} ${S}` }).verdict).toBe('block');
    expect(screenPromptPair({ negativePrompt: adult }).verdict).toBe('allow');
  });
});

describe('look-alikes', () => {
  it('carve out the terms they contain', () => {
    const cases = [
      `kid gloves, ${S} color`,
      'babydoll lingerie, adult model',
      `child process, ${S}`.replace(S, 'sexual health'),
      `boyshorts and ${S} lipstick`.replace(`${S} lipstick`, 'nude lipstick'),
      'sex of the baby revealed at the party',
      'minor key sonata, erotic poem',
      'yoga: child pose, naked eye',
      'adults only, no minors, nsfw',
      '裸足の子供',
      'enfant pieds nus',
      'Nacktschnecke, Kinder Überraschung',
    ];
    for (const text of cases) expect(screenText(text).verdict, text).not.toBe('block');
  });

  it('do not reach across phrase breaks: "kid, gloves" is not "kid gloves"', () => {
    const [first] = 'kid gloves'.split(' ');
    expect(screenText(`${first} gloves ${S}`).verdict).toBe('allow');
    expect(screenText(`${first}, gloves, ${S}`).verdict).toBe('block');
  });

  it('every look-alike of every language is found and hides what it contains', () => {
    for (const lang of manifest.languages)
      for (const l of lookalikes(lang)) expect(screenText(l).verdict, `${lang}: ${l}`).not.toBe('block');
  });
});

describe('contexts and windows', () => {
  const far = `${M} ${'word '.repeat(40)}${S}`;
  it('posts: far apart is review, close is block; prompts and captions: a wider window', () => {
    expect(screenText(far, { context: 'post' })).toMatchObject({
      verdict: 'review',
      reasons: [{ rule: 'minor-sexual-distant' }],
    });
    expect(screenText(`${M} ${S}`, { context: 'post' }).verdict).toBe('block');
    expect(screenText(far, { context: 'prompt' }).verdict).toBe('block');
    expect(screenText(far, { context: 'caption' }).verdict).toBe('block');
    expect(screenText(`${M} ${'word '.repeat(200)}${S}`, { context: 'prompt' }).verdict).toBe('review');
    expect(screenText(`${M} ${'word '.repeat(200)}${S}`, { context: 'title' }).verdict).toBe('block');
  });

  it('weak indicators ask for review', () => {
    const weakMinor = term('en', 'minor', 'weak');
    const weakSexual = term('en', 'sexual', 'weak');
    expect(screenText(`${weakMinor} ${S}`)).toMatchObject({
      verdict: 'review',
      reasons: [{ rule: 'minor-sexual-weak' }],
    });
    expect(screenText(`${M} ${weakSexual}`)).toMatchObject({
      verdict: 'review',
      reasons: [{ rule: 'minor-sexual-weak' }],
    });
    expect(screenText(`${weakMinor} ${weakSexual}`).verdict).toBe('allow');
  });

  it('abuse terms: coded ones block everywhere but negative prompts; named ones are review in posts', () => {
    const coded = term('en', 'abuse', 'strong');
    const named = term('en', 'abuse', 'weak');
    for (const context of ['prompt', 'caption', 'title', 'post', 'tags'] as const)
      expect(screenText(coded, { context }).verdict, context).toBe('block');
    expect(screenText(named, { context: 'prompt' }).verdict).toBe('block');
    expect(screenText(`report ${named} to the hotline`, { context: 'post' })).toMatchObject({
      verdict: 'review',
      reasons: [{ rule: 'abuse-term', verdict: 'review' }],
    });
    // The minor and sexual words inside a named abuse term do not add a minor-sexual block.
    const long = terms('en', 'abuse', 'weak').find((t) => t.split(' ').length >= 3) as string;
    expect(screenText(long, { context: 'post' }).verdict).toBe('review');
  });

  it('cross-language homographs count only with evidence of their language', () => {
    const kind = lexiconFile('de').terms.minor?.strong?.youth?.find((i) => typeof i === 'object') as { term: string };
    const nackt = terms('de', 'sexual')[0] as string;
    expect(screenText(`${kind.term} of ${S}`).verdict).toBe('allow');
    expect(screenText(`ein ${nackt} ${kind.term}`).verdict).toBe('block');
  });
});

describe('tag maps', () => {
  it('blocks a tag map with a minor tag and a sexual tag; spans name the tag', () => {
    const v = screenTags({ [M]: 3, landscape: 10, [S]: 5 });
    expect(v.verdict).toBe('block');
    expect(v.context).toBe('tags');
    expect(v.reasons[0]?.spans.map((s) => s.tag)).toEqual([0, 2]);
    expect(v.reasons[0]?.spans[0]).toMatchObject({ start: 0, end: M.length });
  });

  it('reads ss_tag_frequency (folder → tag → count), drops zero counts, and tags texts', () => {
    const nested = { '10_dataset': { [M]: 2, portrait: 7 }, '5_more': { [S]: 1 } };
    expect(screenTags(nested).verdict).toBe('block');
    expect(screenTags({ [M]: 2, [S]: 0 }).verdict).toBe('allow');
    expect(flattenTags({ a: 1, b: { a: 2, c: 3 } })).toEqual([
      ['a', 3],
      ['c', 3],
    ]);
    expect(screenText(JSON.stringify(nested), { context: 'tags' }).verdict).toBe('block');
    expect(screenText(`${M}, portrait, ${S}`, { context: 'tags' }).verdict).toBe('block');
    expect(screenTags([M, 'portrait']).verdict).toBe('allow');
    // A multi-word look-alike does not form across two tags.
    expect(screenTags({ kid: 1, gloves: 1, [S]: 1 }).verdict).toBe('block');
  });
});

describe('redaction', () => {
  /** Every string in a redacted verdict is one of these (enums and fixed messages). */
  const allowed = (v: TextVerdict) =>
    new Set<string>([
      ...TEXT_CONTEXTS,
      'block',
      'review',
      'allow',
      'minor',
      'age',
      'sexual',
      'abuse',
      'adult',
      'clothing',
      'strong',
      'weak',
      'prompt',
      'negativePrompt',
      lexiconVersion(),
      ...v.reasons.map((r) => r.rule),
      ...v.reasons.map((r) => r.message),
      ...v.reasons.flatMap((r) => r.spans.map((s) => s.lang)),
    ]);
  const strings = (x: unknown, out: string[] = []): string[] => {
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) for (const y of x) strings(y, out);
    else if (typeof x === 'object' && x !== null) for (const y of Object.values(x)) strings(y, out);
    return out;
  };
  const texts = fc.tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom(
      ...manifest.languages.flatMap((l) => [term(l, 'minor'), term(l, 'sexual'), term(l, 'abuse', 'weak')]),
    ),
    fc.constantFrom(...manifest.languages.flatMap((l) => [term(l, 'sexual'), term(l, 'adult')])),
    fc.string({ maxLength: 20 }),
  );

  it('never leaks text: terms and matched strings are left out, every string is an enum or a fixed message', () => {
    fc.assert(
      fc.property(texts, fc.constantFrom(...TEXT_CONTEXTS), ([p, a, b, s], context) => {
        const text = `${p} ${a}, ${b} ${s}`;
        const v = screenText(text, { context, redact: true });
        expect(v.redacted).toBe(true);
        const ok = allowed(v);
        for (const str of strings(v)) expect(ok.has(str), str).toBe(true);
        for (const r of v.reasons)
          for (const span of r.spans) {
            expect(span).not.toHaveProperty('term');
            expect(span).not.toHaveProperty('matched');
          }
        const pair = screenPromptPair({ prompt: text, negativePrompt: b }, { redact: true });
        for (const str of strings(pair)) expect(allowed(pair).has(str), str).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('findings for scans are always redacted', () => {
    const findings = screenFindings(`${M} ${S}`, 'caption', 'model');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ type: 'text.block', severity: 'critical', source: 'model' });
    const json = JSON.stringify(findings);
    expect(json).not.toContain(M);
    expect(json).not.toContain(S);
    expect(screenFindings('a landscape', 'title', 'model')).toEqual([]);
    expect(screenFindings({ [M]: 1, [S]: 2 }, 'tags', 'model')[0]?.type).toBe('text.block');
    expect(screenFindings({ prompt: S, negativePrompt: term('en', 'adult') }, 'prompt', 'provenance')[0]?.type).toBe(
      'text.block',
    );
    const review = screenFindings(`${term('en', 'minor', 'weak')} ${S}`, 'prompt', 'x');
    expect(review[0]).toMatchObject({ type: 'text.review', severity: 'medium' });
  });

  it('unredacted output holds the lexicon term and the original text of each span', () => {
    const text = `${M.toUpperCase()} ${S}`;
    const v = screenText(text);
    expect(v.redacted).toBe(false);
    const span = v.reasons[0]?.spans[0];
    expect(span).toMatchObject({ term: M, matched: M.toUpperCase(), start: 0, end: M.length });
    expect(v.lexiconVersion).toBe(manifest.version);
  });
});

describe('API', () => {
  it('checks its inputs', () => {
    const bad = [
      () => screenText(42 as unknown as string),
      () => screenText('x', { context: 'essay' as never }),
      () => screenPromptPair(null as never),
      () => screenPromptPair({ prompt: 1 as never }),
      () => screenTags('x' as never),
      () => screenFindings(['x'] as never, 'prompt', 's'),
    ];
    for (const f of bad) {
      let error: unknown;
      try {
        f();
      } catch (e) {
        error = e;
      }
      expect(WardError.is(error)).toBe(true);
      expect((error as WardError).code).toBe('WARD_ERR_INPUT_TYPE');
    }
  });

  it('an empty text is allowed in every context', () => {
    for (const context of TEXT_CONTEXTS)
      expect(screenText('', { context })).toMatchObject({ verdict: 'allow', reasons: [], categories: [] });
  });
});

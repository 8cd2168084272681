/**
 * @module text/rules
 * From hits to a verdict. Streaming: hits arrive in text order and the state keeps only the last
 * hit of each kind, the first of each kind, and a few spans per rule, so a text of any length is
 * judged in one pass with bounded memory.
 *
 * - `abuse-term`: strong (coded) abuse terms block in every context but negative prompts; weak
 *   (named, clinical) ones block too, except in posts (where they are discussed): review;
 * - `minor-sexual`: a strong minor indicator (stated ages under 18 included) and a strong sexual
 *   term at most `window` tokens apart block; one side weak: review (`minor-sexual-weak`);
 *   strong on both sides but farther apart: review (`minor-sexual-distant`);
 * - negative prompts: minor and abuse terms there steer away from them and are ignored; alone,
 *   strong adult terms are a review signal (`negative-adult`); with a prompt, see `pairRules`.
 */
import type { Hit } from './engine.js';
import type {
  Strength,
  TextCategory,
  TextContext,
  TextReason,
  TextRule,
  TextSpan,
  TextVerdict,
  TextVerdictKind,
} from './types.js';

/** Tokens between a minor indicator and a sexual term for `minor-sexual` (block). */
export const WINDOWS: Readonly<Record<TextContext, number>> = Object.freeze({
  prompt: 150,
  negativePrompt: Number.POSITIVE_INFINITY,
  caption: 150,
  tags: Number.POSITIVE_INFINITY,
  title: Number.POSITIVE_INFINITY,
  post: 25,
});

/** Occurrences (pairs) kept as spans per rule; `count` has them all. */
export const MAX_OCCURRENCES = 3;

const CATEGORY_ORDER: readonly TextCategory[] = ['abuse', 'minor', 'age', 'sexual', 'adult', 'clothing'];

/** Where a hit's text lives: the string and how spans name it. */
export interface Source {
  text: string;
  field?: string;
  tag?: number;
}

interface Seen {
  hit: Hit;
  src: Source;
}

interface Acc {
  rule: TextRule;
  verdict: 'block' | 'review';
  message: string;
  count: number;
  spans: TextSpan[];
}

export class RuleState {
  private readonly window: number;
  private readonly reasons = new Map<string, Acc>();
  private lastMinor: Partial<Record<Strength, Seen>> = {};
  private lastSexual: Partial<Record<Strength, Seen>> = {};
  /** First hit of each category and strength (pair rules and `distant`). */
  readonly first: Partial<Record<`${TextCategory}.${Strength}`, Seen>> = {};

  constructor(
    readonly context: TextContext,
    readonly redact: boolean,
  ) {
    this.window = WINDOWS[context];
  }

  add(hit: Hit, src: Source): void {
    const seen: Seen = { hit, src };
    const minorLike = hit.category === 'minor' || hit.category === 'age';
    const key = `${minorLike ? 'minor' : hit.category}.${hit.strength}` as const;
    this.first[key] ??= seen;
    if (this.context === 'negativePrompt') return;
    if (hit.category === 'abuse') {
      const named = hit.strength === 'weak';
      const verdict = named && this.context === 'post' ? 'review' : 'block';
      this.fire('abuse-term', verdict, named ? 'a term naming abuse material' : 'a term specific to abuse material', [
        seen,
      ]);
      return;
    }
    if (minorLike) {
      this.pair(seen, this.lastSexual);
      this.lastMinor[hit.strength] = seen;
    } else if (hit.category === 'sexual') {
      this.pair(seen, this.lastMinor);
      this.lastSexual[hit.strength] = seen;
    }
  }

  /** Pairs a new minor (or sexual) hit with the last sexual (or minor) hits within the window. */
  private pair(seen: Seen, others: Partial<Record<Strength, Seen>>): void {
    const near = (o: Seen | undefined) =>
      o !== undefined && (!Number.isFinite(this.window) || Math.abs(seen.hit.tok - o.hit.tok) <= this.window)
        ? o
        : undefined;
    const strong = near(others.strong);
    const weak = near(others.weak);
    const windowText = Number.isFinite(this.window) ? `within ${this.window} tokens` : `in the same ${this.context}`;
    if (seen.hit.strength === 'strong' && strong) {
      this.fire('minor-sexual', 'block', `a minor indicator and a sexual term ${windowText}`, [strong, seen]);
    } else if (seen.hit.strength === 'strong' && weak) {
      this.fire('minor-sexual-weak', 'review', `a minor indicator and a sexual term ${windowText}, one weak`, [
        weak,
        seen,
      ]);
    } else if (seen.hit.strength === 'weak' && strong) {
      this.fire('minor-sexual-weak', 'review', `a minor indicator and a sexual term ${windowText}, one weak`, [
        strong,
        seen,
      ]);
    }
  }

  fire(rule: TextRule, verdict: 'block' | 'review', message: string, seen: Seen[]): void {
    const key = `${rule}/${verdict}`;
    let acc = this.reasons.get(key);
    if (!acc) this.reasons.set(key, (acc = { rule, verdict, message, count: 0, spans: [] }));
    acc.count++;
    if (acc.count <= MAX_OCCURRENCES) {
      const ordered = seen.every((s) => s.src === seen[0]?.src)
        ? [...seen].sort((x, y) => x.hit.start - y.hit.start)
        : seen;
      for (const s of ordered) acc.spans.push(this.span(s));
    }
  }

  private span({ hit, src }: Seen): TextSpan {
    return {
      start: hit.start,
      end: hit.end,
      ...(src.field !== undefined ? { field: src.field } : {}),
      ...(src.tag !== undefined ? { tag: src.tag } : {}),
      category: hit.category,
      strength: hit.strength,
      lang: hit.lang,
      ...(hit.age !== undefined ? { age: hit.age } : {}),
      ...(this.redact ? {} : { term: hit.term, matched: src.text.slice(hit.start, hit.end) }),
    };
  }

  /** Closes the text: rules that need the whole of it. */
  finish(): void {
    if (this.context === 'negativePrompt') {
      const adult = this.first['adult.strong'];
      if (adult) this.fire('negative-adult', 'review', 'adult or mature terms in a negative prompt', [adult]);
      return;
    }
    const minor = this.first['minor.strong'];
    const sexual = this.first['sexual.strong'];
    if (minor && sexual && !this.reasons.has('minor-sexual/block')) {
      this.fire(
        'minor-sexual-distant',
        'review',
        `a minor indicator and a sexual term farther apart than ${this.window} tokens`,
        [minor, sexual],
      );
    }
  }

  verdict(lexiconVersion: string): TextVerdict {
    return toVerdict(this.context, this.redact, lexiconVersion, [...this.reasons.values()]);
  }
}

/**
 * Prompt and negative prompt together: a sexual prompt whose negative prompt holds adult or
 * mature terms (or stated adult ages) steers the output younger; a prompt with a minor
 * indicator whose negative prompt excludes clothing steers it towards nudity.
 */
export function pairRules(positive: RuleState, negative: RuleState): void {
  const p = positive.first;
  const n = negative.first;
  const steer = (a: Seen | undefined, b: Seen | undefined, verdict: 'block' | 'review', message: string) => {
    if (!a || !b) return false;
    positive.fire(verdict === 'block' ? 'negative-steering' : 'negative-steering-weak', verdict, message, [a, b]);
    return true;
  };
  const younger = 'a sexual prompt with adult or mature terms in its negative prompt (steers younger)';
  if (!steer(p['sexual.strong'], n['adult.strong'], 'block', younger)) {
    steer(p['sexual.strong'], n['adult.weak'], 'review', younger) ||
      steer(p['sexual.weak'], n['adult.strong'], 'review', younger);
  }
  const nude = 'a prompt with a minor indicator and clothing in its negative prompt (steers towards nudity)';
  if (!steer(p['minor.strong'], n['clothing.strong'], 'block', nude))
    steer(p['minor.weak'], n['clothing.strong'], 'review', nude);
}

export function toVerdict(
  context: TextContext,
  redacted: boolean,
  lexiconVersion: string,
  reasons: TextReason[],
): TextVerdict {
  const verdict: TextVerdictKind = reasons.some((r) => r.verdict === 'block')
    ? 'block'
    : reasons.length > 0
      ? 'review'
      : 'allow';
  const cats = new Set<TextCategory>();
  for (const r of reasons) for (const s of r.spans) cats.add(s.category);
  const order = (r: TextReason) => (r.verdict === 'block' ? 0 : 1);
  return {
    verdict,
    context,
    categories: CATEGORY_ORDER.filter((c) => cats.has(c)),
    reasons: reasons
      .slice()
      .sort((a, b) => order(a) - order(b))
      .map((r) => ({ rule: r.rule, verdict: r.verdict, message: r.message, count: r.count, spans: r.spans })),
    redacted,
    lexiconVersion,
  };
}

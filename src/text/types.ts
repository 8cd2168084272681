/**
 * @module text/types
 * The vocabulary of text screening: contexts, categories, verdicts, reasons and spans.
 */

/** Where a text comes from; decides which rules apply and how far apart terms may be. */
export type TextContext = 'prompt' | 'negativePrompt' | 'caption' | 'tags' | 'title' | 'post';
export const TEXT_CONTEXTS: readonly TextContext[] = ['prompt', 'negativePrompt', 'caption', 'tags', 'title', 'post'];

export type TextVerdictKind = 'block' | 'review' | 'allow';

/**
 * Lexicon categories: `minor` (youth nouns, school grades, age words; stated ages under 18 are
 * reported as `age`), `sexual`, `abuse` (terms specific to abuse material), `adult` (adult or
 * mature terms and stated ages of 18 or more), `clothing` (used by negative-prompt rules).
 * Look-alikes only suppress the terms they contain and are never reported.
 */
export type TextCategory = 'minor' | 'age' | 'sexual' | 'abuse' | 'adult' | 'clothing';

export type Strength = 'strong' | 'weak';

/**
 * Rule identifiers (stable):
 * - `abuse-term`: a term specific to abuse material (block in every context but negative
 *   prompts; the named, clinical ones are `review` in posts, where they are discussed);
 * - `minor-sexual`: a strong minor indicator (or a stated age under 18) and a strong sexual term
 *   within the context's window (block);
 * - `minor-sexual-weak`: the same with one side weak (review);
 * - `minor-sexual-distant`: strong on both sides but farther apart than the window (review);
 * - `negative-steering`: a sexual prompt whose negative prompt holds strong adult terms
 *   (steers the output younger), or a prompt with a minor indicator whose negative prompt
 *   excludes clothing (block);
 * - `negative-steering-weak`: the same with one side weak (review);
 * - `negative-adult`: a negative prompt alone holding strong adult terms (review).
 */
export type TextRule =
  | 'abuse-term'
  | 'minor-sexual'
  | 'minor-sexual-weak'
  | 'minor-sexual-distant'
  | 'negative-steering'
  | 'negative-steering-weak'
  | 'negative-adult';

/** A place in the original text (UTF-16 code unit offsets, end exclusive). */
export interface TextSpan {
  start: number;
  end: number;
  /** `prompt` or `negativePrompt` for pairs; a JSON path for JSON captions. */
  field?: string;
  /** Index of the tag in a tag map (in iteration order), for the `tags` context. */
  tag?: number;
  category: TextCategory;
  strength: Strength;
  /** Lexicon language of the term (`en`, `es`, ...; comma-separated when in several). */
  lang: string;
  /** Stated age in years, for `age` spans and adult ages. */
  age?: number;
  /** The lexicon form that matched (absent when redacted). */
  term?: string;
  /** The original text of the span (absent when redacted). */
  matched?: string;
}

export interface TextReason {
  rule: TextRule;
  verdict: 'block' | 'review';
  /** What the rule saw, without quoting content. */
  message: string;
  /** How many times the rule fired; `spans` holds the first few occurrences. */
  count: number;
  spans: TextSpan[];
}

export interface TextVerdict {
  verdict: TextVerdictKind;
  context: TextContext;
  /** Categories behind the reasons. */
  categories: TextCategory[];
  reasons: TextReason[];
  /** True when terms and matched text were left out (`redact: true`). */
  redacted: boolean;
  /** Version of the lexicon set that produced the verdict. */
  lexiconVersion: string;
}

export interface ScreenOptions {
  /** Default `prompt`. */
  context?: TextContext;
  /** Keep the text out of the result: spans only, no terms or matched strings. */
  redact?: boolean;
}

/** Tag → count, or dataset folder → (tag → count) as in kohya's `ss_tag_frequency`. */
export type TagMap = Record<string, number | Record<string, number>>;

/**
 * @module text/screen
 * The text-screening API: `screenText` (one text in a context), `screenPromptPair` (prompt and
 * negative prompt), `screenTags` (tag → count maps such as kohya's `ss_tag_frequency`), and
 * `screenFindings` (the same as scan findings, always redacted, for the extractors).
 * How it works: docs/text.md.
 */
import { invalidParameter } from '../errors.js';
import type { Finding } from '../item.js';
import { textEngine } from './engine.js';
import { MAX_OCCURRENCES, pairRules, RuleState, type Source, toVerdict } from './rules.js';
import {
  type ScreenOptions,
  type TagMap,
  TEXT_CONTEXTS,
  type TextContext,
  type TextReason,
  type TextVerdict,
} from './types.js';

export interface PromptPair {
  prompt?: string;
  negativePrompt?: string;
}

/** Tag maps, tag lists, or [tag, count] pairs. */
export type TagInput = TagMap | readonly string[] | Iterable<readonly [string, number]>;

function checkContext(context: unknown): TextContext {
  if (typeof context !== 'string' || !(TEXT_CONTEXTS as readonly string[]).includes(context))
    throw invalidParameter('context', `one of ${TEXT_CONTEXTS.join(', ')}`, context);
  return context as TextContext;
}

function checkText(name: string, text: unknown): string {
  if (typeof text !== 'string') throw invalidParameter(name, 'a string', text);
  return text;
}

/** Version of the loaded lexicon set. */
export function lexiconVersion(): string {
  return textEngine().lexicon.version;
}

function run(state: RuleState, text: string, src: Source): void {
  textEngine().scan(text, (hit) => state.add(hit, src));
}

/**
 * Screens one text. Contexts: `prompt` (default), `negativePrompt`, `caption`, `title`, `post`,
 * and `tags` (the text is then read as a JSON tag map, a JSON array, or comma-separated tags).
 * With `redact: true`, the result holds spans only: no terms, no matched text.
 */
export function screenText(text: string, options: ScreenOptions = {}): TextVerdict {
  checkText('text', text);
  const context = checkContext(options.context ?? 'prompt');
  if (context === 'tags') return screenTags(parseTagText(text), options);
  const state = new RuleState(context, options.redact === true);
  run(state, text, { text });
  state.finish();
  return state.verdict(lexiconVersion());
}

/**
 * Screens a text given in chunks (a file read piece by piece: any length, bounded memory). The
 * result is always redacted (the text is not kept). Tags are not read this way.
 */
export function screenTextChunks(chunks: Iterable<string>, options: { context?: TextContext } = {}): TextVerdict {
  const context = checkContext(options.context ?? 'caption');
  if (context === 'tags') throw invalidParameter('context', 'a context other than tags', context);
  const state = new RuleState(context, true);
  const it = chunks[Symbol.iterator]();
  const src: Source = { text: '' };
  textEngine().scanChunks(
    () => {
      const r = it.next();
      return r.done ? undefined : checkText('chunk', r.value);
    },
    (hit) => state.add(hit, src),
  );
  state.finish();
  return state.verdict(lexiconVersion());
}

/**
 * Screens a prompt with its negative prompt (image generation): the prompt's own rules, plus
 * negative-prompt steering (adult terms there with a sexual prompt; clothing there with a minor
 * indicator in the prompt). Spans carry `field: 'prompt' | 'negativePrompt'`.
 */
export function screenPromptPair(pair: PromptPair, options: { redact?: boolean } = {}): TextVerdict {
  if (typeof pair !== 'object' || pair === null) throw invalidParameter('pair', 'an object', pair);
  const redact = options.redact === true;
  const positive = new RuleState('prompt', redact);
  const negative = new RuleState('negativePrompt', redact);
  if (pair.prompt !== undefined) {
    const text = checkText('pair.prompt', pair.prompt);
    run(positive, text, { text, field: 'prompt' });
  }
  if (pair.negativePrompt !== undefined) {
    const text = checkText('pair.negativePrompt', pair.negativePrompt);
    run(negative, text, { text, field: 'negativePrompt' });
  }
  positive.finish();
  pairRules(positive, negative);
  return positive.verdict(lexiconVersion());
}

/** Flattens a tag input into [tag, count] entries (counts summed per tag, zero counts dropped). */
export function flattenTags(tags: TagInput): [string, number][] {
  const counts = new Map<string, number>();
  const add = (tag: unknown, count: unknown) => {
    if (typeof tag !== 'string' || typeof count !== 'number' || !Number.isFinite(count) || count <= 0) return;
    counts.set(tag, (counts.get(tag) ?? 0) + count);
  };
  if (typeof tags !== 'object' || tags === null) throw invalidParameter('tags', 'a tag map or a list of tags', tags);
  if (Symbol.iterator in tags) {
    for (const item of tags as Iterable<unknown>) {
      if (typeof item === 'string') add(item, 1);
      else if (Array.isArray(item)) add(item[0], item[1]);
    }
  } else {
    for (const [k, v] of Object.entries(tags as Record<string, unknown>)) {
      if (typeof v === 'number') add(k, v);
      else if (typeof v === 'object' && v !== null && !Array.isArray(v))
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) add(k2, v2);
    }
  }
  return [...counts];
}

/** A tags text: a JSON tag map or array, else tags separated by commas or line breaks. */
export function parseTagText(text: string): TagInput {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed)) return parsed.filter((x): x is string => typeof x === 'string');
      if (typeof parsed === 'object' && parsed !== null) return parsed as TagMap;
    } catch {
      // not JSON: a plain list
    }
  }
  return t
    .split(/[,\n]/u)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/**
 * Screens a tag map (tag → count, or folder → tag → count as in `ss_tag_frequency`). Each tag is
 * normalized on its own; co-occurrence spans the whole map. Spans carry `tag` (the index in
 * `flattenTags` order).
 */
export function screenTags(tags: TagInput, options: { redact?: boolean } = {}): TextVerdict {
  const state = new RuleState('tags', options.redact === true);
  flattenTags(tags).forEach(([tag], i) => {
    run(state, tag, { text: tag, tag: i });
  });
  state.finish();
  return state.verdict(lexiconVersion());
}

/** Merges verdicts of several texts (e.g. the strings of one JSON file) into one. */
export function mergeVerdicts(context: TextContext, verdicts: readonly TextVerdict[], redacted: boolean): TextVerdict {
  const byRule = new Map<string, TextReason>();
  for (const v of verdicts)
    for (const r of v.reasons) {
      const key = `${r.rule}/${r.verdict}`;
      const acc = byRule.get(key);
      if (!acc) byRule.set(key, { ...r, spans: [...r.spans] });
      else {
        acc.count += r.count;
        for (const s of r.spans) if (acc.spans.length < 2 * MAX_OCCURRENCES) acc.spans.push(s);
      }
    }
  return toVerdict(context, redacted, lexiconVersion(), [...byRule.values()]);
}

/** A verdict as scan findings: `text.block` (critical) or `text.review` (medium), or none. */
export function verdictFindings(verdict: TextVerdict, source: string): Finding[] {
  if (verdict.verdict === 'allow') return [];
  const block = verdict.verdict === 'block';
  const rules = [...new Set(verdict.reasons.map((r) => r.rule))].join(', ');
  return [
    {
      type: block ? 'text.block' : 'text.review',
      severity: block ? 'critical' : 'medium',
      score: block ? 0.9 : 0.5,
      message: `text screening (${verdict.context}): ${rules}`,
      source,
      data: {
        context: verdict.context,
        categories: verdict.categories,
        reasons: verdict.reasons.map((r) => ({
          ...r,
          spans: r.spans.map(({ term: _t, matched: _m, ...span }) => span),
        })),
        redacted: true,
        lexiconVersion: verdict.lexiconVersion,
      },
    },
  ];
}

/**
 * Screens a text (or, for `tags`, a tag map or tags text; for a prompt pair, a `PromptPair`)
 * and returns scan findings, always redacted: spans and rule ids, never the text. For the model,
 * provenance and caption extractors.
 */
export function screenFindings(input: string | TagInput | PromptPair, context: TextContext, source: string): Finding[] {
  checkContext(context);
  let verdict: TextVerdict;
  if (context === 'tags') verdict = screenTags(typeof input === 'string' ? parseTagText(input) : (input as TagInput));
  else if (typeof input === 'string') verdict = screenText(input, { context, redact: true });
  else if (context === 'prompt' && typeof input === 'object' && input !== null && !(Symbol.iterator in input))
    verdict = screenPromptPair(input as PromptPair, { redact: true });
  else throw invalidParameter('input', 'a string (or a tag map for tags, a prompt pair for prompt)', input);
  return verdictFindings(verdict, source);
}

/**
 * @module provenance/prompt-screen
 * The prompts found in an image go to the text screener (src/text `screenFindings`, prompt and
 * negative prompt as one pair so negative-prompt steering is caught). Prompts are sensitive: they
 * are handed over in memory and never logged; only the screener's findings leave, and those are
 * always redacted (rule ids and spans, never the text). The screener can be replaced (tests,
 * another policy) with setPromptScreener.
 */
import type { Finding } from '../item.js';
import { screenFindings } from '../text/screen.js';

/** Screens a prompt pair, naming the finding source. */
export type PromptScreener = (pair: { prompt?: string; negativePrompt?: string }, source: string) => Finding[];

const defaultScreener: PromptScreener = (pair, source) => screenFindings(pair, 'prompt', source);
/** null: not set explicitly (the plugins' screener, else src/text's). */
let explicit: PromptScreener | undefined | null = null;
let fromPlugins: PromptScreener | undefined = defaultScreener;

/**
 * Replaces the prompt screener; undefined turns screening off, `'default'` restores the active
 * plugins' (src/text's unless a plugin replaced it). This thread only: a plugin's `screeners`
 * reach every worker.
 */
export function setPromptScreener(fn: PromptScreener | undefined | 'default'): void {
  explicit = fn === 'default' ? null : fn;
}

/** The active registry's screener (src/registry.ts). @internal */
export function setPluginPromptScreener(fn: PromptScreener | undefined): void {
  fromPlugins = fn ?? defaultScreener;
}

/** Runs the screener on a prompt pair; [] when screening is off or there is no text. */
export function screenPrompts(
  prompt: string | undefined,
  negativePrompt: string | undefined,
  source: string,
): Finding[] {
  const screener = explicit === null ? fromPlugins : explicit;
  if (!screener || (!prompt && !negativePrompt)) return [];
  return screener({ ...(prompt ? { prompt } : {}), ...(negativePrompt ? { negativePrompt } : {}) }, source);
}

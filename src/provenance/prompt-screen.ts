/**
 * @module provenance/prompt-screen
 * The prompts found in an image go to the text screener (src/text `screenFindings`, prompt and
 * negative prompt as one pair so negative-prompt steering is caught). Prompts are sensitive: they
 * are handed over in memory and never logged; only the screener's findings leave, and those are
 * always redacted (rule ids and spans, never the text). The screener can be replaced (tests,
 * another policy) with setPromptScreener.
 */
import type { Finding } from '../scan/types.js';
import { screenFindings } from '../text/screen.js';

/** Screens a prompt pair, naming the finding source. */
export type PromptScreener = (pair: { prompt?: string; negativePrompt?: string }, source: string) => Finding[];

const defaultScreener: PromptScreener = (pair, source) => screenFindings(pair, 'prompt', source);
let screener: PromptScreener | undefined = defaultScreener;

/**
 * Replaces the prompt screener; undefined turns screening off, `'default'` restores src/text's.
 * Module state: set it in code every worker imports.
 */
export function setPromptScreener(fn: PromptScreener | undefined | 'default'): void {
  screener = fn === 'default' ? defaultScreener : fn;
}

/** Runs the screener on a prompt pair; [] when screening is off or there is no text. */
export function screenPrompts(
  prompt: string | undefined,
  negativePrompt: string | undefined,
  source: string,
): Finding[] {
  if (!screener || (!prompt && !negativePrompt)) return [];
  return screener({ ...(prompt ? { prompt } : {}), ...(negativePrompt ? { negativePrompt } : {}) }, source);
}

/**
 * @module references
 * References in text as an item's signals and findings (docs/references.md):
 *
 * - `signals.resourceHashes`: `type:value` for everything matched as a typed hash or id (model
 *   hashes `autov1|autov2|autov3|sha256|blake3`, `model-name`, `model-ref`, and image hashes
 *   written in text `md5|sha1|pdq`), matched by provenance/resource-match as the provenance
 *   extractor's are: a bank hit makes the item `flag` (reason `resource-match`). The item's own
 *   digests (`md5`, `sha256`…) are never overwritten;
 * - `signals['url-sha256']`: the links, normalised and hashed (signals/url), a list;
 * - findings `reference.model`, `reference.url`, `reference.hash` (severity `info`: naming a thing
 *   is not abuse, a bank hit is what flags), one per distinct reference, with its count and first
 *   spans, the signal types and values (hashes and ids only: never the text, the URL or the name).
 */
import type { Finding } from '../scan/types.js';
import { findReferences, type Reference, ReferenceScanner } from './extract.js';

export {
  findReferences,
  MAX_REFERENCES,
  OVERLAP,
  type Reference,
  type ReferenceKind,
  ReferenceScanner,
  type ReferenceSignal,
} from './extract.js';

/** Signal values kept per list (a saved page can hold thousands of links). */
export const MAX_SIGNAL_VALUES = 1000;

export interface ReferenceSignals {
  resourceHashes?: string[];
  'url-sha256'?: string[];
}

/** The matchable signals of references, unique, first seen first. */
export function referenceSignals(refs: readonly Reference[]): ReferenceSignals {
  const typed = new Set<string>();
  const urls = new Set<string>();
  for (const r of refs)
    for (const s of r.signals) {
      if (s.type === 'url-sha256') {
        if (urls.size < MAX_SIGNAL_VALUES) urls.add(s.value);
      } else if (typed.size < MAX_SIGNAL_VALUES) typed.add(`${s.type}:${s.value}`);
    }
  return {
    ...(typed.size > 0 ? { resourceHashes: [...typed] } : {}),
    ...(urls.size > 0 ? { 'url-sha256': [...urls] } : {}),
  };
}

const MODEL_TYPES = new Set(['autov1', 'autov2', 'autov3', 'blake3', 'model-name', 'model-ref']);

function findingType(r: Reference): string {
  if (r.kind === 'url') return 'reference.url';
  if (r.kind === 'model-ref' || r.kind === 'model-name') return 'reference.model';
  return r.signals.some((s) => MODEL_TYPES.has(s.type)) ? 'reference.model' : 'reference.hash';
}

const WHAT: Record<Reference['kind'], string> = {
  url: 'a link',
  'model-ref': 'a model on a hub',
  'model-name': 'a model file',
  hash: 'a hash',
};

/** One `info` finding per distinct reference: spans, count, signals; never the text. */
export function referenceFindings(refs: readonly Reference[], source: string, field?: string): Finding[] {
  return refs.map((r) => ({
    type: findingType(r),
    severity: 'info' as const,
    message: `The text names ${WHAT[r.kind]} (${r.signals.map((s) => s.type).join(', ')})${r.count > 1 ? `, ${r.count} times` : ''}`,
    source,
    data: {
      kind: r.kind,
      signals: r.signals,
      count: r.count,
      spans: r.spans.map((s) => (field ? { ...s, field } : { ...s })),
      ...(r.label ? { label: r.label } : {}),
    },
  }));
}

/** Findings and signals of one text. */
export function referencesOf(
  text: string | Iterable<string>,
  source: string,
  field?: string,
): { findings: Finding[]; signals: ReferenceSignals } {
  let refs: Reference[];
  if (typeof text === 'string') refs = findReferences(text);
  else {
    const scanner = new ReferenceScanner();
    for (const piece of text) scanner.push(piece);
    refs = scanner.end();
  }
  return { findings: referenceFindings(refs, source, field), signals: referenceSignals(refs) };
}

/** Merges reference signals into an item's signals (lists concatenated, unique, capped). */
export function mergeReferenceSignals(
  into: Record<string, string | number | string[]>,
  add: ReferenceSignals,
): Record<string, string | number | string[]> {
  for (const key of ['resourceHashes', 'url-sha256'] as const) {
    const extra = add[key];
    if (!extra || extra.length === 0) continue;
    const have = Array.isArray(into[key]) ? (into[key] as string[]) : [];
    into[key] = [...new Set([...have, ...extra])].slice(0, MAX_SIGNAL_VALUES);
  }
  return into;
}

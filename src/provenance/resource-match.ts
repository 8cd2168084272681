/**
 * @module provenance/resource-match
 * Matching the models an item names (an image's metadata, a post's text) against banks, and what a
 * match means for the verdict: a resource hash (`autov2:…`, `sha256:…`, `blake3:…`, `model-name:…`,
 * `model-ref:…`, or an image hash written in text, `md5:…`, `pdq:…`) found in a block bank makes the item `flag`
 * (reason rule `resource-match`), never `match`: naming a known-bad model is not the material
 * itself. A bank whose policy is `ignore` is ignored; negative banks suppress as usual.
 */

import type { Reason } from '../item.js';
import type { MatchHit, MatchOptions, MatchResult, MatchSignals } from '../match/matcher.js';
import { activeRegistry } from '../registry.js';
import type { Policy } from '../scan/config.js';
import type { Decision } from '../scan/policy.js';

/**
 * The built-in signal types resource hashes are typed as (any registered type is matched): the model hashes, model file names and hub
 * ids (signals/model-refs), and image hashes written in text (`md5`, `sha1`, `pdq`: src/references).
 */
export const RESOURCE_HASH_TYPES = [
  'autov1',
  'autov2',
  'autov3',
  'sha256',
  'blake3',
  'model-name',
  'model-ref',
  'md5',
  'sha1',
  'pdq',
] as const;

const IMAGE_HASH_TYPES = new Set(['md5', 'sha1', 'pdq']);

export interface ResourceMatcher {
  match(signals: MatchSignals, options?: MatchOptions): MatchResult | Promise<MatchResult>;
}

/** Matches `type:value` resource hashes one by one (an item can name several models; the first 1,024). */
export async function matchResourceHashes(
  matcher: ResourceMatcher,
  values: readonly string[],
): Promise<{ matches: MatchHit[]; suppressedBy: MatchHit[] }> {
  const matches: MatchHit[] = [];
  const suppressedBy: MatchHit[] = [];
  for (const v of values.slice(0, 1024)) {
    const i = v.indexOf(':');
    const type = v.slice(0, i);
    // Any registered signal type (a plugin's model hash too), by the registry.
    if (i <= 0 || activeRegistry().signalType(type) === undefined) continue;
    const r = await matcher.match({ [type]: v.slice(i + 1) } as MatchSignals);
    for (const m of r.matches) if (!matches.some((x) => x.entryId === m.entryId)) matches.push(m);
    for (const m of r.suppressedBy) if (!suppressedBy.some((x) => x.entryId === m.entryId)) suppressedBy.push(m);
  }
  return { matches, suppressedBy };
}

/** Adds `resource-match` reasons to a decision; raises it to `flag` unless it is already `match`. */
export function applyResourceMatches(decision: Decision, hits: readonly MatchHit[], policy: Policy): Decision {
  const reasons: Reason[] = [];
  for (const h of hits) {
    if (policy.banks[h.bank] === 'ignore') continue;
    reasons.push({
      rule: 'resource-match',
      message: `${IMAGE_HASH_TYPES.has(h.signal) ? 'an image hash' : 'a model'} the item names (${h.signal} ${h.value}) is in bank ${h.bank}`,
      ref: h.bank,
      score: 0.9,
    });
  }
  if (reasons.length === 0) return decision;
  const keep = decision.verdict === 'match' || decision.verdict === 'flag' ? decision.reasons : [];
  const all = [...keep, ...reasons];
  const score = Math.round(Math.max(...all.map((r) => r.score ?? 0)) * 1000) / 1000;
  return { verdict: decision.verdict === 'match' ? 'match' : 'flag', reasons: all, score };
}
